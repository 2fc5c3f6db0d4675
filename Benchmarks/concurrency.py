#!/usr/bin/env python3
"""Concurrent dashboards (issue 13, item 3): `GET /api/stats` of a release `ztas serve` with 1, 2,
4 and 8 concurrent clients, next to DuckDB running the same dashboard work on as many connections.

  Benchmarks/concurrency.py --ztas .build/release/ztas \\
      --data Benchmarks/data/work/ztas --duck Benchmarks/data/work/duck.db [--site site_alpha]

ztas: the store given by --data is copied to a temporary directory (the server writes the tracked
events into the copy; --in-place uses it as it is), a `ztas serve` is started on it on a free
loopback port with the benchmark limits of Benchmarks/lib.sh (rate limits raised, 127.0.0.1 a
trusted proxy), a user is registered over HTTP and given a site record with the imported site id
in meta.sqlite (as Benchmarks/http.sh --stats-data does). Then, for each N of --clients, N client
threads (one keep-alive connection each) loop for --warmup + --duration seconds:

    POST /api/track       one pageview of the site (fresh tracked event; `ts` = receive time)
    GET  /api/stats       ?siteId=SITE&period=custom&startDate=START&endDate=END (31 days)

The server's VmRSS / RssAnon / RssFile (/proc/PID/status) is sampled every 100 ms throughout,
VmHWM read at the end.

DuckDB: the --duck file is copied too (--in-place: used as is), opened read-write in this
process; N threads, each with its own cursor (`con.cursor()`, its own connection to the one
database), loop: INSERT one row into `events` (same role as the tracked event; its `ts` = now,
as ztas stores it, and `import` = 0 so the rows are deleted at the end with --in-place), then
the dashboard statements of Benchmarks/compare.py (`dashboard_sql`: a per-session temporary
table built once per dashboard and reused by every panel — DuckDB at its fastest known
formulation), fetching every result. DuckDB's own thread pool is its default (one thread per
core) unless --duck-threads is given. The resident size of this process is sampled alongside.

Phases alternate (ztas N, DuckDB N, next N), so load from elsewhere falls on both alike. A phase
measures the requests that end inside [start + warmup, stop], where stop is start + warmup +
duration, or later until at least --min-requests have ended (slow engines: p99 needs samples).
Throughput = those requests / (stop − start − warmup). Latency is the dashboard request alone
(ztas: the GET, DuckDB: the statements); the track/insert is timed separately.

Output: a markdown table on stdout and in RESULTS/concurrency.md, raw numbers (every latency)
in RESULTS/concurrency.json. Needs Python 3 with `duckdb` (pip install duckdb).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the DuckDB dashboard SQL: compare.dashboard_sql / dashboard_value)

BENCH_ENV = {
    "TRUSTED_PROXIES": "127.0.0.1", "RATE_LIMIT_TRACK_PER_MINUTE": "100000000",
    "RATE_LIMIT_USER_PER_MINUTE": "100000000", "RATE_LIMIT_USER_PER_HOUR": "1000000000",
    "LOG_LEVEL": "warning", "JWT_SECRET": "0123456789abcdef0123456789abcdef-bench",
}
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
PATHS = ["/", "/pricing", "/blog", "/docs/getting-started", "/features", "/about", "/signup"]


# ---------------------------------------------------------------------------------------------
# Helpers

def pct(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of xs; None when empty."""
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))]


def proc_mem(pid: int) -> dict[str, int] | None:
    """VmRSS, RssAnon, RssFile, VmHWM of a process in kB (None once it is gone)."""
    try:
        out = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    out[k] = int(v.split()[0])
        return out
    except (FileNotFoundError, ProcessLookupError):
        return None


