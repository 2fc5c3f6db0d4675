#!/usr/bin/env python3
"""`ztas import` against DuckDB's `read_json` load of the same file, alternating, R rounds:

    python3 Benchmarks/import_ab.py FILE [ROUNDS] [--ztas BINARY]

Both are timed exactly as Benchmarks/compare.py times its loads (ztas as a whole process with
its peak RSS and CPU from rusage; DuckDB CREATE TABLE AS read_json + CHECKPOINT). Alternating
the two spreads the machine's drift over both sides, which one long run of each does not."""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("rounds", nargs="?", type=int, default=3)
ap.add_argument("--ztas", default=str(HERE.parent / ".build" / "release" / "ztas"))
args = ap.parse_args()
f = Path(args.file).resolve()
with tempfile.TemporaryDirectory(prefix="import-ab-") as tmp:
    for r in range(args.rounds):
        z = Path(tmp) / "ztas"
        res = compare.ztas_import(args, f, z)
        shutil.rmtree(z, ignore_errors=True)
        duck = Path(tmp) / "duck.db"
        d = compare.DuckPeer(duck)
        t0 = time.perf_counter()
        d.run(compare.duckdb_load_sql(f))
        d.run("CHECKPOINT")
        ds = time.perf_counter() - t0
        d.con.close()
        duck.unlink()
        print(f"round {r + 1}: ztas {res['seconds']:.2f} s ({res['cpu_seconds']:.1f} CPU-s, {res['peak_rss_mb']:.0f} MB, "
              f"{res['bytes'] / res['accepted']:.2f} B/event), DuckDB {ds:.2f} s, DuckDB / ztas {ds / res['seconds']:.2f}",
              flush=True)
