# Shell helpers shared by Benchmarks/http.sh and Benchmarks/webhooks.sh (sourced, not run).
# The caller sets $root (repository), $ztas (binary) and $build (1 = build first).

# Builds the release binary when $build is 1; checks it and wrk are there.
prepare_ztas() {
  if [[ $build == 1 ]]; then
    echo "== building ztas (release)"
    (cd "$root" && swift build -c release --product ztas)
  fi
  [[ -x "$ztas" ]] || { echo "no ztas binary at $ztas (build it or drop --skip-build)" >&2; exit 1; }
  command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
}

# make_workdir NAME → $work (a fresh temporary directory), $pids (processes to stop on exit).
make_workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/ztas-$1.XXXXXX")
  pids=()
  trap cleanup EXIT
}
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

load() { cut -d' ' -f1 /proc/loadavg; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_server DATA_DIR [NAME=VALUE…] → sets $pid and $url. A release `ztas serve` on a free
# loopback port with the benchmarks' limits (rate limits out of the way, proxy trusted, warnings
# only), plus the extra environment given; waits for /health.
start_server() {
  local data="$1" port
  shift
  port=$(free_port)
  env TRUSTED_PROXIES=127.0.0.1 RATE_LIMIT_TRACK_PER_MINUTE=100000000 RATE_LIMIT_USER_PER_MINUTE=1000000 \
    RATE_LIMIT_USER_PER_HOUR=10000000 LOG_LEVEL=warning JWT_SECRET=0123456789abcdef0123456789abcdef-bench "$@" \
    "$ztas" serve --data "$data" --host 127.0.0.1 --port "$port" >"$data.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  url="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do
    curl -sf "$url/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$data.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "server did not come up" >&2; exit 1
}

stop_server() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
