#!/usr/bin/env python3
"""ztas vs DuckDB vs chDB (ClickHouse) on the same generated data, in the same run.

Usually started by `Benchmarks/run.sh`, which builds ztas and generates the data. Steps:

1. Load the NDJSON file into each engine and time it: `ztas import`, DuckDB
   `CREATE TABLE events AS SELECT ... FROM read_json(...)` + CHECKPOINT, chDB
   `INSERT INTO events SELECT ... FROM file(..., JSONEachRow)` into a MergeTree ordered by
   (site, ts) (its `OPTIMIZE TABLE ... FINAL` is timed separately). All three apply the same import
   rules (events.md §2/§4: defaults, referrer lower-cased without `www.`, channel derived when
   absent, visitor/session strings hashed to 64 bits). Storage: bytes on disk per event.
2. Durable WAL ingest of a 1M-line slice: `ztas ingest --batch 100 --writers 8`.
3. The dashboard query set on the biggest site. ztas is timed in-process by `ztas bench` (one
   warm-up, then --runs runs, median); each peer runs equivalent SQL (events.md §3 semantics) in
   its own in-process connection, also one warm-up then the median of --runs runs.
4. Cross-checks: every stats-api and heatmap answer of DuckDB is compared with what the ztas CLI
   prints (and chDB with DuckDB); the 31-day summary numbers of all three are printed, and a
   mismatch of pageviews/visitors/sessions between ztas and DuckDB is reported loudly.
5. Tables in markdown on stdout and in results/latest.md, raw numbers in results/latest.json.
6. Goals and funnels (issue 10): a goal's stats and a 4-step funnel through `ztas bench`
   (QueryEngine.goalStats / funnelStats) next to DuckDB and chDB SQL (chDB: `windowFunnel`), with
   the answers compared. `--only conversions` runs just this part (results/conversions.*).

Only the standard library plus the `duckdb` and `chdb` packages (installed with pip if missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Set-up


def ensure_peers() -> None:
    """Imports duckdb and chdb, pip-installing whichever is missing."""
    missing = []
    for mod in ("duckdb", "chdb"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if not missing:
        return
    print(f"installing {' '.join(missing)} with pip ...", flush=True)
    base = [sys.executable, "-m", "pip", "install", "--quiet"]
    if subprocess.call(base + missing) != 0:
        # Debian's system Python refuses plain installs (PEP 668): fall back to a user install.
        subprocess.check_call(base + ["--user", "--break-system-packages"] + missing)


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass
    return total


def day_ms(date: str) -> int:
    """Start of a UTC calendar day, ms since the epoch."""
    d = dt.datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    return int(d.timestamp() * 1000)


def next_day(date: str) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()


def rhaz(x: float, digits: int) -> float:
    """Rounds half away from zero (events.md §3)."""
    m = 10 ** digits
    v = math.floor(abs(x) * m + 0.5 + 1e-9) / m
    return -v if x < 0 else v


def timed_runs(fn, runs: int) -> tuple[list[float], object]:
    """One warm-up call, then the wall times of `runs` calls in ms (sorted) and the last result."""
    result = fn()
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times), result


def median_ms(fn, runs: int) -> tuple[float, object]:
    """One warm-up call, then the median wall time of `runs` calls, in ms."""
    times, result = timed_runs(fn, runs)
    return statistics.median(times), result


def biggest_site(ndjson: Path, sample: int = 200_000) -> str:
    counts: Counter = Counter()
    with open(ndjson, "rb") as f:
        for i, line in enumerate(f):
            if i >= sample:
                break
            k = line.find(b'"site":"')
            if k >= 0:
                e = line.find(b'"', k + 8)
                counts[line[k + 8:e].decode()] += 1
    return counts.most_common(1)[0][0]


# ---------------------------------------------------------------------------------------------
# Loading

NDJSON_FIELDS = [
    ("ts", "VARCHAR", "String"), ("site", "VARCHAR", "String"), ("type", "VARCHAR", "String"),
    ("visitor", "VARCHAR", "String"), ("session", "VARCHAR", "String"),
    ("path", "VARCHAR", "Nullable(String)"), ("referrer", "VARCHAR", "Nullable(String)"),
    ("utm_source", "VARCHAR", "Nullable(String)"), ("utm_medium", "VARCHAR", "Nullable(String)"),
    ("utm_campaign", "VARCHAR", "Nullable(String)"), ("channel", "VARCHAR", "Nullable(String)"),
    ("device", "VARCHAR", "Nullable(String)"), ("browser", "VARCHAR", "Nullable(String)"),
    ("os", "VARCHAR", "Nullable(String)"), ("country", "VARCHAR", "Nullable(String)"),
    ("region", "VARCHAR", "Nullable(String)"), ("name", "VARCHAR", "Nullable(String)"),
    ("category", "VARCHAR", "Nullable(String)"), ("label", "VARCHAR", "Nullable(String)"),
    ("value", "DOUBLE", "Nullable(Float64)"), ("time_on_page", "INTEGER", "Nullable(Int32)"),
    ("x", "INTEGER", "Nullable(Int32)"), ("y", "INTEGER", "Nullable(Int32)"),
    ("scroll_depth", "TINYINT", "Nullable(Int8)"), ("element", "VARCHAR", "Nullable(String)"),
    ("text", "VARCHAR", "Nullable(String)"),
]

SEARCH = "('bing.com','duckduckgo.com','yahoo.com','baidu.com','ecosia.org','search.brave.com')"
SOCIAL = ("('facebook.com','t.co','twitter.com','x.com','linkedin.com','reddit.com','instagram.com',"
          "'youtube.com','pinterest.com','tiktok.com','news.ycombinator.com','mastodon.social')")
PAID = "('cpc','ppc','paid','paidsearch','display','cpm')"


def duckdb_load_sql(ndjson: Path) -> str:
    cols = "{" + ", ".join(f"'{n}': '{t}'" for n, t, _ in NDJSON_FIELDS) + "}"
    return f"""
CREATE TABLE events AS
WITH r AS (
  SELECT *, coalesce(lower(referrer), '') AS ref0
  FROM read_json('{ndjson}', format = 'newline_delimited', columns = {cols})),
n AS (SELECT *, CASE WHEN starts_with(ref0, 'www.') THEN substr(ref0, 5) ELSE ref0 END AS ref,
             coalesce(utm_medium, '') AS um, coalesce(utm_source, '') AS us FROM r)
SELECT
  CASE WHEN ts[5] = '-' THEN epoch_ms(ts::TIMESTAMPTZ) ELSE ts::BIGINT END AS ts,
  site, type, hash(visitor) AS visitor, hash(session) AS session,
  coalesce(path, '/') AS path, ref AS referrer, us AS utm_source, um AS utm_medium,
  coalesce(utm_campaign, '') AS utm_campaign,
  coalesce(channel, CASE
    WHEN um IN {PAID} THEN 'paid'
    WHEN um = 'email' OR us IN ('newsletter', 'email') THEN 'email'
    WHEN starts_with(ref, 'google.') OR starts_with(ref, 'yandex.') OR ref IN {SEARCH} THEN 'organic'
    WHEN ref IN {SOCIAL} THEN 'social'
    WHEN ref <> '' THEN 'referral' ELSE 'direct' END) AS channel,
  coalesce(device, '') AS device, coalesce(browser, '') AS browser, coalesce(os, '') AS os,
  coalesce(country, '') AS country, coalesce(region, '') AS region,
  coalesce(name, '') AS name, coalesce(category, '') AS category, coalesce(label, '') AS label,
  coalesce(value, 0) AS value, coalesce(time_on_page, 0) AS time_on_page,
  coalesce(x, 0) AS x, coalesce(y, 0) AS y, coalesce(scroll_depth, 0) AS scroll_depth,
  coalesce(element, '') AS element, coalesce(text, '') AS text, 1::UINTEGER AS "import"
FROM n"""


CH_TABLE = """
CREATE TABLE events (
  ts Int64, site LowCardinality(String), type LowCardinality(String), visitor UInt64, session UInt64,
  path LowCardinality(String), referrer LowCardinality(String), utm_source LowCardinality(String),
  utm_medium LowCardinality(String), utm_campaign LowCardinality(String), channel LowCardinality(String),
  device LowCardinality(String), browser LowCardinality(String), os LowCardinality(String),
  country LowCardinality(String), region LowCardinality(String), name LowCardinality(String),
  category LowCardinality(String), label LowCardinality(String), value Float64, time_on_page Int32,
  x Int32, y Int32, scroll_depth Int8, element LowCardinality(String), text LowCardinality(String),
  import UInt32
) ENGINE = MergeTree ORDER BY (site, ts)"""


def chdb_load_sql(ndjson: Path) -> str:
    structure = ", ".join(f"{n} {t}" for n, _, t in NDJSON_FIELDS)
    return f"""
INSERT INTO events
WITH lower(ifNull(referrer, '')) AS ref0, if(startsWith(ref0, 'www.'), substring(ref0, 5), ref0) AS ref,
     ifNull(utm_medium, '') AS um, ifNull(utm_source, '') AS us
SELECT
  if(substring(ts, 5, 1) = '-', toUnixTimestamp64Milli(parseDateTime64BestEffort(ts, 3, 'UTC')), toInt64(ts)),
  site, type, cityHash64(visitor), cityHash64(session), ifNull(path, '/'), ref, us, um,
  ifNull(utm_campaign, ''),
  ifNull(channel, multiIf(
    um IN {PAID}, 'paid',
    um = 'email' OR us IN ('newsletter', 'email'), 'email',
    startsWith(ref, 'google.') OR startsWith(ref, 'yandex.') OR ref IN {SEARCH}, 'organic',
    ref IN {SOCIAL}, 'social',
    ref != '', 'referral', 'direct')),
  ifNull(device, ''), ifNull(browser, ''), ifNull(os, ''), ifNull(country, ''), ifNull(region, ''),
  ifNull(name, ''), ifNull(category, ''), ifNull(label, ''), ifNull(value, 0), ifNull(time_on_page, 0),
  ifNull(x, 0), ifNull(y, 0), ifNull(scroll_depth, 0), ifNull(element, ''), ifNull(text, ''), 1