class MemSampler:
    """Samples /proc/PID/status every `interval` s on a thread; `mark(label)` starts a new phase."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, str, dict]] = []
        self.label = "start"
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_ev.is_set():
            m = proc_mem(self.pid)
            if m is None:
                return
            self.samples.append((time.time(), self.label, m))
            self.stop_ev.wait(self.interval)

    def mark(self, label: str):
        self.label = label

    def peak(self, label: str | None = None) -> dict[str, int]:
        """The sample with the highest VmRSS (of one phase, or of all), in MB."""
        xs = [m for _, l, m in self.samples if label is None or l == label]
        if not xs:
            return {}
        m = max(xs, key=lambda m: m["VmRSS"])
        return {"rss_mb": m["VmRSS"] // 1024, "anon_mb": m.get("RssAnon", 0) // 1024, "file_mb": m.get("RssFile", 0) // 1024}

    def stop(self):
        self.stop_ev.set()
        self.t.join()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def load1() -> float:
    return round(os.getloadavg()[0], 1)


# ---------------------------------------------------------------------------------------------
# Data window

def pick_window(duck_path: Path, site: str) -> tuple[str, str]:
    """31 days ending the day before the site's newest event's (UTC) day, which is usually partial."""
    import duckdb
    if not duck_path.exists():
        sys.exit(f"{duck_path} not found: pass --duck (the window is picked from it) or --start and --end")
    con = duckdb.connect(str(duck_path), read_only=True)
    mx = con.execute("SELECT max(ts) FROM events WHERE site = ? AND \"import\" <> 0", [site]).fetchone()[0]
    con.close()
    if mx is None:
        sys.exit(f"site {site} has no events in {duck_path}")
    end = dt.datetime.fromtimestamp(mx / 1000, dt.timezone.utc).date() - dt.timedelta(days=1)
    return (end - dt.timedelta(days=30)).isoformat(), end.isoformat()


# ---------------------------------------------------------------------------------------------
# Phase driver (shared by both engines)

def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (all threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_phase(n: int, warmup: float, duration: float, min_requests: int, make_client, label: str,
              cpu=None) -> dict:
    """Runs `n` clients; `make_client(i)` returns a step function doing one iteration and
    returning (side_ms, start, end) of its measured request. `cpu()` (CPU seconds of the engine's
    process) is read at the start and the end of the measured window. Returns the phase's numbers."""
    stop = threading.Event()
    records: list[tuple[float, float]] = []   # (end, ms) of measured requests
    sides: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    clients = [make_client(i) for i in range(n)]

    def loop(step):
        while not stop.is_set():
            try:
                side_ms, t0, t1 = step()
            except Exception as e:  # a failed request is counted and reported, the client goes on
                with lock:
                    errors.append(f"{type(e).__name__}: {str(e)[:200]}")
                time.sleep(0.05)
                continue
            with lock:
                records.append((t1, (t1 - t0) * 1000))
                sides.append(side_ms)

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    start = time.perf_counter()
    for t in threads:
        t.start()
    t_measure = start + warmup
    deadline = t_measure + duration
    time.sleep(max(0.0, t_measure - time.perf_counter()))
    cpu0 = cpu() if cpu else None
    while True:
        time.sleep(0.05)
        now = time.perf_counter()
        if now >= deadline:
            with lock:
                done = sum(1 for e, _ in records if e >= t_measure)
            if done >= min_requests or now - t_measure > 20 * duration:
                break
    t_stop = time.perf_counter()
    cpu1 = cpu() if cpu else None
    stop.set()
    for t in threads:
        t.join()
    lat = [ms for e, ms in records if t_measure <= e <= t_stop]
    window = t_stop - t_measure
    out = {
        "clients": n, "requests": len(lat), "seconds": round(window, 2),
        "throughput": len(lat) / window if window > 0 else 0.0,
        "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else None,
        "mean_ms": statistics.fmean(lat) if lat else None,
        "cpu_s": round(cpu1 - cpu0, 2) if cpu else None,
        "cores_busy": round((cpu1 - cpu0) / window, 2) if cpu and window > 0 else None,
        "cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / len(lat), 1) if cpu and lat else None,
        "side_p50_ms": pct(sides, 50), "errors": len(errors), "error_samples": errors[:5], "latencies_ms": lat,
    }
    print(f"  {label:6} N={n}: {len(lat)} requests in {window:.1f} s = {out['throughput']:.2f}/s, "
          f"p50 {out['p50_ms'] or 0:.0f} / p99 {out['p99_ms'] or 0:.0f} ms"
          + (f", CPU {out['cores_busy']} cores, {out['cpu_ms_per_request']} ms/request" if cpu else "")
          + (f", {len(errors)} errors ({errors[0]})" if errors else ""), flush=True)
    return out


