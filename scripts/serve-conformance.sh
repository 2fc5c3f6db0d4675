#!/usr/bin/env bash
# Runs the conformance kit against a real `ztas serve` (HTTP mode).
#
# Starts the server on a free loopback port with a fresh temporary data directory, waits for
# /health, runs `run.py http`, stops the server with SIGTERM (graceful shutdown, database
# closed) and exits with run.py's status. Extra arguments go to run.py (e.g. --only, -v), except
# a first `--events URL`, which goes to `ztas serve` (the ClickHouse event store; the database
# must be initialised: `ztas clickhouse init --events URL`).
#
# Environment: ZTAS (binary; default .build/release/ztas, built when missing),
#              CONFORMANCE_DIR (default ../shared/conformance beside the repository).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZTAS=${ZTAS:-$ROOT/.build/release/ztas}
KIT=${CONFORMANCE_DIR:-$ROOT/../shared/conformance}

if [ ! -x "$ZTAS" ]; then
    echo "building $ZTAS" >&2
    (cd "$ROOT" && swift build -c release --product ztas) || exit 2
fi
if [ ! -f "$KIT/run.py" ]; then
    echo "conformance kit not found at $KIT" >&2
    exit 2
fi

SERVE_ARGS=()
if [ "${1:-}" = "--events" ]; then
    SERVE_ARGS=(--events "$2")
    shift 2
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
DATA=$(mktemp -d "${TMPDIR:-/tmp}/ztas-conformance.XXXXXX")
LOG="$DATA.log"
"$ZTAS" serve --data "$DATA" --host 127.0.0.1 --port "$PORT" "${SERVE_ARGS[@]}" >"$LOG" 2>&1 &
PID=$!

cleanup() {
    if kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$DATA" "$LOG"
}
trap cleanup EXIT

URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$URL/health', timeout=1)" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "ztas serve exited early:" >&2
        cat "$LOG" >&2
        exit 2
    fi
    sleep 0.2
done

python3 "$KIT/run.py" http --url "$URL" "$@"
STATUS=$?

kill -TERM "$PID" 2>/dev/null
wait "$PID"
SERVER_STATUS=$?
if [ "$SERVER_STATUS" -ne 0 ]; then
    echo "ztas serve exited with status $SERVER_STATUS after SIGTERM:" >&2
    tail -20 "$LOG" >&2
    [ "$STATUS" -eq 0 ] && STATUS=3
fi
exit "$STATUS"
