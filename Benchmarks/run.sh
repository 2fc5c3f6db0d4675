#!/usr/bin/env bash
# ztas vs DuckDB vs chDB on the same generated data, in one command:
#
#   Benchmarks/run.sh [--profile P] [--rows N] [--runs R] [--skip-build] [--scale] [compare.py options…]
#
# Builds ztas (release), generates N events (`ztas generate --profile P --rows N --seed 42
# --sites 3 --days 90`, default N = 10,000,000; P = synthetic, or tracked for sparse lines
# shaped like conformance/events.ndjson.gz), then runs Benchmarks/compare.py: load, durable ingest,
# the dashboard query set, cross-checks, and the comparison tables (stdout and
# Benchmarks/results/latest.{md,json}). DuckDB and chDB are pip-installed when missing.
#
# --scale also generates 5N events over 5 × 90 days (the same daily volume, 5× the history) and
# re-times a few queries on them: a query's time should follow the rows in its window, not the
# size of the store. Other options go to compare.py (e.g. --skip-load to reuse the loaded stores,
# --no-verify, --site S, --only heatmaps). Generated files are kept in Benchmarks/data/ as
# events-P-N.ndjson and reused while they are newer than the ztas binary; the stores of a profile
# go to data/work (synthetic) or data/work-P, its results to results/ or results/P/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rows=10000000
profile=synthetic
runs=10
build=1
scale=0
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    --scale) scale=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done

ztas="$root/.build/release/ztas"
if [[ $build == 1 ]]; then
  echo "== building ztas (release)"
  (cd "$root" && swift build -c release --product ztas)
fi
[[ -x "$ztas" ]] || { echo "no ztas binary at $ztas (build it or drop --skip-build)" >&2; exit 1; }

python3 -c 'import duckdb, chdb' 2>/dev/null || {
  echo "== installing duckdb and chdb"
  python3 -m pip install --quiet duckdb chdb || python3 -m pip install --quiet --user --break-system-packages duckdb chdb
}

data="$here/data"
mkdir -p "$data"

# generate FILE ROWS DAYS: writes the file unless an up-to-date copy exists.
generate() {
  local file="$1" n="$2" days="$3"
  if [[ -s "$file" && "$file" -nt "$ztas" ]]; then
    echo "== reusing $file"
    return
  fi
  echo "== generating $n events over $days days → $file"
  local t0=$SECONDS
  "$ztas" generate --profile "$profile" --rows "$n" --seed 42 --sites 3 --days "$days" > "$file.tmp"
  mv "$file.tmp" "$file"
  echo "   $((SECONDS - t0)) s, $(du -h "$file" | cut -f1)"
}

file="$data/events-$profile-$rows.ndjson"
generate "$file" "$rows" 90
suffix=""
[[ $profile == synthetic ]] || suffix="-$profile"
args=(--ztas "$ztas" --data "$file" --profile "$profile" --runs "$runs" --work "$data/work$suffix")
if [[ $scale == 1 ]]; then
  big="$data/events-$profile-$((rows * 5))-450d.ndjson"
  generate "$big" "$((rows * 5))" 450
  args+=(--scale-data "$big" --scale-days 450)
fi
exec python3 "$here/compare.py" "${args[@]}" ${extra[@]+"${extra[@]}"}
