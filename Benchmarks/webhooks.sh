#!/usr/bin/env bash
# Tracking with and without 10 active webhooks (issue 10 "Performance"), in one command:
#
#   Benchmarks/webhooks.sh [--skip-build] [--duration S] [--warmup S] [--connections C]
#                          [--threads T] [--rounds R] [--hooks N] [--ztas BINARY]
#                          [--receiver-nice N]
#
# 1. Builds ztas (release) unless --skip-build.
# 2. Starts a loopback webhook receiver (Benchmarks/webhook_receiver.py: answers 200 to every
#    request, keep-alive, counts them), at `nice N` with --receiver-nice (default 0). In real
#    use the endpoint is remote; a niced receiver separates the server's own cost from the
#    receiver's, which here shares the two cores.
# 3. R rounds (default 2) of two phases, each on a fresh `ztas serve` (fresh temporary data
#    directory, free loopback port, WEBHOOK_ALLOW_HTTP=1 WEBHOOK_ALLOW_PRIVATE=1 in both):
#      - "no webhooks": register, create a site, drive POST /api/track with wrk exactly as
#        Benchmarks/http.sh does (Benchmarks/track.lua, single events, -t T -c C, default
#        -t2 -c64), W s warm-up (default 5, discarded) then S s timed (default 20);
#      - "N webhooks" (default 10, the per-site limit): the same after creating N webhooks on the
#        site, all pointing at the receiver, subscribed to `pageview` and `event` (45 % of the
#        track mix are pageviews or custom events, so ~4.5 deliveries per request).
#    Per phase: req/s, p50/p99 (wrk), deliveries the receiver got during the timed run, the
#    server's delivery counters (/metrics: success, failed, dropped = queue full), and the CPU
#    seconds of the server and of the receiver during the timed run (they share the cores with
#    wrk).
# 4. Prints a table and the ratio "with / without" of req/s and p99 (mean over the rounds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build=1
duration=20
warmup=5
connections=64
threads=2
rounds=2
hooks=10
ztas="$root/.build/release/ztas"
receiver_nice=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) build=0; shift ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --hooks) hooks="$2"; shift 2 ;;
    --receiver-nice) receiver_nice="$2"; shift 2 ;;
    --ztas) ztas="$2"; build=0; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source "$here/lib.sh"
prepare_ztas

make_workdir webhook-bench

tck=$(getconf CLK_TCK)
# cpu PID → user+system CPU seconds so far
cpu() { awk -v t="$tck" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }

# --- receiver ---
nice -n "$receiver_nice" python3 "$here/webhook_receiver.py" "$work/rport" "$work/rcount" &
rpid=$!
pids+=("$rpid")
for _ in $(seq 1 100); do [[ -s "$work/rport" ]] && break; sleep 0.1; done
rport=$(cat "$work/rport")
received() { sleep 1.1; cut -d' ' -f1 "$work/rcount"; }  # the receiver writes its count every second
echo "== receiver on 127.0.0.1:$rport (pid $rpid)"