FROM file('{ndjson}', JSONEachRow, '{structure}')"""


class Peer:
    """One in-process SQL engine: `run(sql)` returns rows as lists."""

    name = ""

    def run(self, sql: str) -> list[list]:
        raise NotImplementedError

    def run_all(self, statements: list[str]) -> list[list[list]]:
        return [self.run(s) for s in statements]


class DuckPeer(Peer):
    name = "DuckDB"

    def __init__(self, path: Path, read_only: bool = False):
        import duckdb
        self.con = duckdb.connect(str(path), read_only=read_only)

    def run(self, sql: str) -> list[list]:
        return [list(r) for r in self.con.execute(sql).fetchall()]

    @staticmethod
    def version() -> str:
        import duckdb
        return f"duckdb {duckdb.__version__}"

    def settings(self) -> str:
        import duckdb
        t, m = self.run("SELECT current_setting('threads'), current_setting('memory_limit')")[0]
        return f"duckdb {duckdb.__version__}, threads={t}, memory_limit={m}"


class ChPeer(Peer):
    name = "chDB"

    def __init__(self, path: Path):
        from chdb import session
        self.sess = session.Session(str(path))

    def run(self, sql: str) -> list[list]:
        res = self.sess.query(sql, "JSONCompact")
        raw = res.bytes() if hasattr(res, "bytes") else bytes(res)
        if not raw.strip():
            return []
        return json.loads(raw)["data"]

    @staticmethod
    def version() -> str:
        import chdb
        return f"chdb {chdb.__version__}"

    def settings(self) -> str:
        import chdb
        v, t = self.run("SELECT version(), getSetting('max_threads')")[0]
        return f"chdb {chdb.__version__} (ClickHouse {v}), max_threads={t}"


def ztas_import(args, ndjson: Path, zdir: Path) -> dict:
    """`ztas import` as a user runs it: the whole process, start to exit, and its peak RSS.

    The peak comes from the kernel's rusage of the import process, taken by a small launcher
    process: Linux carries a process's pre-exec high-water mark across `exec`, so a child forked
    straight from this Python (which holds the peers' buffers by now) would report our RSS."""
    import tempfile
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se, tempfile.NamedTemporaryFile() as ru:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", RUSAGE_LAUNCHER, ru.name, args.ztas, "import", "--data", str(zdir), str(ndjson)],
                           stdout=so, stderr=se)
        secs = time.perf_counter() - t0
        so.seek(0); se.seek(0)
        stdout, stderr = so.read().decode(), se.read().decode()
        usage = json.loads(Path(ru.name).read_text() or "{}")
    if p.returncode != 0:
        sys.exit(f"ztas import failed: {stderr[-2000:]}")
    rep = json.loads(stdout.strip().splitlines()[-1])
    if rep.get("rejected"):
        print(f"  WARNING: ztas rejected {rep['rejected']} lines: {rep.get('errors', [])[:3]}")
    return {"seconds": secs, "accepted": rep["accepted"], "bytes": dir_bytes(zdir / "events"),
            "peak_rss_mb": usage.get("maxrss_kb", 0) / 1024, "cpu_seconds": usage.get("cpu_seconds", 0.0)}


# Runs argv[2:] as a child and writes its rusage (peak RSS, CPU) as JSON to argv[1]; exits with
# the child's status. Started as a fresh, small interpreter (see ztas_import).
RUSAGE_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
open(sys.argv[1], "w").write(json.dumps({"maxrss_kb": ru.ru_maxrss, "cpu_seconds": ru.ru_utime + ru.ru_stime}))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def import_1m(args, ndjson: Path, work: Path, lines: int = 1_000_000) -> dict:
    """The first `lines` lines imported by ztas (whole process) and DuckDB (read_json +
    CHECKPOINT), so the fixed costs of a small import show next to the 10 M figures."""
    slice_file = slice_of(ndjson, work, lines)
    zdir, duck = work / "ztas-1m", work / "duck-1m.db"
    shutil.rmtree(zdir, ignore_errors=True)
    print(f"[load] ztas import, first {lines:,} lines ...", flush=True)
    z = ztas_import(args, slice_file, zdir)
    shutil.rmtree(zdir, ignore_errors=True)
    for f in (duck, Path(str(duck) + ".wal")):
        if f.exists():
            f.unlink()
    d = DuckPeer(duck)
    t0 = time.perf_counter()
    d.run(duckdb_load_sql(slice_file))
    d.run("CHECKPOINT")
    dsecs = time.perf_counter() - t0
    d.con.close()
    duck.unlink()
    print(f"  ztas {z['seconds']:.2f} s (peak RSS {z['peak_rss_mb']:.0f} MB), DuckDB {dsecs:.2f} s", flush=True)
    return {"lines": lines, "ztas": z, "duckdb": {"seconds": dsecs}}


def load_all(args, ndjson: Path, work: Path, rows: int) -> dict:
    """Loads the file into the three engines (fresh stores), timing each."""
    out: dict = {"rows": rows}
    zdir, duck, chdir = work / "ztas", work / "duck.db", work / "chdb"

    shutil.rmtree(zdir, ignore_errors=True)
    print(f"[load] ztas import {ndjson.name} ...", flush=True)
    out["ztas"] = ztas_import(args, ndjson, zdir)
    print(f"  {out['ztas']['seconds']:.1f} s, {out['ztas']['accepted']} rows, peak RSS {out['ztas']['peak_rss_mb']:.0f} MB", flush=True)

    for f in (duck, Path(str(duck) + ".wal")):
        if f.exists():
            f.unlink()
    print("[load] DuckDB CREATE TABLE AS ... read_json ...", flush=True)
    d = DuckPeer(duck)
    t0 = time.perf_counter()
    d.run(duckdb_load_sql(ndjson))
    d.run("CHECKPOINT")
    secs = time.perf_counter() - t0
    n = d.run("SELECT count(*) FROM events")[0][0]
    d.con.close()
    out["duckdb"] = {"seconds": secs, "accepted": n, "bytes": duck.stat().st_size}
    print(f"  {secs:.1f} s, {n} rows", flush=True)

    shutil.rmtree(chdir, ignore_errors=True)
    print("[load] chDB INSERT INTO events (MergeTree) SELECT ... FROM file(JSONEachRow) ...", flush=True)
    c = ChPeer(chdir)
    c.run(CH_TABLE)
    t0 = time.perf_counter()
    c.run(chdb_load_sql(ndjson))
    secs = time.perf_counter() - t0
    parts_before = c.run("SELECT count(), sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active")[0]
    t0 = time.perf_counter()
    c.run("OPTIMIZE TABLE events FINAL")
    opt = time.perf_counter() - t0
    n = c.run("SELECT count() FROM events")[0][0]
    parts = c.run("SELECT count(), sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active")[0]
    out["chdb"] = {"seconds": secs, "optimize_seconds": opt, "accepted": int(n), "bytes": int(parts[1]),
                   "bytes_before_optimize": int(parts_before[1]), "parts_before_optimize": int(parts_before[0])}
    print(f"  {secs:.1f} s (+ OPTIMIZE FINAL {opt:.1f} s), {n} rows", flush=True)
    del c
    return out


def slice_of(ndjson: Path, work: Path, lines: int) -> Path:
    """The first `lines` lines of `ndjson` in a file of their own (kept while up to date)."""
    slice_file = work / f"slice-{lines}.ndjson"
    if not slice_file.exists() or slice_file.stat().st_mtime < ndjson.stat().st_mtime:
        with open(ndjson, "rb") as src, open(slice_file, "wb") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
    return slice_file


