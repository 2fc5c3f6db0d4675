#!/usr/bin/env bash
# The HTTP server under load, in one command:
#
#   Benchmarks/http.sh [--skip-build] [--duration S] [--connections C] [--threads T]
#                      [--stats-data DIR] [--stats-site ID] [--stats-from D --stats-to D] [--stats-runs N]
#
# 1. Builds ztas (release) unless --skip-build.
# 2. Track: starts `ztas serve` on a fresh temporary data directory on a free loopback port,
#    registers, creates a site, then drives `POST /api/track` with wrk (-t T -c C, keep-alive,
#    default -t2 -c64 for S = 20 s) twice: single events, then batches of 100. Bodies are a
#    realistic mix (pageviews with referrers and UTM, heartbeats, engagement, clicks, scrolls,
#    custom events) from ~50 k client addresses (X-Forwarded-For via TRUSTED_PROXIES) and a
#    dozen real User-Agents. Every answer is acknowledged after its WAL fsync.
# 3. Stats: when DIR exists (default /tmp/bench/d10: 10 M imported events), copies it to a
#    temporary directory, starts a second server on the copy, gives a registered user the site
#    ID (default site_alpha) through meta.sqlite, and times N (default 30) `GET /api/stats`
#    requests one at a time (startDate..endDate, default the last 30 days of the data), then
#    N more with 2 concurrent clients.
# 4. Memory: VmRSS / RssAnon / RssFile of the server (/proc/PID/status) idle and the peak
#    under each load (RssFile is mapped segment files, shared with the page cache).
#
# Prints a table; the 1-minute load average is printed next to every phase.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build=1
duration=20
connections=64
threads=2
stats_data=/tmp/bench/d10
stats_site=site_alpha
stats_from=2026-03-16
stats_to=2026-04-14
stats_runs=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) build=0; shift ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --stats-data) stats_data="$2"; shift 2 ;;
    --stats-site) stats_site="$2"; shift 2 ;;
    --stats-from) stats_from="$2"; shift 2 ;;
    --stats-to) stats_to="$2"; shift 2 ;;
    --stats-runs) stats_runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

ztas="$root/.build/release/ztas"
source "$here/lib.sh"
prepare_ztas

make_workdir http-bench

# mem PID → "rss anon file" in MB
mem() { awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{printf "%d %d %d", r/1024, a/1024, f/1024}' "/proc/$1/status"; }

# Samples memory of $pid every 0.25 s into FILE until killed; the peak is read afterwards.
sample_mem() { while kill -0 "$1" 2>/dev/null; do mem "$1" >>"$2"; echo >>"$2"; sleep 0.25; done; }
peak() { awk 'NF==3 { if ($1>r) {r=$1; a=$2; f=$3} } END{printf "%d / %d / %d", r, a, f}' "$1"; }

# register EMAIL → token on stdout; user id in $work/user_id
register() {
  curl -sf -X POST "$url/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"Bench-Password-42!\"}" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); open(sys.argv[1],"w").write(j["user"]["id"]); print(j["token"])' "$work/user_id"
}

rows=()
row() { rows+=("$(printf '| %-34s | %-44s | %-22s | %5s |' "$1" "$2" "$3" "$4")"); }

# ---------------------------------------------------------------------------------------------
echo "== track: server on a fresh data directory"
start_server "$work/track"
token=$(register bench@example.com)
site=$(curl -sf -X POST "$url/api/sites" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"domain":"bench.example.com","timezone":"UTC"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["site"]["id"])')
sleep 2
read -r rss anon file <<<"$(mem "$pid")"
row "idle (fresh, empty store)" "—" "$rss / $anon / $file" "$(load)"

# run_wrk BATCH LABEL
run_wrk() {
  local batch="$1" label="$2" l0 out
  l0=$(load)
  : >"$work/mem.txt"
  sample_mem "$pid" "$work/mem.txt" & local sampler=$!
  out=$(ZTAS_SITE="$site" ZTAS_BATCH="$batch" wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
        -s "$here/track.lua" "$url/api/track" 2>&1)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  echo "$out" | sed 's/^/   /' | grep -v '^   ZTAS'
  read -r _ n us p50 p99 bad errs max <<<"$(echo "$out" | grep '^ZTAS')"
  local rps events
  rps=$(python3 -c "print(f'{$n / ($us / 1e6):,.0f}')")
  events=$(python3 -c "print(f'{$n * $batch / ($us / 1e6):,.0f}')")
  [[ "${ZTAS_NOOP:-}" == 1 ]] && noop_rps=$(python3 -c "print($n / ($us / 1e6))")
  [[ "$batch" == 1 && -z "${ZTAS_NOOP:-}" && -n "${noop_rps:-}" ]] &&
    label="$label ($(python3 -c "print(f'{$n / ($us / 1e6) / $noop_rps:.2f}')")× 404)"
  row "$label" "$events events/s ($rps req/s), p50 $(python3 -c "print(f'{$p50/1000:.1f}')") / p99 $(python3 -c "print(f'{$p99/1000:.1f}')") ms" \
      "$(peak "$work/mem.txt")" "$l0"
  [[ "$bad" == 0 && "$errs" == 0 ]] || row "  ↳ errors" "$bad non-2xx, $errs socket errors" "" ""
}

