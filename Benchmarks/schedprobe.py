#!/usr/bin/env python3
"""How many cores one `ztas serve` keeps busy under N dashboard clients, measured so that load
from elsewhere on the machine does not hide it:

  Benchmarks/schedprobe.py --ztas .build/release/ztas --data Benchmarks/data/work/ztas \\
      --start 2026-03-16 --end 2026-04-15 [--clients 1,4] [--duration 15] [--server-env NAME=VALUE]

Same set-up and client loop as Benchmarks/concurrency.py (a copy of the store, a tracked event
then `GET /api/stats` per iteration). Over each measured window it reads every server thread's
/proc/PID/task/TID/schedstat (time running, time waiting in the run queue): their sum / wall =
the cores the server would keep busy with the machine to itself (a thread that sleeps at a
barrier or waits for work counts in neither). Also prints CPU per request (utime + stime).
"""
import argparse, os, shutil, sys, tempfile, threading, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import concurrency as C  # noqa: E402


def snap(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            run, wait, _ = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()
            out[tid] = (int(run), int(wait), open(f"/proc/{pid}/task/{tid}/comm").read().strip())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ztas", default=str(HERE.parent / ".build" / "release" / "ztas"))
    ap.add_argument("--data", default=str(HERE / "data" / "work" / "ztas"))
    ap.add_argument("--site", default="site_alpha")
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--clients", default="1,4")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--tmp", default=tempfile.gettempdir())
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ztas-probe.", dir=args.tmp))
    shutil.copytree(args.data, work / "ztas", symlinks=True)
    d = work / "ztas"
    for f in ["LOCK"] + [p.name for p in d.glob("meta.sqlite*")]:
        (d / f).unlink(missing_ok=True)
    srv = C.ZtasServer(args.ztas, d, dict(kv.split("=", 1) for kv in args.server_env))
    try:
        token = C.ztas_setup(srv, d, args.site)
        seq = [0]
        for n in (int(x) for x in args.clients.split(",")):
            make = C.ztas_client_factory(srv, token, args.site, args.start, args.end, seq)
            steps = [make(i) for i in range(n)]
            stop, lat, lock = threading.Event(), [], threading.Lock()

            def loop(step):
                while not stop.is_set():
                    _, a, b = step()
                    with lock:
                        lat.append((b, b - a))
            ths = [threading.Thread(target=loop, args=(s,), daemon=True) for s in steps]
            for t in ths:
                t.start()
            time.sleep(3)
            s0, c0, t0 = snap(srv.proc.pid), C.proc_cpu_seconds(srv.proc.pid), time.perf_counter()
            time.sleep(args.duration)
            s1, c1, t1 = snap(srv.proc.pid), C.proc_cpu_seconds(srv.proc.pid), time.perf_counter()
            stop.set()
            for t in ths:
                t.join()
            wall = t1 - t0
            ls = sorted(ms for e, ms in lat if t0 <= e <= t1)
            run = sum(r - s0.get(k, (0, 0, ""))[0] for k, (r, _, _) in s1.items()) / 1e9
            wait = sum(w - s0.get(k, (0, 0, ""))[1] for k, (_, w, _) in s1.items()) / 1e9
            req = max(1, len(ls))
            print(f"N={n}: {len(ls)} dashboards in {wall:.1f} s ({len(ls) / wall:.2f}/s), p50 {ls[len(ls) // 2] * 1000 if ls else 0:.0f} ms; "
                  f"server CPU {c1 - c0:.1f} s = {(c1 - c0) / wall:.2f} cores, {(c1 - c0) * 1000 / req:.0f} ms/request; "
                  f"threads running {run:.1f} s + runnable {wait:.1f} s = {(run + wait) / wall:.2f} cores wanted; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