def ingest_bench(args, ndjson: Path, work: Path, lines: int) -> dict:
    """Durable WAL ingest of the first `lines` lines with `ztas ingest`."""
    slice_file = slice_of(ndjson, work, lines)
    wdir = work / "ztas-ingest"
    shutil.rmtree(wdir, ignore_errors=True)
    print(f"[ingest] ztas ingest --batch 100 --writers 8 ({lines} lines) ...", flush=True)
    p = subprocess.run([args.ztas, "ingest", "--data", str(wdir), "--batch", "100", "--writers", "8", str(slice_file)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(f"  ztas ingest failed: {p.stderr[-1000:]}")
        return {"error": p.stderr[-1000:]}
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"  {rep['eventsPerSecond']} events/s", flush=True)
    shutil.rmtree(wdir, ignore_errors=True)
    return rep


# ---------------------------------------------------------------------------------------------
# Queries. Each one has the ztas `bench` form, the equivalent SQL for both peers (the dialects
# only differ where noted), the ztas CLI form used for the cross-check, and a normaliser that
# turns the answers of both sides into the same comparable value.

SUMMARY_METRICS = "visitors,pageviews,sessions,bounce_rate,visit_duration,views_per_visit"
BREAKDOWN_METRICS = "visitors,pageviews,sessions,bounce_rate,visit_duration"


class Window:
    def __init__(self, start: str, end: str):
        self.start, self.end = start, end          # inclusive calendar days (UTC)
        self.lo, self.hi = day_ms(start), day_ms(next_day(end))

    def where(self, site: str) -> str:
        return f"site = '{site}' AND ts >= {self.lo} AND ts < {self.hi}"


def month_bounds(w: Window) -> list[int]:
    """Bucket boundaries of calendar months clipped to the window (UTC)."""
    bounds, d = [w.lo], dt.date.fromisoformat(w.start)
    while True:
        d = (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        ms = day_ms(d.isoformat())
        if ms >= w.hi:
            break
        bounds.append(ms)
    return bounds + [w.hi]


def bucket_expr(w: Window, interval: str) -> tuple[str, list[str]]:
    """SQL bucket index expression over `ts` and the bucket labels."""
    if interval == "hour":
        n = (w.hi - w.lo) // 3_600_000
        labels = [dt.datetime.fromtimestamp((w.lo + i * 3_600_000) / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:00:00+00:00")
                  for i in range(n)]
        return f"CAST(floor((ts - {w.lo}) / 3600000) AS BIGINT)", labels
    if interval == "day":
        n = (w.hi - w.lo) // 86_400_000
        labels = [(dt.date.fromisoformat(w.start) + dt.timedelta(days=i)).isoformat() for i in range(n)]
        return f"CAST(floor((ts - {w.lo}) / 86400000) AS BIGINT)", labels
    bounds = month_bounds(w)
    labels = [dt.datetime.fromtimestamp(b / 1000, dt.timezone.utc).date().isoformat() for b in bounds[:-1]]
    if len(bounds) == 2:
        return "0", labels
    cases = " ".join(f"WHEN ts < {b} THEN {i}" for i, b in enumerate(bounds[1:-1]))
    return f"CASE {cases} ELSE {len(bounds) - 2} END", labels


def session_metrics(pageviews, sessions, bounces, dur_ms) -> dict:
    s = sessions or 0
    return {
        "pageviews": int(pageviews or 0),
        "sessions": int(s),
        "bounce_rate": rhaz(100 * bounces / s, 1) if s else 0,
        "visit_duration": int(rhaz(dur_ms / 1000 / s, 0)) if s else 0,
        "views_per_visit": rhaz(pageviews / s, 2) if s else 0,
    }


# --- series (summaries and time series) ---

def series_sql(site: str, w: Window, interval: str) -> tuple[list[str], list[str]]:
    b, labels = bucket_expr(w, interval)
    sql = f"""
WITH ev AS (SELECT ts, type, visitor, session, {b} AS b FROM events WHERE {w.where(site)}),
s AS (SELECT b, session, countIf(type = 'pageview') AS pv, countIf(type = 'event') AS ne,
             max(ts) - min(ts) AS dur
      FROM ev GROUP BY b, session),
sa AS (SELECT b, sum(pv) AS pageviews, countIf(pv + ne > 0) AS sessions,
              countIf(pv = 1 AND ne = 0) AS bounces, sum(dur) FILTER (WHERE pv + ne > 0) AS dur_sum
       FROM s GROUP BY b),
va AS (SELECT b, count(DISTINCT visitor) AS visitors FROM ev WHERE type IN ('pageview', 'event') GROUP BY b)
SELECT sa.b, coalesce(va.visitors, 0), sa.pageviews, sa.sessions, sa.bounces, coalesce(sa.dur_sum, 0)
FROM sa LEFT JOIN va ON sa.b = va.b ORDER BY sa.b"""
    return [sql], labels


def series_rows(results, labels, metrics: str) -> list[dict]:
    by_b = {int(r[0]): r for r in results[0]}
    rows = []
    for i, label in enumerate(labels):
        _, vis, pv, ses, bou, dur = by_b.get(i, (i, 0, 0, 0, 0, 0))
        m = session_metrics(int(pv), int(ses), int(bou), float(dur))
        m["visitors"] = int(vis)
        rows.append({"date": label, **{k: m[k] for k in metrics.split(",")}})
    return rows


# --- breakdowns ---

SESSION_DIMS = {"source": "referrer", "channel": "channel", "country": "country", "device": "device",
                "browser": "browser"}


def session_breakdown_sql(site: str, w: Window, prop: str, limit: int = 100) -> list[str]:
    col = SESSION_DIMS[prop]
    if prop == "channel":
        g = "CASE WHEN pv > 0 THEN coalesce(e, '') ELSE 'direct' END"
    elif prop == "source":
        g = "CASE WHEN pv > 0 AND coalesce(e, '') <> '' THEN e ELSE '(direct)' END"
    else:
        g = "CASE WHEN pv > 0 THEN coalesce(e, '') ELSE '' END"
    return [f"""
WITH ev AS (SELECT ts, type, visitor, session, path, {col} AS d FROM events WHERE {w.where(site)}),
s AS (SELECT session, countIf(type = 'pageview') AS pv, countIf(type = 'event') AS ne, max(ts) - min(ts) AS dur,
             argMin(d, (ts, path)) FILTER (WHERE type = 'pageview') AS e
      FROM ev GROUP BY session),
sg AS (SELECT session, {g} AS g, pv, ne, dur FROM s WHERE pv + ne > 0),
ga AS (SELECT g, sum(pv) AS pageviews, count(*) AS sessions, countIf(pv = 1 AND ne = 0) AS bounces,
              sum(dur) AS dur_sum FROM sg GROUP BY g),
va AS (SELECT sg.g AS g, count(DISTINCT ev.visitor) AS visitors
       FROM ev JOIN sg ON ev.session = sg.session WHERE ev.type IN ('pageview', 'event') GROUP BY sg.g)
SELECT ga.g, coalesce(va.visitors, 0) AS visitors, ga.pageviews, ga.sessions, ga.bounces, ga.dur_sum
FROM ga LEFT JOIN va ON ga.g = va.g ORDER BY visitors DESC, ga.g ASC LIMIT {limit}"""]


def page_breakdown_sql(site: str, w: Window, session_filters: dict[str, str] | None = None, limit: int = 100) -> list[str]:
    """`property=page`; `session_filters` = {column: value} on session-level dimensions (==)."""
    f = session_filters or {}
    extra_cols = "".join(f", {c}" for c in f)
    extra_aggs = "".join(f",\n             argMin({c}, (ts, path)) FILTER (WHERE type = 'pageview') AS e_{c}" for c in f)
    having = ""
    if f:
        having = " HAVING " + " AND ".join(f"coalesce(e_{c}, '') = '{v}'" for c, v in f.items())
    join = "JOIN s ON ev.session = s.session " if f else ""
    return [f"""
WITH ev AS (SELECT ts, type, visitor, session, path{extra_cols} FROM events WHERE {w.where(site)}),
s AS (SELECT session, countIf(type = 'pageview') AS pv, countIf(type = 'event') AS ne, max(ts) - min(ts) AS dur,
             argMin(path, (ts, path)) FILTER (WHERE type = 'pageview') AS e_path{extra_aggs}
      FROM ev GROUP BY session{having}),
pa AS (SELECT ev.path AS g, countIf(ev.type = 'pageview') AS pageviews, count(DISTINCT ev.visitor) AS visitors
       FROM ev {join}WHERE ev.type IN ('pageview', 'event') GROUP BY ev.path),
ea AS (SELECT e_path AS g, count(*) AS sessions, countIf(pv = 1 AND ne = 0) AS bounces, sum(dur) AS dur_sum
       FROM s WHERE pv > 0 GROUP BY e_path)
SELECT pa.g, pa.visitors, pa.pageviews, coalesce(ea.sessions, 0), coalesce(ea.bounces, 0), coalesce(ea.dur_sum, 0)
FROM pa LEFT JOIN ea ON pa.g = ea.g ORDER BY pa.visitors DESC, pa.g ASC LIMIT {limit}"""]


def breakdown_rows(results, prop: str, metrics: str) -> list[dict]:
    rows = []
    for g, vis, pv, ses, bou, dur in results[0]:
        m = session_metrics(int(pv), int(ses), int(bou), float(dur))
        m["visitors"] = int(vis)
        rows.append({prop: g, **{k: m[k] for k in metrics.split(",")}})
    return rows


# --- heatmaps ---

def click_sql(site: str, w: Window, path: str) -> list[str]:
    base = f"{w.where(site)} AND path = '{path}'"
    return [f"""
WITH c AS (SELECT CAST(floor(x / 10) * 10 AS INTEGER) AS cx, CAST(floor(y / 10) * 10 AS INTEGER) AS cy, element, text
           FROM events WHERE {base} AND type = 'click'),
cell AS (SELECT cx, cy, count(*) AS n FROM c GROUP BY cx, cy),
el AS (SELECT cx, cy, element, count(*) AS n FROM c GROUP BY cx, cy, element),
be AS (SELECT cx, cy, argMin(element, (-n, element)) AS element FROM el GROUP BY cx, cy),
tx AS (SELECT c.cx AS cx, c.cy AS cy, c.text AS text, count(*) AS n
       FROM c JOIN be ON c.cx = be.cx AND c.cy = be.cy AND c.element = be.element GROUP BY c.cx, c.cy, c.text),
bt AS (SELECT cx, cy, argMin(text, (-n, text)) AS text FROM tx GROUP BY cx, cy),
r AS (SELECT cell.cx AS cx, cell.cy AS cy, cell.n AS n, be.element AS element, bt.text AS text,
             sum(cell.n) OVER () AS total
      FROM cell JOIN be ON cell.cx = be.cx AND cell.cy = be.cy JOIN bt ON cell.cx = bt.cx AND cell.cy = bt.cy)
SELECT cx, cy, n, element, text, total FROM r ORDER BY n DESC, cy ASC, cx ASC LIMIT 1000""",
            f"SELECT count(*) FROM events WHERE {base} AND type = 'pageview'"]


def click_value(results) -> dict:
    cells, pv = results[0], results[1][0][0]
    total = int(cells[0][5]) if cells else 0
    return {"totalClicks": total, "pageviews": int(pv),
            "clicks": [{"x": int(a), "y": int(b), "count": int(n), "percentage": rhaz(100 * int(n) / total, 1),
                        "element": e, "text": t} for a, b, n, e, t, _ in cells]}


def scroll_sql(site: str, w: Window, path: str) -> list[str]:
    base = f"{w.where(site)} AND path = '{path}'"
    depths = ", ".join(f"countIf(md >= {d})" for d in range(0, 101, 10))
    return [f"""
WITH pv AS (SELECT session, ts, visitor FROM events WHERE {base} AND type = 'pageview'),
sc AS (SELECT session, ts, visitor, scroll_depth AS d FROM events WHERE {base} AND type = 'scroll'),
m AS (SELECT pv.session AS session, pv.ts AS pts, max(sc.d) AS md
      FROM sc ASOF JOIN pv ON sc.session = pv.session AND sc.ts >= pv.ts GROUP BY pv.session, pv.ts),
vm AS (SELECT visitor, max(d) AS md FROM sc GROUP BY visitor)
SELECT a.n, a.v, b.depth_sum, c.*
FROM (SELECT count(*) AS n, count(DISTINCT visitor) AS v FROM pv) AS a
CROSS JOIN (SELECT sum(md) AS depth_sum FROM m) AS b
CROSS JOIN (SELECT {depths} FROM vm) AS c"""]


def scroll_value(results) -> dict:
    r = results[0][0]
    n, v, depth_sum = int(r[0]), int(r[1]), float(r[2] or 0)
    return {"pageviews": n, "avgScrollDepth": rhaz(depth_sum / n, 1) if n else 0,
            "scrollDepth": [{"depth": d, "visitors": int(r[3 + i]), "percentage": rhaz(100 * int(r[3 + i]) / v, 1) if v else 0}
                            for i, d in enumerate(range(0, 101, 10))]}


def rage_sql(site: str, w: Window, path: str, dialect: str) -> list[str]:
    """Rage clicks (api.md §6), formulated with windows, a self-join and pointer-chasing recursion.

    For each click i of a session (in ts order, numbered rn): `lt` = the last click within 1 s of
    it (a RANGE window); its run length L = (first later click up to lt that lies > 50 px from i,
    found by a self-join, else lt + 1) − rn (a LEFT JOIN miss is 0 in ClickHouse, NULL in DuckDB:
    both read as "none"). Clicks with L ≥ 5 are candidates, kept in a temporary table (ClickHouse
    inlines CTEs, and a recursive WITH cannot hold a MATERIALIZED one). The greedy scan "episodes
    are runs of ≥ 5, the scan resumes after them" is then a chain: the first candidate of a
    session, and from each chosen episode the first candidate at or after rn + L (`nxt`, followed
    by a recursive CTE).
    """
    base = f"{w.where(site)} AND path = '{path}' AND type = 'click'"
    temp = "CREATE OR REPLACE TEMP TABLE" if dialect == "duckdb" else "CREATE TABLE"
    engine = "" if dialect == "duckdb" else " ENGINE = Memory"
    return ["DROP TABLE IF EXISTS rc", f"""{temp} rc{engine} AS
WITH c AS (SELECT session, ts, x, y, element, text, row_number() OVER (PARTITION BY session ORDER BY ts) AS rn
           FROM events WHERE {base}),
t AS (SELECT *, max(rn) OVER (PARTITION BY session ORDER BY ts RANGE BETWEEN CURRENT ROW AND 1000 FOLLOWING) AS lt FROM c),
a AS (SELECT * FROM t WHERE lt - rn >= 4),
f AS (SELECT a.session AS session, a.rn AS rn, min(b.rn) AS fail
      FROM a JOIN c AS b ON a.session = b.session
      WHERE b.rn > a.rn AND b.rn <= a.lt AND (b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y) > 2500
      GROUP BY a.session, a.rn),
r AS (SELECT a.session AS session, a.rn AS rn,
             (CASE WHEN coalesce(f.fail, 0) = 0 THEN a.lt + 1 ELSE f.fail END) - a.rn AS len,
             a.x AS x, a.y AS y, a.element AS element, a.text AS text
      FROM a LEFT JOIN f ON a.session = f.session AND a.rn = f.rn)
SELECT * FROM r WHERE len >= 5""", """
WITH RECURSIVE
nxt AS (SELECT p.session AS session, p.rn AS rn, min(q.rn) AS next_rn
        FROM rc AS p JOIN rc AS q ON p.session = q.session WHERE q.rn >= p.rn + p.len
        GROUP BY p.session, p.rn),
ep AS (SELECT session, min(rn) AS rn FROM rc GROUP BY session
       UNION ALL
       SELECT nxt.session, nxt.next_rn FROM ep JOIN nxt ON ep.session = nxt.session AND ep.rn = nxt.rn),
e AS (SELECT rc.session AS session, rc.rn AS rn, rc.len AS len, rc.x AS x, rc.y AS y,
             rc.element AS element, rc.text AS text
      FROM ep JOIN rc ON ep.session = rc.session AND ep.rn = rc.rn WHERE rc.element <> ''),
tx AS (SELECT element, text, count(*) AS n FROM e GROUP BY element, text),
bt AS (SELECT element, argMin(text, (-n, text)) AS text FROM tx GROUP BY element)
SELECT e.element, count(*) AS episodes, sum(e.len), max(e.len), avg(e.x), avg(e.y), any_value(bt.text)
FROM e JOIN bt ON e.element = bt.element GROUP BY e.element ORDER BY episodes DESC, e.element ASC"""]


def rage_value(results) -> dict:
    out = []
    for el, n, s, mx, ax, ay, text in results[-1]:
        avg = int(s) / int(n)
        out.append({"x": int(rhaz(float(ax), 0)), "y": int(rhaz(float(ay), 0)), "element": el, "text": text,
                    "count": int(n), "avgClicks": rhaz(avg, 1), "maxClicks": int(mx),
                    "severity": "high" if avg >= 10 else "medium" if avg >= 6 else "low"})
    return {"rageClicks": out}


# --- the /api/stats dashboard ---

def dashboard_sql(site: str, w: Window, dialect: str) -> list[str]:
    """The whole /api/stats body: session table once (a temporary table), then each panel."""
    temp = "CREATE OR REPLACE TEMP TABLE" if dialect == "duckdb" else "CREATE TABLE"
    engine = "" if dialect == "duckdb" else " ENGINE = Memory"
    drop = "DROP TABLE IF EXISTS"
    ev = f"events WHERE {w.where(site)}"
    entry = lambda c: f"argMin({c}, (ts, path)) FILTER (WHERE type = 'pageview') AS e_{c}"  # noqa: E731
    return [
        f"{drop} ds", f"{drop} dv",
        f"""{temp} ds{engine} AS
SELECT session, countIf(type = 'pageview') AS pv, countIf(type = 'event') AS ne, max(ts) - min(ts) AS dur,
       {entry('referrer')}, {entry('channel')}, {entry('device')}, {entry('browser')}, {entry('country')}
FROM {ev} GROUP BY session HAVING pv + ne > 0""",
        f"""{temp} dv{engine} AS
SELECT DISTINCT e.visitor AS visitor, coalesce(s.e_device, '') AS device, coalesce(s.e_browser, '') AS browser,
       CASE WHEN s.pv > 0 THEN coalesce(s.e_channel, '') ELSE 'direct' END AS channel
FROM (SELECT visitor, session FROM {ev} AND type IN ('pageview', 'event')) AS e JOIN ds AS s ON e.session = s.session""",
        f"""SELECT a.*, b.* FROM
(SELECT countIf(type = 'pageview'), countIf(type = 'event'),
        count(DISTINCT visitor) FILTER (WHERE type IN ('pageview', 'event')),
        sum(time_on_page) FILTER (WHERE type = 'engagement' AND time_on_page > 0),
        countIf(type = 'engagement' AND time_on_page > 0) FROM {ev}) AS a
CROSS JOIN (SELECT count(*), countIf(pv = 1 AND ne = 0), sum(dur) FROM ds) AS b""",
        f"""SELECT CAST(floor((ts - {w.lo}) / 86400000) AS BIGINT) AS d, countIf(type = 'pageview'),
       count(DISTINCT visitor) FILTER (WHERE type IN ('pageview', 'event'))
FROM {ev} GROUP BY d ORDER BY d""",
        f"""SELECT path, countIf(type = 'pageview') AS pvs, count(DISTINCT visitor) AS v
FROM {ev} AND type IN ('pageview', 'event') GROUP BY path ORDER BY pvs DESC, path ASC LIMIT 10""",
        """SELECT CASE WHEN pv > 0 AND coalesce(e_referrer, '') <> '' THEN e_referrer ELSE '(direct)' END AS g, count(*) AS n
FROM ds GROUP BY g ORDER BY n DESC, g ASC LIMIT 10""",
        """SELECT coalesce(e_country, '') AS g, count(*) AS n FROM ds WHERE pv > 0 AND coalesce(e_country, '') <> ''
GROUP BY g ORDER BY n DESC, g ASC LIMIT 10""",
        "SELECT device, count(*) AS n FROM dv GROUP BY device ORDER BY device",
        "SELECT browser, count(*) AS n FROM dv WHERE browser <> '' GROUP BY browser ORDER BY n DESC, browser ASC",
        "SELECT channel, count(*) AS n FROM dv GROUP BY channel ORDER BY channel",
    ]


def dashboard_value(results, w: Window) -> dict:
    (pvs, evs, vis, top_sum, top_n, ses, bou, dur), = [r for r in results[4]]
    m = session_metrics(int(pvs), int(ses), int(bou), float(dur or 0))
    labels = [(dt.date.fromisoformat(w.start) + dt.timedelta(days=i)).isoformat() for i in range((w.hi - w.lo) // 86_400_000)]
    ts = {int(d): (int(p), int(v)) for d, p, v in results[5]}
    dev = {d: int(n) for d, n in results[9] if d}
    dev_total = sum(dev.values())
    br = [(b, int(n)) for b, n in results[10]]
    br_total = sum(n for _, n in br)
    ch = {c: int(n) for c, n in results[11]}
    ch_total = sum(ch.values())
    return {
        "summary": {"pageviews": int(pvs), "uniqueVisitors": int(vis), "sessions": m["sessions"], "events": int(evs),
                    "bounceRate": m["bounce_rate"], "avgSessionDuration": m["visit_duration"],
                    "avgTimeOnPage": int(rhaz(float(top_sum or 0) / int(top_n), 0)) if int(top_n) else 0,
                    "viewsPerVisit": m["views_per_visit"]},
        "timeseries": [{"date": l, "pageviews": ts.get(i, (0, 0))[0], "uniqueVisitors": ts.get(i, (0, 0))[1]}
                       for i, l in enumerate(labels)],
        "topPages": [{"path": p, "pageviews": int(n), "uniqueVisitors": int(v)} for p, n, v in results[6]],
        "topReferrers": [{"domain": g, "visits": int(n)} for g, n in results[7]],
        "devices": {k: rhaz(100 * dev.get(k, 0) / dev_total, 1) if dev_total else 0 for k in ("desktop", "mobile", "tablet")},
        "browsers": [{"name": b, "percentage": rhaz(100 * n / br_total, 1)} for b, n in br[:10]],
        "countries": [{"code": g, "visits": int(n)} for g, n in results[8]],
        "trafficSources": {k: rhaz(100 * ch.get(k, 0) / ch_total, 1) if ch_total else 0
                           for k in ("direct", "organic", "referral", "social", "paid", "email")},
    }


def materialize(statements: list[str], names: list[str]) -> list[str]:
    """ClickHouse form of shared CTEs: it inlines a CTE at every reference (scanning `events` again
    each time) unless told `AS MATERIALIZED`; DuckDB decides that by itself, so only chDB gets this."""
    out = []
    for sql in statements:
        for n in names:
            sql = re.sub(rf"(^|\n|WITH )({n}) AS \(", rf"\1\2 AS MATERIALIZED (", sql, count=1)
        out.append(sql)
    return out


def build_queries(site: str, top_page: str) -> list[dict]:
    """The dashboard query set. Windows are UTC calendar days relative to the data's last day."""
    last = "2026-04-14"
    d = lambda n: (dt.date.fromisoformat(last) - dt.timedelta(days=n - 1)).isoformat()  # noqa: E731
    w31, w90, w1, w7, w30 = Window(d(31), last), Window(d(90), last), Window(last, last), Window(d(7), last), Window(d(30), last)
    march = Window("2026-03-01", "2026-03-31")
    qs = []

    def series(name, w, interval, note):
        sql, labels = series_sql(site, w, interval)
        qs.append({"name": name, "note": note, "kind": "stats-api",
                   "params": {"site_id": site, "period": "custom", "date_from": w.start, "date_to": w.end,
                              "metrics": SUMMARY_METRICS, "interval": interval},
                   "sql": {"duckdb": sql, "chdb": materialize(sql, ["ev"])},
                   "value": lambda r, labels=labels: series_rows(r, labels, SUMMARY_METRICS),
                   "ztas_value": lambda j: j["results"]})

    def breakdown(name, w, prop, filters=None, session_filters=None):
        if prop == "page":
            sql = page_breakdown_sql(site, w, session_filters)
            shared = ["ev", "s"] if session_filters else ["ev"]
        else:
            sql, shared = session_breakdown_sql(site, w, prop), ["ev", "sg"]
        params = {"site_id": site, "period": "custom", "date_from": w.start, "date_to": w.end,
                  "metrics": BREAKDOWN_METRICS, "property": prop}
        if filters:
            params["filters"] = filters
        qs.append({"name": name, "note": f"{w.start}..{w.end}", "kind": "stats-api", "params": params,
                   "sql": {"duckdb": sql, "chdb": materialize(sql, shared)},
                   "value": lambda r, prop=prop: breakdown_rows(r, prop, BREAKDOWN_METRICS),
                   "ztas_value": lambda j: j["results"]})

    series("summary 31d", march, "month", "2026-03-01..03-31, interval=month (1 bucket)")
    series("summary 90d", w90, "month", f"{w90.start}..{w90.end}, interval=month (4 buckets)")
    series("summary 1d", w1, "day", f"{w1.start}, interval=day (1 bucket)")
    series("daily series 31d", w31, "day", f"{w31.start}..{w31.end}, 31 buckets")
    series("hourly series 7d", w7, "hour", f"{w7.start}..{w7.end}, 168 buckets")
    breakdown("top pages 31d", w31, "page")
    breakdown("sources 31d", w31, "source")
    breakdown("channels 31d", w31, "channel")
    breakdown("countries 31d", w31, "country")
    breakdown("devices 31d", w31, "device")
    breakdown("browsers 31d", w31, "browser")
    breakdown("pages, country==US;device==mobile 31d", w31, "page", filters="country==US;device==mobile",
              session_filters={"country": "US", "device": "mobile"})

    hm = {"siteId": site, "startDate": w31.start, "endDate": w31.end, "path": top_page}
    q = click_sql(site, w31, top_page)
    qs.append({"name": "click heatmap 31d", "note": f"path {top_page}", "kind": "heatmap", "heatmap": "click",
               "params": {**hm, "type": "click"}, "sql": {"duckdb": q, "chdb": materialize(q, ["c", "be"])}, "value": click_value,
               "ztas_value": lambda j: {k: j[k] for k in ("totalClicks", "pageviews", "clicks")}})
    q = click_sql(site, w90, top_page)
    qs.append({"name": "click heatmap 90d", "note": f"path {top_page}", "kind": "heatmap", "heatmap": "click",
               "params": {**hm, "startDate": w90.start, "endDate": w90.end, "type": "click"},
               "sql": {"duckdb": q, "chdb": materialize(q, ["c", "be"])}, "value": click_value,
               "ztas_value": lambda j: {k: j[k] for k in ("totalClicks", "pageviews", "clicks")}})
    q = scroll_sql(site, w31, top_page)
    qs.append({"name": "scroll depth 31d", "note": f"path {top_page}", "kind": "heatmap", "heatmap": "scroll",
               "params": {**hm, "type": "scroll"}, "sql": {"duckdb": q, "chdb": materialize(q, ["pv", "sc"])}, "value": scroll_value,
               "ztas_value": lambda j: {k: j[k] for k in ("pageviews", "avgScrollDepth", "scrollDepth")}})
    qs.append({"name": "rage clicks 90d", "note": f"path {top_page}", "kind": "heatmap", "heatmap": "rage-clicks",
               "params": {"siteId": site, "startDate": w90.start, "endDate": w90.end, "path": top_page},
               "sql": {"duckdb": rage_sql(site, w90, top_page, "duckdb"), "chdb": materialize(rage_sql(site, w90, top_page, "chdb"), ["c"])},
               "value": rage_value,
               "ztas_value": lambda j: {"rageClicks": j["rageClicks"]}})
    qs.append({"name": "dashboard /api/stats 30d", "note": f"{w30.start}..{w30.end}", "kind": "dashboard",
               "params": {"siteId": site, "startDate": w30.start, "endDate": w30.end},
               "sql": {"duckdb": dashboard_sql(site, w30, "duckdb"), "chdb": dashboard_sql(site, w30, "chdb")},
               "value": lambda r, w=w30: dashboard_value(r, w), "ztas_value": None})
    return qs


# --- goals and funnels (api.md §7.5, §7.6; issue 10 "Performance") ---

def conversion_choice(duck: "DuckPeer", site: str, w: Window) -> dict:
    """Picks a goal and a funnel that exist in the generated data (Sources/ZTAWorkloads): the
    goal = pageviews whose path contains the most viewed first path segment (`/blog/` on the
    product site); the funnel = the most viewed page → the second → custom event `Signup` (every
    site has the catalogue's custom events) → the third most viewed page, 1 h window."""
    seg = duck.run(f"SELECT regexp_extract(path, '^/[^/]+/') AS p FROM events WHERE {w.where(site)} AND type = 'pageview' "
                   "AND p <> '' GROUP BY p ORDER BY count(*) DESC, p LIMIT 1")[0][0]
    top = [r[0] for r in duck.run(f"SELECT path FROM events WHERE {w.where(site)} AND type = 'pageview' "
                                  "GROUP BY path ORDER BY count(*) DESC, path LIMIT 3")]
    return {"goal_contains": seg, "steps": [("pageview", top[0]), ("pageview", top[1]), ("event", "Signup"), ("pageview", top[2])],
            "window_s": 3600}


def sq(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def goal_sql(site: str, w: Window, needle: str, dialect: str) -> list[str]:
    """The whole §7.5 answer (totals, daily series, sources, pages) in one statement: four
    groupings over the window's pageview/event rows; top-10 ordering is done by the caller."""
    if dialect == "duckdb":
        c = f"type = 'pageview' AND contains(path, {sq(needle)})"
        day = f"CAST((ts - {w.lo}) // 86400000 AS VARCHAR)"
        cnt, dist = "count(*) FILTER (WHERE c)", "count(DISTINCT visitor) FILTER (WHERE c)"
        allv = "count(DISTINCT visitor)"
        entry = "arg_min(referrer, (ts, path)) FILTER (WHERE type = 'pageview')"
        mat = ""
    else:
        c = f"type = 'pageview' AND position(path, {sq(needle)}) > 0"
        day = f"toString(intDiv(ts - {w.lo}, 86400000))"
        cnt, dist = "countIf(c)", "uniqExactIf(visitor, c)"
        allv = "uniqExact(visitor)"
        entry = "argMinIf(referrer, (ts, path), type = 'pageview')"
        mat = " MATERIALIZED"
    return [f"""
WITH ev AS{mat} (SELECT ts, type, visitor, session, path, referrer, {c} AS c, {day} AS d
            FROM events WHERE {w.where(site)} AND type IN ('pageview', 'event')),
se AS{mat} (SELECT session, {entry} AS e FROM ev GROUP BY session)
SELECT 0 AS k, '' AS g, {cnt} AS n, {dist} AS cv, {allv} AS v FROM ev
UNION ALL SELECT 1, d, {cnt}, {dist}, {allv} FROM ev GROUP BY d
UNION ALL SELECT 2, CASE WHEN coalesce(se.e, '') = '' THEN '(direct)' ELSE se.e END AS src, {cnt}, {dist}, {allv}
          FROM ev JOIN se ON ev.session = se.session GROUP BY src HAVING {cnt} > 0
UNION ALL SELECT 3, path, {cnt}, {dist}, {allv} FROM ev WHERE type = 'pageview' GROUP BY path HAVING {cnt} > 0"""]


def goal_totals_sql(site: str, w: Window, needle: str, dialect: str) -> list[str]:
    """Only the totals of the goal (completions, unique completions, visitors): a reference for
    how much of the peers' time the daily series and top lists take."""
    if dialect == "duckdb":
        c = f"type = 'pageview' AND contains(path, {sq(needle)})"
        return [f"SELECT count(*) FILTER (WHERE {c}), count(DISTINCT visitor) FILTER (WHERE {c}), count(DISTINCT visitor) "
                f"FROM events WHERE {w.where(site)} AND type IN ('pageview', 'event')"]
    c = f"type = 'pageview' AND position(path, {sq(needle)}) > 0"
    return [f"SELECT countIf({c}), uniqExactIf(visitor, {c}), uniqExact(visitor) "
            f"FROM events WHERE {w.where(site)} AND type IN ('pageview', 'event')"]


def goal_totals_value(results) -> dict:
    n, cv, v = (int(x) for x in results[0][0])
    return {"completions": n, "uniqueCompletions": cv, "conversionRate": goal_rate(cv, v)}


def goal_rate(completers, visitors) -> float:
    return rhaz(100 * completers / visitors, 1) if visitors else 0


def goal_value(results, w: Window) -> dict:
    """The comparable part of GET /api/goals/{id}/stats from the peers' groupings."""
    rows = [(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in results[0]]
    tot = next(r for r in rows if r[0] == 0)
    days = {int(r[1]): r for r in rows if r[0] == 1}
    n_days = (w.hi - w.lo) // 86_400_000

    def top(k):
        g = sorted((r for r in rows if r[0] == k), key=lambda r: (-r[2], r[1].encode()))[:10]
        return [{"label": r[1], "completions": r[2], "conversionRate": goal_rate(r[3], r[4])} for r in g]
    return {"completions": tot[2], "uniqueCompletions": tot[3], "conversionRate": goal_rate(tot[3], tot[4]),
            "timeseries": [{"date": (dt.date.fromisoformat(w.start) + dt.timedelta(days=i)).isoformat(),
                            "completions": days[i][2] if i in days else 0,
                            "conversionRate": goal_rate(days[i][3], days[i][4]) if i in days else 0} for i in range(n_days)],
            "topSources": top(2), "topPages": top(3)}


def ztas_goal_value(j: dict) -> dict:
    s = j["stats"]
    return {"completions": s["completions"], "uniqueCompletions": s["uniqueCompletions"], "conversionRate": s["conversionRate"],
            "timeseries": [{"date": d["date"], "completions": d["completions"], "conversionRate": d["conversionRate"]} for d in j["timeseries"]],
            "topSources": [{"label": r["source"], "completions": r["completions"], "conversionRate": r["conversionRate"]} for r in j["topSources"]],
            "topPages": [{"label": r["path"], "completions": r["completions"], "conversionRate": r["conversionRate"]} for r in j["topPages"]]}


def step_cond(kind: str, v: str) -> str:
    return f"(type = 'pageview' AND path = {sq(v)})" if kind == "pageview" else f"(type = 'event' AND name = {sq(v)})"


def funnel_duckdb_sql(site: str, w: Window, steps: list, window_s: int) -> list[str]:
    """api.md §7.6 "Precisely", per visitor: rows in tie order (ts, type, path, name; session
    last) numbered once; from every step-1 match an ASOF join takes the first later step-2 match,
    from it the first later step-3 match, …, each kept only while ts < step-1 ts + window. The
    depth of a visitor = the longest of these runs; visitors per step = depth ≥ k."""
    W = window_s * 1000
    n = len(steps)
    conds = [step_cond(k, v) for k, v in steps]
    flags = ", ".join(f"{c} AS c{i + 1}" for i, c in enumerate(conds))
    ctes = [f"""m AS (SELECT visitor, ts, {flags},
        row_number() OVER (PARTITION BY visitor ORDER BY ts, type = 'event', path, name, session) AS rn
      FROM events WHERE {w.where(site)} AND ({' OR '.join(conds)}))"""]
    for i in range(1, n + 1):
        ctes.append(f"s{i} AS (SELECT visitor, rn, ts FROM m WHERE c{i})")
    ctes.append("j1 AS (SELECT visitor, ts AS t0, rn AS r1 FROM s1)")
    for i in range(2, n + 1):
        prev = ", ".join(f"a.r{k}" for k in range(2, i))
        ctes.append(f"""j{i} AS (SELECT a.visitor, a.t0, a.r1{', ' + prev if prev else ''}, CASE WHEN b.ts < a.t0 + {W} THEN b.rn END AS r{i}
      FROM j{i - 1} a ASOF LEFT JOIN s{i} b ON a.visitor = b.visitor AND a.r{i - 1} < b.rn)""")
    depth = " + ".join(["1"] + [f"CAST(r{i} IS NOT NULL AS INTEGER)" for i in range(2, n + 1)])
    ctes.append(f"v AS (SELECT visitor, max({depth}) AS depth FROM j{n} GROUP BY visitor)")
    return ["WITH " + ",\n".join(ctes) + "\nSELECT depth, count(*) FROM v GROUP BY depth ORDER BY depth"]


def funnel_chdb_sql(site: str, w: Window, steps: list, window_s: int) -> list[str]:
    """ClickHouse `windowFunnel` (default mode) per visitor. Its window is inclusive (ts ≤ first
    + window); the spec's is strict, so on integer ms it gets window − 1 ms."""
    conds = [step_cond(k, v) for k, v in steps]
    return [f"""
SELECT level, count() FROM (
  SELECT visitor, windowFunnel({window_s * 1000 - 1})(toUInt64(ts), {', '.join(conds)}) AS level
  FROM events WHERE {w.where(site)} AND ({' OR '.join(conds)})
  GROUP BY visitor)
GROUP BY level ORDER BY level"""]


def funnel_value(results, n: int) -> dict:
    by = {int(r[0]): int(r[1]) for r in results[0]}
    return {"visitors": [sum(c for d, c in by.items() if d >= k) for k in range(1, n + 1)]}


def conversion_queries(site: str, choice: dict) -> list[dict]:
    last = "2026-04-14"
    w31 = Window((dt.date.fromisoformat(last) - dt.timedelta(days=30)).isoformat(), last)
    params = {"siteId": site, "startDate": w31.start, "endDate": w31.end}
    needle = choice["goal_contains"]
    steps, ws = choice["steps"], choice["window_s"]
    n = len(steps)
    zsteps = [({"type": "pageview", "path": v, "matchType": "exact"} if k == "pageview" else {"type": "event", "eventAction": v})
              for k, v in steps]
    return [
        {"name": "goal stats 31d", "note": f"pageview goal, path contains `{needle}`", "kind": "goal-stats",
         "params": params, "goal": {"type": "pageview", "path": needle, "matchType": "contains"},
         "sql": {"duckdb": goal_sql(site, w31, needle, "duckdb"), "chdb": goal_sql(site, w31, needle, "chdb")},
         "value": lambda r, w=w31: goal_value(r, w), "ztas_value": ztas_goal_value,
         "peers": {"duckdb": "one statement: totals, days, entry sources, pages (count distinct)",
                   "chdb": "same SQL (uniqExactIf / argMinIf, MATERIALIZED CTEs)"}},
        {"name": "goal totals 31d (reference)", "note": "same ztas call; the peers compute only completions, unique completions, visitors",
         "kind": "goal-stats", "params": params, "goal": {"type": "pageview", "path": needle, "matchType": "contains"},
         "sql": {"duckdb": goal_totals_sql(site, w31, needle, "duckdb"), "chdb": goal_totals_sql(site, w31, needle, "chdb")},
         "value": goal_totals_value, "ztas_value": lambda j: {k: j["stats"][k] for k in ("completions", "uniqueCompletions", "conversionRate")},
         "peers": {"duckdb": "totals only", "chdb": "totals only"}},
        {"name": "funnel 4 steps 31d", "note": " → ".join(f"{k} {v}" for k, v in steps) + f", window {ws // 60} min",
         "kind": "funnel-stats", "params": params, "funnel": {"timeWindow": ws, "steps": zsteps},
         "sql": {"duckdb": funnel_duckdb_sql(site, w31, steps, ws), "chdb": funnel_chdb_sql(site, w31, steps, ws)},
         "value": lambda r, n=n: funnel_value(r, n),
         "ztas_value": lambda j: {"visitors": [s["visitors"] for s in j["steps"]]},
         "peers": {"duckdb": "spec's analysis: row_number + chained ASOF joins",
                   "chdb": "windowFunnel(3599999) per visitor"}},
    ]


def conversion_phase(args, work: Path, site: str, runs: int) -> dict:
    """Times the goal and funnel queries on the three engines (ztas through `ztas bench`, which
    calls QueryEngine.goalStats / funnelStats and renders the endpoint's JSON) and compares the
    answers: ztas vs DuckDB for the goal (totals, series, top lists) and the funnel (visitors per
    step), chDB's windowFunnel vs the spec's numbers."""
    zdir = work / "ztas"
    duck = DuckPeer(work / "duck.db", read_only=True)
    ch = ChPeer(work / "chdb")
    w31 = Window("2026-03-15", "2026-04-14")
    choice = conversion_choice(duck, site, w31)
    queries = conversion_queries(site, choice)
    print(f"[conversions] goal: path contains {choice['goal_contains']!r}; funnel: {choice['steps']}", flush=True)
    load_before = os.getloadavg()[0]
    out = []
    for q in queries:
        z = ztas_bench(args, zdir, {**q, "answer": True}, work, runs)
        d = peer_time(duck, q["sql"]["duckdb"], q["value"], runs)
        c = peer_time(ch, q["sql"]["chdb"], q["value"], runs)
        cell = lambda r: f"{r['median_ms']:.1f}" if "median_ms" in r else f"error: {r['error']}"  # noqa: E731
        print(f"  {q['name']:40} {cell(z):>9} / {cell(d):>9} / {cell(c):>9}", flush=True)
        zv = q["ztas_value"](z["answer"]) if "answer" in z else None
        diffs = {"ztas_vs_duckdb": differences(zv, d["value"]) if zv is not None and "value" in d else ["no answer"],
                 "chdb_vs_duckdb": differences(c["value"], d["value"]) if "value" in c and "value" in d else ["no answer"]}
        for who, dl in diffs.items():
            for line in dl[:5]:
                print(f"  DIFF {who}, {q['name']}: {line}")
        out.append({"name": q["name"], "note": q["note"], "peers": q["peers"],
                    "ztas_ms": z.get("median_ms"), "ztas_min_ms": z.get("min_ms"), "ztas_error": z.get("error"),
                    "duckdb_ms": d.get("median_ms"), "duckdb_min_ms": d.get("min_ms"), "duckdb_error": d.get("error"),
                    "chdb_ms": c.get("median_ms"), "chdb_min_ms": c.get("min_ms"), "chdb_error": c.get("error"),
                    "values": {"ztas": zv, "duckdb": d.get("value"), "chdb": c.get("value")}, "differences": diffs,
                    "sql": q["sql"]})
    load_after = os.getloadavg()[0]
    duck.con.close()
    return {"site": site, "choice": choice, "queries": out, "loadavg": [round(load_before, 1), round(load_after, 1)],
            "duckdb": DuckPeer.version(), "chdb": ChPeer.version()}


def conversion_markdown(cv: dict, runs: int) -> str:
    L = ["## Goals and funnels (issue 10)\n"]
    L.append(f"Site `{cv['site']}`, 31 days (2026-03-15..2026-04-14), median of {runs} warm runs after one warm-up; "
             f"load average before/after {cv['loadavg'][0]} / {cv['loadavg'][1]}. {cv['duckdb']}; {cv['chdb']}.\n")
    L.append("| query | ztas ms | DuckDB ms | chDB ms | ztas / DuckDB | ztas / chDB | target | answers (ztas vs DuckDB; chDB vs DuckDB) |")
    L.append("|---|---:|---:|---:|---:|---:|---|---|")
    for r in cv["queries"]:
        def ratio(p):
            return f"{r['ztas_ms'] / r[p]:.2f}" if r.get("ztas_ms") and r.get(p) else "—"
        zd = r["ztas_ms"] / r["duckdb_ms"] if r.get("ztas_ms") and r.get("duckdb_ms") else None
        zc = r["ztas_ms"] / r["chdb_ms"] if r.get("ztas_ms") and r.get("chdb_ms") else None
        if "reference" in r["name"]:
            target = "(reference, no target)"
        elif r["name"].startswith("goal"):
            target = "≤ 0.5 × DuckDB: " + ("met" if zd is not None and zd <= 0.5 else "**missed**")
        else:
            ok = zd is not None and zc is not None and zd <= 0.5 and zc <= 0.5
            target = "≤ 0.5 × chDB and DuckDB: " + ("met" if ok else "**missed**")
        m = " ; ".join(mark(r["differences"][k]) for k in ("ztas_vs_duckdb", "chdb_vs_duckdb"))
        L.append(f"| {r['name']} ({r['note']}) | {fmt_ms(r['ztas_ms'])} | {fmt_ms(r['duckdb_ms'])} | {fmt_ms(r['chdb_ms'])} | "
                 f"{ratio('duckdb_ms')} | {ratio('chdb_ms')} | {target} | {m} |")
    L.append("")
    L.append("Fastest of the runs (ms): " + "; ".join(
        f"{r['name']}: ztas {fmt_ms(r['ztas_min_ms'])}, DuckDB {fmt_ms(r['duckdb_min_ms'])}, chDB {fmt_ms(r['chdb_min_ms'])}"
        for r in cv["queries"]) + ".\n")
    for r in cv["queries"]:
        v = r["values"]
        if "reference" in r["name"]:
            pass
        elif r["name"].startswith("goal"):
            L.append(f"Goal answer: " + "; ".join(
                f"{k} completions {x['completions']}, unique {x['uniqueCompletions']}, rate {x['conversionRate']}"
                for k, x in (("ztas", v["ztas"]), ("DuckDB", v["duckdb"]), ("chDB", v["chdb"])) if x) + ".\n")
        else:
            L.append("Funnel visitors per step:\n")
            L.append("| engine | " + " | ".join(f"step {i + 1}" for i in range(len(cv['choice']['steps']))) + " |")
            L.append("|---|" + "---:|" * len(cv["choice"]["steps"]))
            for k, label in (("ztas", "ztas (api.md §7.6)"), ("duckdb", "DuckDB (§7.6 in SQL)"), ("chdb", "chDB windowFunnel")):
                if v.get(k):
                    L.append(f"| {label} | " + " | ".join(str(x) for x in v[k]["visitors"]) + " |")
            L.append("")
        for k, dl in r["differences"].items():
            if dl:
                L.append(f"Differences {k} ({r['name']}): " + "; ".join(dl[:8]) + "\n")
    return "\n".join(L) + "\n"


def ztas_cli_answer(args, zdir: Path, q: dict) -> dict | None:
    """What the ztas CLI prints for a query (stats-api and heatmaps; the dashboard has no CLI)."""
    p = q["params"]
    if q["kind"] == "stats-api":
        cmd = [args.ztas, "query", "--data", str(zdir), "--site", p["site_id"], "--from", p["date_from"],
               "--to", p["date_to"], "--metrics", p["metrics"]]
        for k in ("property", "filters", "interval"):
            if k in p:
                cmd += [f"--{k}", p[k]]
    elif q["kind"] == "heatmap":
        cmd = [args.ztas, "heatmap", "--data", str(zdir), "--site", p["siteId"], "--path", p["path"],
               "--type", q["heatmap"], "--from", p["startDate"], "--to", p["endDate"]]
    else:
        return None
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def differences(a, b, path="", out=None, limit=20) -> list[str]:
    """Where two JSON-like values differ (numbers within 1e-6), up to `limit` places."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                out.append(f"{path}.{k}: missing on the right")
            else:
                differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, f"{path}[{i}]", out, limit)
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} vs {len(b)} items")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if abs(a - b) > 1e-6:
            out.append(f"{path}: {a} vs {b}")
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")
    return out


def mark(diffs: list[str]) -> str:
    """`=` same answer; `≈` only bucket labels (`date`) differ; `≠` otherwise."""
    if not diffs:
        return "="
    return "≈" if all(".date:" in d for d in diffs) else "≠"


# ---------------------------------------------------------------------------------------------
# Running


def ztas_bench(args, zdir: Path, q: dict, work: Path, runs: int) -> dict:
    """Times one query with `ztas bench` (in-process: one warm-up, then `runs` runs)."""
    e = {"name": q["name"], "kind": q["kind"], "params": q["params"]}
    for k in ("heatmap", "goal", "funnel", "answer"):
        if k in q:
            e[k] = q[k]
    qfile = work / "query.json"
    qfile.write_text(json.dumps([e], indent=1))
    p = subprocess.run([args.ztas, "bench", "--data", str(zdir), "--queries", str(qfile), "--runs", str(runs)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": p.stderr.strip()[-300:]}
    return json.loads(p.stdout[p.stdout.index("["):])[0]


def peer_time(peer: Peer, stmts: list[str], value, runs: int) -> dict:
    try:
        times, res = timed_runs(lambda: peer.run_all(stmts), runs)
        return {"median_ms": statistics.median(times), "min_ms": times[0], "value": value(res)}
    except Exception as e:  # a peer failing one query must not hide the others
        return {"error": str(e).splitlines()[0][:300]}


def time_queries(args, zdir: Path, work: Path, duck: Peer, ch: Peer, queries: list[dict], runs: int) -> dict[str, dict]:
    """Times every query on the three engines, one query at a time (ztas, DuckDB, chDB in turn),
    so that load from elsewhere on the machine falls on all three alike."""
    out = {}
    print(f"[queries] {len(queries)} queries, median of {runs} runs after a warm-up; ms = ztas / DuckDB / chDB", flush=True)
    for q in queries:
        z = ztas_bench(args, zdir, q, work, runs)
        d = peer_time(duck, q["sql"]["duckdb"], q["value"], runs)
        c = peer_time(ch, q["sql"]["chdb"], q["value"], runs)
        out[q["name"]] = {"ztas": z, "duckdb": d, "chdb": c}
        cell = lambda r: f"{r['median_ms']:.1f}" if "median_ms" in r else f"error: {r['error']}"  # noqa: E731
        print(f"  {q['name']:40} {cell(z):>9} / {cell(d):>9} / {cell(c):>9}", flush=True)
    return out


def fmt_ms(v) -> str:
    if v is None:
        return "—"
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def markdown(report: dict) -> str:
    L = []
    meta = report["meta"]
    L.append(f"# ztas vs DuckDB vs chDB — {meta['rows']:,} events ({meta.get('profile', 'synthetic')} profile)\n")
    L.append(f"Run {meta['date']} on {meta['machine']}; site `{meta['site']}` ({meta['site_rows']:,} events), "
             f"top page `{meta['top_page']}`; median of {meta['runs']} warm runs after one warm-up.  ")
    L.append(f"Peers: {meta['duckdb']}; {meta['chdb']}.  ")
    L.append(f"1-minute load average of the machine (shared with other work) before/after the queries: "
             f"{meta['loadavg'][0]} / {meta['loadavg'][1]}.\n")
    load = report.get("load")
    if load:
        n = load["rows"]
        L.append("## Load (NDJSON → native storage)\n")
        L.append("| engine | seconds | M rows/s | storage bytes | bytes/event |")
        L.append("|---|---:|---:|---:|---:|")
        for k, label in (("ztas", "ztas import"), ("duckdb", "DuckDB CREATE TABLE AS read_json + CHECKPOINT"),
                         ("chdb", "chDB INSERT … file(JSONEachRow) → MergeTree")):
            e = load[k]
            L.append(f"| {label} | {e['seconds']:.1f} | {n / e['seconds'] / 1e6:.2f} | {e['bytes']:,} | {e['bytes'] / n:.1f} |")
        if "peak_rss_mb" in load["ztas"]:
            z = load["ztas"]
            L.append(f"\nztas import is timed as a whole process (start to exit): {z['cpu_seconds']:.1f} CPU-s, peak RSS {z['peak_rss_mb']:.0f} MB.")
        small = report.get("import_1m")
        if small:
            z, d = small["ztas"], small["duckdb"]
            L.append(f"\nFirst {small['lines']:,} lines: ztas import {z['seconds']:.2f} s (whole process, {small['lines'] / z['seconds'] / 1e6:.2f} M lines/s, "
                     f"peak RSS {z['peak_rss_mb']:.0f} MB), DuckDB read_json + CHECKPOINT {d['seconds']:.2f} s ({d['seconds'] / z['seconds']:.2f}× ztas's time).")
        c = load["chdb"]
        L.append(f"\nchDB storage is after `OPTIMIZE TABLE events FINAL` ({c['optimize_seconds']:.1f} s, not in the load time); "
                 f"straight after the insert it held {c['parts_before_optimize']} parts, {c['bytes_before_optimize'] / n:.1f} B/event.\n")
    ing = report.get("ingest")
    if ing and "eventsPerSecond" in ing:
        L.append("## Durable ingest (ztas WAL, group commit)\n")
        L.append("| events | batch | writers | seconds | events/s |")
        L.append("|---:|---:|---:|---:|---:|")
        L.append(f"| {ing['events']:,} | 100 | {ing['writers']} | {ing['seconds']:.2f} | {ing['eventsPerSecond']:,} |\n")
    L.append("## Queries (ms, lower is better)\n")
    L.append("| query | window | ztas ms | DuckDB ms | chDB ms | best peer / ztas | answers |")
    L.append("|---|---|---:|---:|---:|---:|---|")
    for r in report["queries"]:
        peers = [v for v in (r["duckdb_ms"], r["chdb_ms"]) if v is not None]
        ratio = f"{min(peers) / r['ztas_ms']:.1f}×" if peers and r["ztas_ms"] else "—"
        L.append(f"| {r['name']} | {r['note']} | {fmt_ms(r['ztas_ms'])} | {fmt_ms(r['duckdb_ms'])} | {fmt_ms(r['chdb_ms'])} | {ratio} | {r['check']} |")
    L.append("\n`answers`: ztas CLI vs DuckDB, then chDB vs DuckDB: `=` same answer, `≈` only bucket labels differ, "
             "`≠` differs (details in latest.json), `·` not compared (the dashboard has no CLI form).\n")
    if all(r.get("duckdb_min_ms") is not None and r.get("ztas_min_ms") is not None for r in report["queries"]):
        L.append("Fastest of the runs (less sensitive to load from elsewhere on a shared machine):\n")
        L.append("| query | ztas min ms | DuckDB min ms | chDB min ms | best peer / ztas |")
        L.append("|---|---:|---:|---:|---:|")
        for r in report["queries"]:
            peers = [v for v in (r["duckdb_min_ms"], r.get("chdb_min_ms")) if v is not None]
            ratio = f"{min(peers) / r['ztas_min_ms']:.1f}×" if peers and r["ztas_min_ms"] else "—"
            L.append(f"| {r['name']} | {fmt_ms(r['ztas_min_ms'])} | {fmt_ms(r['duckdb_min_ms'])} | {fmt_ms(r.get('chdb_min_ms'))} | {ratio} |")
        L.append("")
    cs = report.get("summary_check")
    if cs:
        L.append("## Cross-check: 31-day summary\n")
        L.append("| engine | visitors | pageviews | sessions | bounce_rate | visit_duration | views_per_visit |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for k in ("ztas", "DuckDB", "chDB"):
            v = cs.get(k)
            if v:
                L.append(f"| {k} | {v['visitors']} | {v['pageviews']} | {v['sessions']} | {v['bounce_rate']} | {v['visit_duration']} | {v['views_per_visit']} |")
        L.append(f"\n{cs['verdict']}\n")
    sc = report.get("scale")
    if sc:
        L.append("## Time follows the data\n")
        L.append(f"Same queries on {sc['rows_big']:,} events over {sc['days_big']} days (same daily volume, 5× the history):\n")
        bl = report.get("scale_load")
        if bl:
            n = bl["rows"]
            L.append("Loading them: " + "; ".join(
                f"{label} {bl[k]['seconds']:.0f} s ({n / bl[k]['seconds'] / 1e6:.2f} M rows/s, {bl[k]['bytes'] / n:.1f} B/event)"
                for k, label in (("ztas", "ztas"), ("duckdb", "DuckDB"), ("chdb", "chDB"))) + ".\n")
        L.append("| query | ztas ms (N) | ztas ms (5N) | DuckDB ms (N) | DuckDB ms (5N) | chDB ms (N) | chDB ms (5N) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in sc["queries"]:
            L.append(f"| {r['name']} | {fmt_ms(r['ztas_ms'])} | {fmt_ms(r['ztas_ms_5n'])} | {fmt_ms(r['duckdb_ms'])} | "
                     f"{fmt_ms(r['duckdb_ms_5n'])} | {fmt_ms(r['chdb_ms'])} | {fmt_ms(r['chdb_ms_5n'])} |")
        L.append("")
    return "\n".join(L) + "\n"


def query_phase(args, work: Path, site: str, runs: int, verify: bool, only: set[str] | None = None) -> tuple[list, dict, dict]:
    """Runs the query set on the stores in `work`; returns (rows, summary check, meta)."""
    zdir = work / "ztas"
    duck = DuckPeer(work / "duck.db", read_only=True)
    ch = ChPeer(work / "chdb")
    w31 = Window("2026-03-15", "2026-04-14")
    top = duck.run(f"SELECT path FROM events WHERE {w31.where(site)} AND type = 'pageview' "
                   "GROUP BY path ORDER BY count(*) DESC, path ASC LIMIT 1")[0][0]
    site_rows = duck.run(f"SELECT count(*) FROM events WHERE site = '{site}'")[0][0]
    queries = build_queries(site, top)
    if only:
        queries = [q for q in queries if q["name"] in only]
    load_before = os.getloadavg()[0]
    timed = time_queries(args, zdir, work, duck, ch, queries, runs)
    load_after = os.getloadavg()[0]
    rows, summary = [], None
    for q in queries:
        n = q["name"]
        z, d, c = timed[n]["ztas"], timed[n]["duckdb"], timed[n]["chdb"]
        check = "·"
        zv = None
        diffs: dict[str, list[str]] = {}
        if verify:
            marks = []
            if q["ztas_value"] is not None:
                ans = ztas_cli_answer(args, zdir, q)
                if ans is None or "error" in ans:
                    diffs["ztas"] = [ans.get("error") if ans else "no answer"]
                    marks.append("err")
                else:
                    zv = q["ztas_value"](ans)
                    diffs["ztas"] = differences(zv, d["value"]) if "value" in d else ["DuckDB failed"]
                    marks.append(mark(diffs["ztas"]))
            else:
                marks.append("·")
            if "value" in d and "value" in c:
                diffs["chdb"] = differences(d["value"], c["value"])
                marks.append(mark(diffs["chdb"]))
            else:
                marks.append("err")
            for who, dl in diffs.items():
                for line in dl[:5]:
                    print(f"  DIFF {'ztas' if who == 'ztas' else 'chDB'} vs DuckDB, {n}: {line}")
            check = " ".join(marks)
        if n == "summary 31d":
            summary = {"ztas": zv[0] if zv else None, "DuckDB": d.get("value", [None])[0], "chDB": c.get("value", [None])[0]}
        rows.append({"name": n, "note": q["note"], "ztas_ms": z.get("median_ms"), "ztas_min_ms": z.get("min_ms"),
                     "ztas_p90_ms": z.get("p90_ms"), "duckdb_ms": d.get("median_ms"), "chdb_ms": c.get("median_ms"),
                     "duckdb_min_ms": d.get("min_ms"), "chdb_min_ms": c.get("min_ms"),
                     "ztas_error": z.get("error"), "duckdb_error": d.get("error"), "chdb_error": c.get("error"), "check": check,
                     "differences": diffs})
    meta = {"site": site, "top_page": top, "site_rows": site_rows, "duckdb": duck.settings(), "chdb": ch.settings(),
            "loadavg": [round(load_before, 1), round(load_after, 1)]}
    duck.con.close()
    return rows, summary, meta


def summary_verdict(s: dict | None) -> dict | None:
    if not s:
        return None
    z, d = s.get("ztas"), s.get("DuckDB")
    if not z or not d:
        s["verdict"] = "**CROSS-CHECK INCOMPLETE**: an engine gave no 31-day summary."
    else:
        bad = [k for k in ("pageviews", "visitors", "sessions") if z[k] != d[k]]
        s["verdict"] = ("pageviews, visitors and sessions agree between ztas and DuckDB." if not bad else
                        f"**MISMATCH between ztas and DuckDB in {', '.join(bad)}**")
    return s


def generate_data(args) -> Path:
    """`ztas generate --profile P --rows N --seed 42 --sites 3 --days 90` into Benchmarks/data/,
    reusing a file newer than the ztas binary."""
    data = HERE / "data"
    data.mkdir(parents=True, exist_ok=True)
    f = data / f"events-{args.profile}-{args.rows}.ndjson"
    if f.exists() and f.stat().st_size > 0 and f.stat().st_mtime > Path(args.ztas).stat().st_mtime:
        print(f"reusing {f}", flush=True)
        return f
    print(f"generating {args.rows:,} {args.profile} events → {f}", flush=True)
    tmp = f.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        subprocess.run([args.ztas, "generate", "--profile", args.profile, "--rows", str(args.rows), "--seed", "42",
                        "--sites", "3", "--days", "90"], stdout=out, check=True)
    tmp.rename(f)
    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ztas", default=str(HERE.parent / ".build" / "release" / "ztas"))
    ap.add_argument("--data", help="the generated NDJSON file (default: generate --rows lines of --profile "
                                   "into Benchmarks/data/events-PROFILE-ROWS.ndjson, reused while newer than --ztas)")
    ap.add_argument("--profile", choices=["synthetic", "tracked"], default="synthetic",
                    help="data shape passed to `ztas generate --profile` (tracked: sparse lines shaped like "
                         "conformance/events.ndjson.gz); also names the default --work and --out")
    ap.add_argument("--rows", type=int, default=10_000_000, help="lines to generate when --data is not given")
    ap.add_argument("--work", help="where the three stores go (default: Benchmarks/data/work, work-tracked for --profile tracked)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--site", help="site to query (default: the biggest in the file)")
    ap.add_argument("--ingest-lines", type=int, default=1_000_000)
    ap.add_argument("--skip-load", action="store_true", help="reuse the stores already in --work")
    ap.add_argument("--no-verify", action="store_true", help="skip the answer cross-checks")
    ap.add_argument("--only", choices=["all", "dashboard", "conversions", "heatmaps"], default="all",
                    help="conversions: only the goal / funnel comparison (issue 10), written to results/conversions.{md,json}; "
                         "heatmaps: only the heatmap queries (timed and cross-checked), written to heatmaps.{md,json}; "
                         "with --skip-load nothing is reloaded")
    ap.add_argument("--scale-data", help="a 5N-row file over 5× the days: re-time a few queries on it")
    ap.add_argument("--scale-days", type=int, default=450)
    ap.add_argument("--out", help="results directory (default: Benchmarks/results, results/tracked for --profile tracked)")
    args = ap.parse_args()
    suffix = "" if args.profile == "synthetic" else f"-{args.profile}"
    args.work = args.work or str(HERE / "data" / f"work{suffix}")
    args.out = args.out or str(HERE / "results" / ("" if args.profile == "synthetic" else args.profile))

    ensure_peers()
    ndjson = Path(args.data).resolve() if args.data else generate_data(args)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    rows = sum(1 for _ in open(ndjson, "rb"))
    site = args.site or biggest_site(ndjson)
    print(f"data: {ndjson} ({rows:,} lines), site {site}", flush=True)

    report: dict = {}
    prev = Path(args.out) / "latest.json"
    if args.skip_load:
        old = json.loads(prev.read_text()) if prev.exists() else {}
        report["load"], report["ingest"], report["import_1m"] = old.get("load"), old.get("ingest"), old.get("import_1m")
        if old.get("scale_load"):
            report["scale_load"] = old["scale_load"]
    else:
        report["load"] = load_all(args, ndjson, work, rows)
        if args.only != "heatmaps":
            report["import_1m"] = import_1m(args, ndjson, work)
            report["ingest"] = ingest_bench(args, ndjson, work, args.ingest_lines)

    if args.only == "conversions":
        cv = conversion_phase(args, work, site, args.runs)
        cv["meta"] = {"rows": rows, "runs": args.runs, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      "machine": f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {platform.system()} {platform.release()}"}
        md = f"# Goals and funnels: ztas vs DuckDB vs chDB — {rows:,} events\n\nRun {cv['meta']['date']} on {cv['meta']['machine']}.\n\n" \
            + conversion_markdown(cv, args.runs)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "conversions.json").write_text(json.dumps(cv, indent=1, default=str))
        (out / "conversions.md").write_text(md)
        print("\n" + md)
        return

    if args.only == "heatmaps":
        heat = {q["name"] for q in build_queries(site, "/") if q["kind"] == "heatmap"}
        qrows, _, meta = query_phase(args, work, site, args.runs, not args.no_verify, heat)
        report = {"load": report.get("load") if not args.skip_load else None, "queries": qrows, "meta": {**meta, "profile": args.profile, "rows": rows, "runs": args.runs,
                  "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "machine": f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {platform.system()} {platform.release()}"}}
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "heatmaps.json").write_text(json.dumps(report, indent=1, default=str))
        md = markdown(report)
        (out / "heatmaps.md").write_text(md)
        print("\n" + md)
        return

    qrows, summary, meta = query_phase(args, work, site, args.runs, not args.no_verify)
    report["queries"] = qrows
    if args.only == "all":
        report["conversions"] = conversion_phase(args, work, site, args.runs)
    report["summary_check"] = summary_verdict(summary)

    if args.scale_data:
        big = Path(args.scale_data).resolve()
        bwork = work.parent / (work.name + "-5n")
        bwork.mkdir(parents=True, exist_ok=True)
        brows = sum(1 for _ in open(big, "rb"))
        print(f"[scale] {big} ({brows:,} lines)", flush=True)
        if not (args.skip_load and (bwork / "duck.db").exists()):
            report["scale_load"] = load_all(args, big, bwork, brows)
        names = {"summary 1d", "summary 31d", "top pages 31d", "dashboard /api/stats 30d"}
        big_rows, _, _ = query_phase(args, bwork, site, args.runs, False, names)
        by = {r["name"]: r for r in big_rows}
        report["scale"] = {"rows_big": brows, "days_big": args.scale_days, "queries": [
            {**{k: r[k] for k in ("name", "ztas_ms", "duckdb_ms", "chdb_ms")},
             "ztas_ms_5n": by[r["name"]]["ztas_ms"], "duckdb_ms_5n": by[r["name"]]["duckdb_ms"], "chdb_ms_5n": by[r["name"]]["chdb_ms"]}
            for r in qrows if r["name"] in by]}

    report["meta"] = {**meta, "profile": args.profile, "rows": rows, "runs": args.runs, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      "machine": f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {platform.system()} {platform.release()}"}
    md = markdown(report)
    if report.get("conversions"):
        md += "\n" + conversion_markdown(report["conversions"], args.runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "latest.md").write_text(md)
    print("\n" + md)
    if summary and "MISMATCH" in report["summary_check"]["verdict"]:
        print("!" * 80 + "\n" + report["summary_check"]["verdict"] + "\n" + "!" * 80)
        sys.exit(3)


if __name__ == "__main__":
    main()