echo "== the server's cheapest route, a 404 (the yardstick for single events), load $(load)"
ZTAS_NOOP=1 run_wrk 1 "GET of no route (404)"
echo "== track: single events (wrk -t$threads -c$connections -d${duration}s), load $(load)"
run_wrk 1 "track, single event"
echo "== track: batches of 100, load $(load)"
run_wrk 100 "track, batch of 100"
# Where a tail-latency stall would come from: group commits (WAL write + fsync) and flushes.
echo "== write path after the track runs (cumulative buckets, seconds)"
curl -sf "$url/metrics" | grep -E '^zta_(wal_commit_seconds|memtable_flush_seconds|memtable_inline_flushes_total)' |
  grep -vE 'le="(0.001|0.0025|2.5)"' | sed 's/^/   /' || echo "   (no /metrics)"
sleep 7
read -r rss anon file <<<"$(mem "$pid")"
row "idle after track load" "—" "$rss / $anon / $file" "$(load)"
stop_server

# ---------------------------------------------------------------------------------------------
if [[ -d "$stats_data/events" ]]; then
  echo "== stats: copying $stats_data"
  mkdir -p "$work/stats"
  cp -r "$stats_data/." "$work/stats/"
  rm -f "$work/stats/LOCK" "$work/stats/meta.sqlite"*
  start_server "$work/stats"
  token=$(register stats@example.com)
  user_id=$(cat "$work/user_id")
  # The imported events carry their own site ids: give the user a site record with that id.
  python3 - "$work/stats/meta.sqlite" "$stats_site" "$user_id" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time() * 1000)
db.execute("INSERT INTO sites (id, owner_id, domain, name, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, 'UTC', ?, ?)",
           (sys.argv[2], sys.argv[3], sys.argv[2] + ".example.com", sys.argv[2], now, now))
db.commit()
PY
  sleep 1
  read -r rss anon file <<<"$(mem "$pid")"
  row "idle ($stats_site store opened)" "—" "$rss / $anon / $file" "$(load)"
  q="/api/stats?siteId=$stats_site&startDate=$stats_from&endDate=$stats_to"
  : >"$work/mem.txt"
  sample_mem "$pid" "$work/mem.txt" & sampler=$!
  l0=$(load)
  timing=$(python3 - "$url" "$q" "$token" "$stats_runs" <<'PY'
import http.client, sys, time, threading, urllib.parse
url, path, token, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host = urllib.parse.urlparse(url)
def client(n, out):
    c = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse(); body = r.read()
        assert r.status == 200, (r.status, body[:200])
        out.append((time.perf_counter() - t) * 1000)
    return len(body)
warm = []
size = client(2, warm)  # first touches the mapped files
one = []
client(runs, one)
two = []
ts = [threading.Thread(target=client, args=(runs // 2, two)) for _ in range(2)]
t0 = time.perf_counter()
for t in ts: t.start()
for t in ts: t.join()
wall = time.perf_counter() - t0
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"{pct(one,50):.0f} {pct(one,99):.0f} {pct(two,50):.0f} {pct(two,99):.0f} {len(two)/wall:.1f} {size} {warm[0]:.0f}")
PY
)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  read -r p50 p99 c50 c99 qps size first <<<"$timing"
  row "stats 30d, one at a time" "p50 $p50 / p99 $p99 ms (first $first ms, $size B)" "$(peak "$work/mem.txt")" "$l0"
  row "stats 30d, 2 clients" "p50 $c50 / p99 $c99 ms, $qps req/s" "(peak above)" "$(load)"
  sleep 7  # the server returns freed pages 5 s after the last query
  read -r rss anon file <<<"$(mem "$pid")"
  row "idle after stats load" "—" "$rss / $anon / $file" "$(load)"
  stop_server
else
  echo "== stats: $stats_data not found, skipped (pass --stats-data DIR)"
fi

echo
echo "ztas HTTP server, $(nproc) cores, wrk -t$threads -c$connections -d${duration}s on loopback (sharing the cores)"
printf '| %-34s | %-44s | %-22s | %5s |\n' "phase" "result" "RSS / anon / file MB" "load"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..24})" "-------"
printf '%s\n' "${rows[@]}"