# metric NAME_AND_LABELS → value from /metrics (0 when absent)
metric() { curl -sf "$url/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { v = $2 } END { print v + 0 }'; }

rows=()
sums=()
row() { rows+=("$(printf '| %-22s | %9s | %7s | %7s | %11s | %-26s | %6s | %6s | %5s |' "$@")"); }

# phase LABEL HOOKS → appends a row; sets $rps and $p99 (ms)
phase() {
  local label="$1" n="$2" token site out
  local data="$work/$RANDOM$RANDOM"
  start_server "$data" WEBHOOK_ALLOW_HTTP=1 WEBHOOK_ALLOW_PRIVATE=1
  token=$(curl -sf -X POST "$url/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench$RANDOM@example.com\",\"password\":\"Bench-Password-42!\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  site=$(curl -sf -X POST "$url/api/sites" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"domain":"bench.example.com","timezone":"UTC"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["site"]["id"])')
  for i in $(seq 1 "$n"); do
    curl -sf -X POST "$url/api/webhooks" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d "{\"siteId\":\"$site\",\"url\":\"http://127.0.0.1:$rport/hook/$i\",\"events\":[\"pageview\",\"event\"],\"description\":\"bench $i\"}" \
      >/dev/null || { echo "creating webhook $i failed:"; curl -s -X POST "$url/api/webhooks" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "{\"siteId\":\"$site\",\"url\":\"http://127.0.0.1:$rport/hook/$i\",\"events\":[\"pageview\",\"event\"]}"; exit 1; }
  done
  local active
  active=$(curl -sf "$url/api/webhooks?siteId=$site" -H "Authorization: Bearer $token" |
    python3 -c 'import json,sys; print(sum(1 for w in json.load(sys.stdin)["webhooks"] if w.get("active", True)))')
  echo "== $label: server pid $pid, site $site, $active active webhooks, load $(load)"
  ZTAS_SITE="$site" ZTAS_BATCH=1 wrk -t"$threads" -c"$connections" -d"${warmup}s" -s "$here/track.lua" "$url/api/track" >/dev/null 2>&1
  sleep 1
  local l0 c0 s0 f0 d0 z0 r0 c1 s1 f1 d1 z1 r1
  l0=$(load); c0=$(received)
  s0=$(metric 'zta_webhook_deliveries_total{result="success"}'); f0=$(metric 'zta_webhook_deliveries_total{result="failed"}')
  d0=$(metric 'zta_webhook_dropped_total'); z0=$(cpu "$pid"); r0=$(cpu "$rpid")
  out=$(ZTAS_SITE="$site" ZTAS_BATCH=1 wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
        -s "$here/track.lua" "$url/api/track" 2>&1)
  z1=$(cpu "$pid"); r1=$(cpu "$rpid")
  s1=$(metric 'zta_webhook_deliveries_total{result="success"}'); f1=$(metric 'zta_webhook_deliveries_total{result="failed"}')
  d1=$(metric 'zta_webhook_dropped_total'); c1=$(received)
  echo "$out" | sed 's/^/   /' | grep -v '^   ZTAS'
  read -r _ nreq us p50 p99us bad errs _ <<<"$(echo "$out" | grep '^ZTAS')"
  rps=$(python3 -c "print(round($nreq / ($us / 1e6)))")
  p99=$(python3 -c "print(f'{$p99us / 1000:.1f}')")
  local p50ms deliv
  p50ms=$(python3 -c "print(f'{$p50 / 1000:.1f}')")
  deliv=$(python3 -c "print(f'{($c1 - $c0) / ($us / 1e6):,.0f}/s')")
  row "$label" "$(python3 -c "print(f'{$rps:,}')")" "$p50ms" "$p99" "$deliv" \
      "$((${s1%.*} - ${s0%.*})) ok / $((${f1%.*} - ${f0%.*})) fail / $((${d1%.*} - ${d0%.*})) drop" \
      "$(python3 -c "print(f'{$z1 - $z0:.1f}')")" "$(python3 -c "print(f'{$r1 - $r0:.1f}')")" "$l0"
  [[ "$bad" == 0 && "$errs" == 0 ]] || row "  ↳ errors" "$bad non-2xx, $errs socket errors" "" "" "" "" "" "" ""
  stop_server
  rm -rf "$data"
}

base_rps=(); base_p99=(); hook_rps=(); hook_p99=()
for r in $(seq 1 "$rounds"); do
  phase "round $r, no webhooks" 0;        base_rps+=("$rps"); base_p99+=("$p99")
  phase "round $r, $hooks webhooks" "$hooks"; hook_rps+=("$rps"); hook_p99+=("$p99")
done

mean() { python3 -c 'import sys; xs = [float(x) for x in sys.argv[1:]]; print(sum(xs) / len(xs))' "$@"; }
br=$(mean "${base_rps[@]}"); hr=$(mean "${hook_rps[@]}"); bp=$(mean "${base_p99[@]}"); hp=$(mean "${hook_p99[@]}")

echo
echo "ztas POST /api/track with and without $hooks webhooks: $(nproc) cores, wrk -t$threads -c$connections -d${duration}s (after ${warmup}s warm-up)"
echo "on loopback; server, wrk and the receiver share the cores. Deliveries: to the receiver during the timed run;"
echo "ok/fail/drop: the server's counters over the timed run (drop = queue full, oldest delivery discarded)."
echo
printf '| %-22s | %9s | %7s | %7s | %11s | %-26s | %6s | %6s | %5s |\n' "phase" "req/s" "p50 ms" "p99 ms" "deliveries" "server deliveries" "ztas s" "recv s" "load"
echo "|------------------------|----------:|--------:|--------:|------------:|----------------------------|-------:|-------:|------:|"
printf '%s\n' "${rows[@]}"
echo
python3 - "$br" "$hr" "$bp" "$hp" "$hooks" <<'PY'
import sys
br, hr, bp, hp, n = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
ratio = hr / br
verdict = "within 10 %: met" if ratio >= 0.9 else "more than 10 % slower: MISSED"
print(f"mean req/s: {br:,.0f} without, {hr:,.0f} with {n} webhooks → {ratio:.3f} ({(ratio - 1) * 100:+.1f} %), {verdict}")
print(f"mean p99: {bp:.1f} ms without, {hp:.1f} ms with → {hp / bp:.2f}×")
PY