# ---------------------------------------------------------------------------------------------
# ztas

class ZtasServer:
    def __init__(self, binary: str, data: Path, extra_env: dict[str, str]):
        self.port = free_port()
        self.log = open(str(data) + ".log", "w")
        env = {**os.environ, **BENCH_ENV, **extra_env}
        self.proc = subprocess.Popen([binary, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if self.proc.poll() is not None:
                sys.exit(f"ztas serve exited ({self.proc.returncode}); log: {data}.log")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status in (200, 503):
                    c.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        sys.exit("ztas serve did not come up")

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def ztas_setup(srv: ZtasServer, data: Path, site: str) -> str:
    """Registers a user and gives it a site record with the imported site id (http.sh's way)."""
    st, body = srv.request("POST", "/api/auth/register", {"email": "conc@example.com", "password": "Bench-Password-42!"})
    if st not in (200, 201):
        sys.exit(f"register: {st} {body[:300]!r}")
    j = json.loads(body)
    token, user_id = j["token"], j["user"]["id"]
    db = sqlite3.connect(str(data / "meta.sqlite"), timeout=10)
    now = int(time.time() * 1000)
    db.execute("INSERT INTO sites (id, owner_id, domain, name, timezone, created_at, updated_at) "
               "VALUES (?, ?, 'alpha.bench.example.com', ?, 'UTC', ?, ?)", (site, user_id, site, now, now))
    db.commit()
    db.close()
    return token


def ztas_client_factory(srv: ZtasServer, token: str, site: str, start: str, end: str, seq: list[int]):
    path = f"/api/stats?siteId={site}&period=custom&startDate={start}&endDate={end}"
    auth = {"Authorization": "Bearer " + token}

    def make(i: int):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)

        def step():
            seq[0] += 1
            k = seq[0]
            ev = json.dumps({"siteId": site, "type": "pageview", "path": PATHS[k % len(PATHS)],
                             "referrer": "https://www.google.com/" if k % 3 == 0 else ""})
            t0 = time.perf_counter()
            conn.request("POST", "/api/track", body=ev, headers={
                "Content-Type": "application/json", "User-Agent": UA, "Origin": "https://alpha.bench.example.com",
                "X-Forwarded-For": f"10.{k % 200}.{(k // 200) % 250}.{(k // 50000) % 250 + 1}"})
            r = conn.getresponse()
            b = r.read()
            if r.status != 200:
                raise RuntimeError(f"track {r.status} {b[:200]!r}")
            side = (time.perf_counter() - t0) * 1000
            t1 = time.perf_counter()
            conn.request("GET", path, headers=auth)
            r = conn.getresponse()
            b = r.read()
            t2 = time.perf_counter()
            if r.status != 200:
                raise RuntimeError(f"stats {r.status} {b[:200]!r}")
            return side, t1, t2
        return step
    return make


# ---------------------------------------------------------------------------------------------
# DuckDB

def duck_client_factory(con, site: str, w: "compare.Window", seq: list[int]):
    stmts = compare.dashboard_sql(site, w, "duckdb")
    insert = ("INSERT INTO events (ts, site, type, visitor, session, path, referrer, utm_source, utm_medium, "
              "utm_campaign, channel, device, browser, os, country, region, name, category, label, value, "
              "time_on_page, x, y, scroll_depth, element, text, \"import\") VALUES "
              "(?, ?, 'pageview', ?, ?, ?, '', '', '', '', 'direct', 'desktop', 'Chrome', 'Linux', 'US', '', "
              "'', '', '', 0, 0, 0, 0, 0, '', '', 0)")

    def make(i: int):
        cur = con.cursor()

        def step():
            seq[0] += 1
            k = seq[0]
            t0 = time.perf_counter()
            cur.execute(insert, [int(time.time() * 1000), site, 10**12 + k, 10**12 + k, PATHS[k % len(PATHS)]])
            side = (time.perf_counter() - t0) * 1000
            t1 = time.perf_counter()
            res = [cur.execute(s).fetchall() for s in stmts]
            t2 = time.perf_counter()
            step.last = res
            return side, t1, t2
        return step
    return make


# ---------------------------------------------------------------------------------------------
# Report

def fmt(v, digits=0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def markdown(rep: dict) -> str:
    m = rep["meta"]
    L = [f"# Concurrent dashboards — `/api/stats` {m['start']}..{m['end']} on `{m['site']}`\n",
         f"Run {m['date']} on {m['machine']}; ztas `{m['ztas']}`; {m['duckdb']}. Each phase: {m['warmup']} s warm-up, "
         f"then ≥ {m['duration']} s and ≥ {m['min_requests']} requests measured; every dashboard request follows one "
         f"tracked event (ztas `POST /api/track`, DuckDB `INSERT`). 1-minute load average before/after: "
         f"{m['load'][0]} / {m['load'][1]}.\n",
         "| N | ztas p50 ms | ztas p99 ms | ztas req/s | ztas peak RSS MB (anon / file) | ztas CPU ms/req (cores busy) | DuckDB p50 ms | DuckDB p99 ms | DuckDB req/s | DuckDB process peak RSS MB | DuckDB CPU ms/req (cores busy) | requests ztas / DuckDB | load |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rep["phases"]:
        z, d = r.get("ztas"), r.get("duckdb")
        zc = [fmt(z["p50_ms"]), fmt(z["p99_ms"]), fmt(z["throughput"], 2),
              f"{z['peak']['rss_mb']} ({z['peak']['anon_mb']} / {z['peak']['file_mb']})" if z.get("peak") else "—",
              f"{fmt(z['cpu_ms_per_request'])} ({fmt(z['cores_busy'], 2)})"] if z else ["—"] * 5
        dc = [fmt(d["p50_ms"]), fmt(d["p99_ms"]), fmt(d["throughput"], 2),
              str(d["peak"]["rss_mb"]) if d.get("peak") else "—",
              f"{fmt(d['cpu_ms_per_request'])} ({fmt(d['cores_busy'], 2)})"] if d else ["—"] * 5
        L.append(f"| {r['clients']} | " + " | ".join(zc + dc) +
                 f" | {z['requests'] if z else '—'} / {d['requests'] if d else '—'} | {r['load']} |")
    L.append("\nCPU: user + system time of the server process (ztas) or of this Python process (DuckDB, its "
             "client loop included) over the measured window, per measured request; cores busy = CPU / wall.")
    t = rep.get("targets")
    if t:
        L.append("")
        L.append(f"Targets (issue 13): 4 clients' throughput ≥ 1.8× one client's — ztas {t['ztas_scaling_4']}, "
                 f"DuckDB {t['duckdb_scaling_4']}; p99 ≤ 3× p50 — ztas {t['ztas_p99_over_p50']}; "
                 f"server RSS ≤ 512 MB throughout — peak VmRSS {t['ztas_peak_rss_mb']} MB, VmHWM {t['ztas_vmhwm_mb']} MB.")
    zs, ds = m.get("summary_ztas"), m.get("summary_duckdb")
    if zs and ds:
        same = all(zs.get(k) == ds.get(k) for k in ("pageviews", "uniqueVisitors", "sessions", "events"))
        L.append(f"\nAnswers before the load: the 31-day summary of ztas and DuckDB "
                 + ("agree (pageviews, visitors, sessions, events)." if same else f"**DIFFER**: ztas {zs}, DuckDB {ds}."))
    errs = [(r["clients"], k, r[k]["errors"], r[k]["error_samples"]) for r in rep["phases"] for k in ("ztas", "duckdb")
            if r.get(k) and r[k]["errors"]]
    for n, k, c, s in errs:
        L.append(f"\n**{k} N={n}: {c} failed requests**, e.g. {s[0]}")
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ztas", default=str(HERE.parent / ".build" / "release" / "ztas"), help="release ztas binary (default: %(default)s)")
    ap.add_argument("--data", default=str(HERE / "data" / "work" / "ztas"), help="ztas data directory with the imported events (default: %(default)s)")
    ap.add_argument("--duck", default=str(HERE / "data" / "work" / "duck.db"), help="DuckDB file of the same events (default: %(default)s)")
    ap.add_argument("--site", default="site_alpha", help="site id to query (default: %(default)s)")
    ap.add_argument("--start", help="first day of the window (default: 31 days ending the day before the site's newest event)")
    ap.add_argument("--end", help="last day of the window (inclusive)")
    ap.add_argument("--clients", default="1,2,4,8", help="client counts, comma-separated (default: %(default)s)")
    ap.add_argument("--duration", type=float, default=20, help="measured seconds per phase (default: %(default)s)")
    ap.add_argument("--warmup", type=float, default=3, help="unmeasured seconds at the start of each phase (default: %(default)s)")
    ap.add_argument("--min-requests", type=int, default=30, help="a phase runs on until this many requests were measured (default: %(default)s)")
    ap.add_argument("--engines", default="ztas,duckdb", help="which engines to run (default: %(default)s)")
    ap.add_argument("--duck-threads", type=int, help="DuckDB SET threads (default: DuckDB's own, one per core)")
    ap.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment of `ztas serve` (repeatable), e.g. MEMTABLE_FLUSH_ROWS=250000")
    ap.add_argument("--in-place", action="store_true",
                    help="use --data and --duck as they are (the server writes tracked events into --data; "
                         "DuckDB's inserted rows are deleted at the end) instead of temporary copies")
    ap.add_argument("--tmp", default=tempfile.gettempdir(), help="where the copies go (default: %(default)s)")
    ap.add_argument("--out", default=str(HERE / "results"), help="directory for concurrency.{md,json} (default: %(default)s)")
    ap.add_argument("--name", default="concurrency", help="base name of the result files (default: %(default)s)")
    args = ap.parse_args()

    engines = set(args.engines.split(","))
    counts = [int(x) for x in args.clients.split(",")]
    import duckdb

    work = Path(tempfile.mkdtemp(prefix="ztas-conc.", dir=args.tmp))
    data, duck_path = Path(args.data).resolve(), Path(args.duck).resolve()
    start, end = (args.start, args.end) if args.start and args.end else pick_window(duck_path, args.site)
    print(f"window {start}..{end}, site {args.site}, clients {counts}, work {work}", flush=True)

    srv = sampler = con = None
    try:
        if "ztas" in engines:
            if not args.in_place:
                print(f"copying {data} ...", flush=True)
                shutil.copytree(data, work / "ztas", symlinks=True)
                data = work / "ztas"
            for f in ["LOCK"] + [p.name for p in data.glob("meta.sqlite*")]:
                (data / f).unlink(missing_ok=True)
            extra = dict(kv.split("=", 1) for kv in args.server_env)
            srv = ZtasServer(args.ztas, data, extra)
            token = ztas_setup(srv, data, args.site)
            sampler = MemSampler(srv.proc.pid)
            st, body = srv.request("GET", f"/api/stats?siteId={args.site}&period=custom&startDate={start}&endDate={end}", token=token)
            if st != 200:
                sys.exit(f"/api/stats: {st} {body[:300]!r}")
            zsum = json.loads(body)["summary"]
            print(f"ztas summary: {zsum}", flush=True)
        if "duckdb" in engines:
            if not args.in_place:
                print(f"copying {duck_path} ...", flush=True)
                shutil.copy2(duck_path, work / "duck.db")
                duck_path = work / "duck.db"
            con = duckdb.connect(str(duck_path))
            if args.duck_threads:
                con.execute(f"SET threads = {args.duck_threads}")
            w = compare.Window(start, end)
            dsum = compare.dashboard_value([con.execute(s).fetchall() for s in compare.dashboard_sql(args.site, w, "duckdb")], w)["summary"]
            print(f"DuckDB summary: {dsum}", flush=True)
            dset = con.execute("SELECT current_setting('threads'), current_setting('memory_limit')").fetchone()

        load0 = load1()
        phases = []
        zseq, dseq = [0], [0]
        for n in counts:
            row: dict = {"clients": n, "load": load1()}
            if srv:
                sampler.mark(f"ztas-{n}")
                row["ztas"] = run_phase(n, args.warmup, args.duration, args.min_requests,
                                        ztas_client_factory(srv, token, args.site, start, end, zseq), "ztas",
                                        cpu=lambda: proc_cpu_seconds(srv.proc.pid))
                sampler.mark("between")
                row["ztas"]["peak"] = sampler.peak(f"ztas-{n}")
            if con is not None:
                dsamp = MemSampler(os.getpid())
                dsamp.mark("duck")
                row["duckdb"] = run_phase(n, args.warmup, args.duration, args.min_requests,
                                          duck_client_factory(con, args.site, compare.Window(start, end), dseq), "DuckDB",
                                          cpu=lambda: proc_cpu_seconds(os.getpid()))
                dsamp.stop()
                row["duckdb"]["peak"] = dsamp.peak("duck")
            phases.append(row)
        load_end = load1()

        rep: dict = {"phases": phases}
        hwm = None
        if srv:
            m = proc_mem(srv.proc.pid) or {}
            hwm = m.get("VmHWM", 0) // 1024
            rep["ztas_idle_after_mb"] = m.get("VmRSS", 0) // 1024
        byn = {r["clients"]: r for r in phases}

        def scaling(k):
            if 1 in byn and 4 in byn and byn[1].get(k) and byn[4].get(k) and byn[1][k]["throughput"]:
                return f"{byn[4][k]['throughput'] / byn[1][k]['throughput']:.2f}×"
            return "—"
        if srv:
            ratios = [f"N={r['clients']}: {r['ztas']['p99_ms'] / r['ztas']['p50_ms']:.2f}×" for r in phases
                      if r.get("ztas") and r["ztas"]["p50_ms"]]
            rep["targets"] = {"ztas_scaling_4": scaling("ztas"), "duckdb_scaling_4": scaling("duckdb"),
                              "ztas_p99_over_p50": ", ".join(ratios), "ztas_peak_rss_mb": sampler.peak().get("rss_mb"),
                              "ztas_vmhwm_mb": hwm}
        rep["meta"] = {
            "site": args.site, "start": start, "end": end, "warmup": args.warmup, "duration": args.duration,
            "min_requests": args.min_requests, "load": [load0, load_end],
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {platform.system()} {platform.release()}",
            "ztas": args.ztas, "server_env": args.server_env,
            "duckdb": f"duckdb {duckdb.__version__}, threads={dset[0]}, memory_limit={dset[1]}" if con is not None else "DuckDB not run",
            "summary_ztas": zsum if srv else None, "summary_duckdb": dsum if con is not None else None,
        }
        md = markdown(rep)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{args.name}.json").write_text(json.dumps(rep, indent=1))
        (out / f"{args.name}.md").write_text(md)
        print("\n" + md)
    finally:
        if sampler:
            sampler.stop()
        if srv:
            srv.stop()
        if con is not None:
            if args.in_place:
                con.execute("DELETE FROM events WHERE \"import\" = 0")
            con.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
