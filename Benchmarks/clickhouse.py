#!/usr/bin/env python3
"""ztas on its embedded store vs ztas on ClickHouse (1 server, 2-shard cluster) vs hand-written
ClickHouse SQL, on the same generated data, in one run (issue 14, performance).

    nice -n 5 python3 Benchmarks/clickhouse.py [--ztas BIN] [--events N] [--runs R] [--keep]

Steps:

1. Data: `ztas generate --profile synthetic --rows N --seed 42 --sites 3 --days 90` into
   Benchmarks/data/events-synthetic-N.ndjson (reused while newer than the binary, as run.sh does).
2. ClickHouse: `scripts/clickhouse-cluster start DIR` (two local clickhouse-server processes, the
   shards of cluster `ztas`; DIR/env names them), stopped at the end, also on failure or Ctrl-C.
3. Loads, each timed: `ztas import` of the file into an embedded data dir; then `ztas migrate
   --to` from that dir into `clickhouse://SHARD1/bench1` (one MergeTree server) and into
   `clickhouse://SHARD1/bench2?cluster=ztas&shards=SHARD1,SHARD2` (a Distributed table over both
   shards, sharded by site). `ztas import` has no ClickHouse target: `migrate` is how a file gets
   there, and it ships through the same batched writer as the outbox (ClickHouseEventWriter,
   200 k-row TabSeparated INSERTs, insert_distributed_sync on the cluster). events/s = rows /
   migrate's own seconds. Then `OPTIMIZE TABLE … FINAL` on every MergeTree (timed apart) so
   background merges do not run under the query timings, and the bytes per event: ClickHouse's
   active parts (`system.parts`, column `bytes` on 18.16) vs the embedded store's events/ dir.
4. Three `ztas serve` processes on free loopback ports (embedded dir; --events bench1; --events
   bench2), each with a registered user who owns the biggest site (a `sites` row with the
   events' site id written into meta.sqlite, as Benchmarks/http.sh does; time zone UTC).
5. The dashboard query set of Benchmarks/compare.py (build_queries: stats-api summaries, series
   and breakdowns, heatmaps, GET /api/stats) over HTTP on each server, and hand-written SQL per
   panel over ClickHouse's HTTP interface on bench1 and on bench2's Distributed `events`
   (18.16 dialect: no window functions, CTEs or ASOF JOIN; scroll depth and rage clicks have
   no hand version). Where a panel has several hand formulations, each is timed and the fastest
   is the panel's "hand" figure (the table names it). Panels run one at a time, all five targets
   in turn; each target: one warm-up, then the median of R runs (wall time of the whole
   request: for ztas the HTTP request, for hand SQL all its statements in sequence).
6. Checks: every hand answer is turned into ztas's JSON shape (compare.py's value functions)
   and compared with what ztas-on-ClickHouse answered, and the three ztas answers are compared
   with each other; any difference is printed as MISMATCH.
7. A Markdown table on stdout and in Benchmarks/results/clickhouse-<date>-<N>.md (raw numbers
   beside it in .json): per panel embedded / ztas-on-CH 1 shard / 2 shards / hand 1 / hand 2 ms
   and the ratio ztas/hand (goal ≤ 1.2), plus load throughputs and bytes per event.

Standard library only (plus compare.py from this directory for the query set and value shapes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import compare as C  # noqa: E402  (the query set, windows and value shapes of the main harness)

PASSWORD = "Bench-Password-42!"
PV, EV, ENG, CLICK = 0, 1, 2, 4   # EventType raw values (ZTAFormat/Schema.swift): type is UInt8 in ClickHouse


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------------------------------------
# ClickHouse over HTTP


class CH:
    """One ClickHouse server's HTTP interface, one keep-alive connection."""

    def __init__(self, hostport: str, database: str | None = None, settings: dict | None = None):
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.database = database
        self.settings = settings or {}
        self.conn = None

    def raw(self, sql: str) -> str:
        params = dict(self.settings)
        if self.database:
            params["database"] = self.database
        path = "/?" + urllib.parse.urlencode(params) if params else "/"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=900)
            try:
                self.conn.request("POST", path, body=sql.encode())
                r = self.conn.getresponse()
                # ztas's row statements answer RowBinary (replayed as is): not text.
                body = r.read().decode(errors="replace")
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if r.status != 200:
                raise RuntimeError(f"ClickHouse {r.status}: {body.strip()[:600]}\n  SQL: {sql.strip()[:300]}")
            return body
        raise AssertionError

    def run(self, sql: str) -> list[list[str]]:
        body = self.raw(sql.rstrip() + "\nFORMAT TabSeparated")
        return [line.split("\t") for line in body.split("\n") if line != ""]

    def run_all(self, statements: list[str]) -> list[list[list[str]]]:
        return [self.run(s) for s in statements]


def tsv_unescape(s: str) -> str:
    if "\\" not in s:
        return s
    out, i = [], 0
    m = {"t": "\t", "n": "\n", "\\": "\\", "0": "\0", "'": "'", "b": "\b", "r": "\r", "f": "\f"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(m.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# ztas serve


class Server:
    """A `ztas serve` on a free loopback port, with a user owning `site`."""

    def __init__(self, ztas: str, data: Path, events: str | None, label: str):
        self.label, self.data = label, data
        self.port = free_port()
        data.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, TRUSTED_PROXIES="127.0.0.1", RATE_LIMIT_MULTIPLIER="1000",
                   RATE_LIMIT_USER_PER_MINUTE="1000000", RATE_LIMIT_USER_PER_HOUR="10000000",
                   RATE_LIMIT_TRACK_PER_MINUTE="100000000", MAINTENANCE_INTERVAL_SECONDS="86400",
                   LOG_LEVEL="warning", JWT_SECRET="0123456789abcdef0123456789abcdef-bench")
        cmd = [ztas, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(self.port)]
        if events:
            cmd += ["--events", events]
        self.logf = open(str(data) + ".log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.conn = None
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"ztas serve ({label}) exited: {Path(str(data) + '.log').read_text()[-2000:]}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    break
            except OSError:
                self.conn = None
            time.sleep(0.1)
        else:
            raise RuntimeError(f"ztas serve ({label}) did not come up")
        self.token = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
            headers = {"Content-Type": "application/json"}
            if getattr(self, "token", None):
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                self.conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError

    def own_site(self, site: str) -> None:
        st, body = self.request("POST", "/api/auth/register", {"email": "bench@example.com", "password": PASSWORD})
        if st not in (200, 201):
            raise RuntimeError(f"register on {self.label}: {st} {body[:300]!r}")
        j = json.loads(body)
        self.token, user_id = j["token"], j["user"]["id"]
        db = sqlite3.connect(str(self.data / "meta.sqlite"), timeout=10)
        now = int(time.time() * 1000)
        db.execute("INSERT INTO sites (id, owner_id, domain, name, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, 'UTC', ?, ?)",
                   (site, user_id, site + ".example.com", site, now, now))
        db.commit()
        db.close()

    def get(self, path: str, params: dict) -> dict:
        st, body = self.request("GET", path + "?" + urllib.parse.urlencode(params))
        if st != 200:
            raise RuntimeError(f"{self.label} GET {path}: {st} {body[:300]!r}")
        return json.loads(body)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def ztas_path(q: dict) -> str:
    if q["kind"] == "stats-api":
        return "/api/stats-api"
    if q["kind"] == "dashboard":
        return "/api/stats"
    return "/api/heatmaps/rage-clicks" if q["heatmap"] == "rage-clicks" else "/api/heatmaps"


# ---------------------------------------------------------------------------------------------
# Hand-written SQL (ClickHouse 18.16 dialect), one or more formulations per panel.
#
# Each returns [(name, statements, value)], value(results) giving what q["ztas_value"] (or, for
# the dashboard, dashboard_shape) extracts from ztas's JSON. Event types are the UInt8 codes.

KEPT = f"type IN ({PV}, {EV})"


def entry(col: str) -> str:
    """The session's entry value: its first pageview by (ts, path); '' without one."""
    return f"argMinIf({col}, (ts, path), type = {PV})"


def bucket(w: C.Window, interval: str) -> str:
    """Bucket index over `ts` (UTC): the hand query knows the site's zone is UTC."""
    if interval == "hour":
        return f"intDiv(ts - {w.lo}, 3600000)"
    if interval == "day":
        return f"intDiv(ts - {w.lo}, 86400000)"
    b = C.month_bounds(w)
    if len(b) == 2:
        return "0"
    parts = ", ".join(f"ts < {x}, {i}" for i, x in enumerate(b[1:-1]))
    return f"multiIf({parts}, {len(b) - 2})"


def window_of(p: dict) -> C.Window:
    return C.Window(p.get("date_from") or p["startDate"], p.get("date_to") or p["endDate"])


def ints(r):
    return [int(x) for x in r]


def hand_series(q: dict, site: str):
    p = q["params"]
    w, interval = window_of(p), p["interval"]
    W, B = w.where(site), bucket(w, interval)
    _, labels = C.bucket_expr(w, interval)
    metrics = p["metrics"]

    def value(res):
        rows = [[int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])] for r in res[-1]]
        return C.series_rows([rows], labels, metrics)

    sess = (f"SELECT session, {B} AS b, countIf(type = {PV}) AS pv, countIf(type = {EV}) AS ne, max(ts) - min(ts) AS dur"
            "{extra} FROM events WHERE " + W + " GROUP BY session, b")
    arrays = f"""
SELECT b, uniqExactArray(vis), sum(pv), countIf(pv + ne > 0), countIf(pv = 1 AND ne = 0), sumIf(dur, pv + ne > 0)
FROM ({sess.format(extra=f", groupUniqArrayIf(visitor, {KEPT}) AS vis")})
GROUP BY b ORDER BY b"""
    join = f"""
SELECT b, v, pvs, ses, bou, dsum FROM
(SELECT b, sum(pv) AS pvs, countIf(pv + ne > 0) AS ses, countIf(pv = 1 AND ne = 0) AS bou, sumIf(dur, pv + ne > 0) AS dsum
 FROM ({sess.format(extra="")}) GROUP BY b)
ANY LEFT JOIN
(SELECT {B} AS b, uniqExact(visitor) AS v FROM events WHERE {W} AND {KEPT} GROUP BY b) USING b
ORDER BY b"""
    return [("arrays", [arrays], value), ("2 scans", [join], value)]


def group_expr(prop: str) -> str:
    if prop == "source":
        return "if(e = '', '(direct)', e)"
    if prop == "channel":
        return "if(pv > 0, e, 'direct')"
    return "e"


def hand_session_breakdown(q: dict, site: str):
    p = q["params"]
    w, prop = window_of(p), p["property"]
    W, G = w.where(site), group_expr(prop)
    col = C.SESSION_DIMS[prop]

    def value(res):
        rows = [[C_str(r[0])] + ints(r[1:6]) for r in res[-1]]
        return C.breakdown_rows([rows], prop, p["metrics"])

    def sess(extra: str) -> str:
        return (f"SELECT session, countIf(type = {PV}) AS pv, countIf(type = {EV}) AS ne, max(ts) - min(ts) AS dur, "
                f"{entry(col)} AS e{extra} FROM events WHERE {W} GROUP BY session HAVING pv + ne > 0")
    arrays = f"""
SELECT {G} AS g, uniqExactArray(vis) AS v, sum(pv), count(), countIf(pv = 1 AND ne = 0), sum(dur)
FROM ({sess(f", groupUniqArrayIf(visitor, {KEPT}) AS vis")})
GROUP BY g ORDER BY v DESC, g ASC LIMIT 100"""
    join = f"""
SELECT g, v, pvs, ses, bou, dsum FROM
(SELECT {G} AS g, sum(pv) AS pvs, count() AS ses, countIf(pv = 1 AND ne = 0) AS bou, sum(dur) AS dsum FROM ({sess("")}) GROUP BY g)
ANY LEFT JOIN
(SELECT g, uniqExact(visitor) AS v FROM
   (SELECT session, visitor FROM events WHERE {W} AND {KEPT})
   ALL INNER JOIN (SELECT session, {G} AS g FROM ({sess("")})) USING session
 GROUP BY g) USING g
ORDER BY v DESC, g ASC LIMIT 100"""
    return [("arrays", [arrays], value), ("join", [join], value)]


def C_str(s: str) -> str:
    return tsv_unescape(s)


def hand_pages(q: dict, site: str, session_filters: dict[str, str] | None):
    p = q["params"]
    w = window_of(p)
    W = w.where(site)
    f = session_filters or {}
    ecols = "".join(f", {entry(c)} AS e_{c}" for c in f)
    econd = "".join(f" AND e_{c} = '{v}'" for c, v in f.items())
    passing = ""
    if f:
        having = " AND ".join(f"{entry(c)} = '{v}'" for c, v in f.items())
        passing = f" AND session IN (SELECT session FROM events WHERE {W} GROUP BY session HAVING {having})"

    def value(res):
        rows = [[C_str(r[0])] + ints(r[1:6]) for r in res[-1]]
        return C.breakdown_rows([rows], "page", p["metrics"])
    sql = f"""
SELECT path, v, pvs, ses, bou, dsum FROM
(SELECT path, uniqExact(visitor) AS v, countIf(type = {PV}) AS pvs FROM events WHERE {W} AND {KEPT}{passing} GROUP BY path)
ANY LEFT JOIN
(SELECT e AS path, count() AS ses, countIf(pv = 1 AND ne = 0) AS bou, sum(dur) AS dsum FROM
   (SELECT session, countIf(type = {PV}) AS pv, countIf(type = {EV}) AS ne, max(ts) - min(ts) AS dur, {entry('path')} AS e{ecols}
    FROM events WHERE {W} GROUP BY session HAVING pv > 0{econd})
 GROUP BY e) USING path
ORDER BY v DESC, path ASC LIMIT 100"""
    return [("join", [sql], value)]


def hand_click(q: dict, site: str):
    p = q["params"]
    w = window_of(p)
    base = f"{w.where(site)} AND path = '{p['path']}'"
    cells = f"""
SELECT cx, cy, sum(ne) AS n, argMin(element, (-ne, element)) AS el, argMin(tt, (-ne, element)) AS tx
FROM (SELECT cx, cy, element, sum(nt) AS ne, argMin(text, (-nt, text)) AS tt
      FROM (SELECT toInt32(floor(x / 10)) * 10 AS cx, toInt32(floor(y / 10)) * 10 AS cy, element, text, count() AS nt
            FROM events WHERE {base} AND type = {CLICK} GROUP BY cx, cy, element, text)
      GROUP BY cx, cy, element)
GROUP BY cx, cy ORDER BY n DESC, cy ASC, cx ASC LIMIT 1000"""
    totals = f"SELECT countIf(type = {CLICK}), countIf(type = {PV}) FROM events WHERE {base} AND type IN ({PV}, {CLICK})"

    def value(res):
        cells_r, (total, pv) = res[0], ints(res[1][0])
        rows = [[int(a), int(b), int(n), C_str(e), C_str(t), total] for a, b, n, e, t in cells_r]
        return C.click_value([rows, [[pv]]])
    return [("nested GROUP BY", [cells, totals], value)]


def hand_dashboard(q: dict, site: str):
    p = q["params"]
    w = window_of(p)
    W = w.where(site)
    days = (w.hi - w.lo) // 86_400_000
    panels = f"""
SELECT k, g, sum(pv), sum(ne), uniqExactArray(vis), countIf(pv + ne > 0), countIf(pv = 1 AND ne = 0),
       sumIf(dur, pv + ne > 0), sum(es), sum(ec)
FROM (SELECT session, countIf(type = {PV}) AS pv, countIf(type = {EV}) AS ne, max(ts) - min(ts) AS dur,
             groupUniqArrayIf(visitor, {KEPT}) AS vis,
             sumIf(toInt64(time_on_page), type = {ENG} AND time_on_page > 0) AS es, countIf(type = {ENG} AND time_on_page > 0) AS ec,
             {entry('referrer')} AS er, {entry('country')} AS eco, {entry('device')} AS ed, {entry('browser')} AS eb,
             if(pv > 0, {entry('channel')}, 'direct') AS ech
      FROM events WHERE {W} GROUP BY session)
ARRAY JOIN [('total', ''), ('source', if(er = '', '(direct)', er)), ('country', eco), ('device', ed), ('browser', eb),
            ('channel', ech)] AS kv
GROUP BY kv.1 AS k, kv.2 AS g
HAVING k = 'total' OR countIf(pv + ne > 0) > 0"""
    series = f"""
SELECT intDiv(ts - {w.lo}, 86400000) AS d, countIf(type = {PV}), uniqExactIf(visitor, {KEPT})
FROM events WHERE {W} GROUP BY d ORDER BY d"""
    pages = f"""
SELECT path, countIf(type = {PV}) AS pvs, uniqExact(visitor) FROM events WHERE {W} AND {KEPT}
GROUP BY path ORDER BY pvs DESC, path ASC LIMIT 10"""

    def value(res):
        groups: dict[str, list] = {}
        total = None
        for r in res[0]:
            k, g = r[0], C_str(r[1])
            pv, ne, vis, ses, bou, dur, es, ec = ints(r[2:10])
            if k == "total":
                total = (pv, ne, vis, ses, bou, dur, es, ec)
            else:
                groups.setdefault(k, []).append((g, vis, ses))
        pv, ne, vis, ses, bou, dur, es, ec = total or (0,) * 8
        m = C.session_metrics(pv, ses, bou, float(dur))
        labels = [(dt.date.fromisoformat(w.start) + dt.timedelta(days=i)).isoformat() for i in range(days)]
        ts = {int(d): (int(a), int(b)) for d, a, b in res[1]}

        def share(rows, names=None):
            rows = [(g, v, s) for g, v, s in rows if g != ""] if names is None or "" not in names else rows
            tot = sum(v for _, v, _ in rows)
            return rows, tot
        dev, dev_tot = share(groups.get("device", []))
        br, br_tot = share(groups.get("browser", []))
        ch_rows = groups.get("channel", [])
        ch_tot = sum(v for _, v, _ in ch_rows)
        co = [(g, v, s) for g, v, s in groups.get("country", []) if g != ""]
        src = groups.get("source", [])
        pct = lambda v, t: C.rhaz(100 * v / t, 1) if t else 0  # noqa: E731
        return {
            "summary": {"pageviews": pv, "uniqueVisitors": vis, "sessions": ses, "events": ne,
                        "bounceRate": m["bounce_rate"], "avgSessionDuration": m["visit_duration"],
                        "avgTimeOnPage": int(C.rhaz(es / ec, 0)) if ec else 0, "viewsPerVisit": m["views_per_visit"]},
            "timeseries": [{"date": l, "pageviews": ts.get(i, (0, 0))[0], "uniqueVisitors": ts.get(i, (0, 0))[1]}
                           for i, l in enumerate(labels)],
            "topPages": [{"path": C_str(a), "pageviews": int(b), "uniqueVisitors": int(c)} for a, b, c in res[2]],
            "topReferrers": [{"domain": g, "visits": s} for g, _, s in sorted(src, key=lambda r: (-r[2], r[0].encode()))[:10]],
            "devices": {k: pct(next((v for g, v, _ in dev if g == k), 0), dev_tot) for k in ("desktop", "mobile", "tablet")},
            "browsers": [{"name": g, "percentage": pct(v, br_tot)} for g, v, _ in sorted(br, key=lambda r: (-r[1], r[0].encode()))[:10]],
            "countries": [{"code": g, "visits": s} for g, _, s in sorted(co, key=lambda r: (-r[2], r[0].encode()))[:10]],
            "trafficSources": {k: pct(next((v for g, v, _ in ch_rows if g == k), 0), ch_tot)
                               for k in ("direct", "organic", "referral", "social", "paid", "email")},
        }
    return [("3 statements", [panels, series, pages], value)]


def dashboard_shape(j: dict) -> dict:
    """ztas's /api/stats body without what hand SQL does not compute (period, country names)."""
    out = {k: v for k, v in j.items() if k != "period"}
    out["countries"] = [{"code": c["code"], "visits": c["visits"]} for c in j.get("countries", [])]
    return out


def hand_queries(q: dict, site: str):
    if q["kind"] == "dashboard":
        return hand_dashboard(q, site)
    if q["kind"] == "heatmap":
        return hand_click(q, site) if q["heatmap"] == "click" else []
    prop = q["params"].get("property")
    if prop is None:
        return hand_series(q, site)
    if prop == "page":
        f = q["params"].get("filters")
        sf = None
        if f:
            sf = {}
            for part in f.split(";"):
                k, v = part.split("==")
                sf[k] = v
        return hand_pages(q, site, sf)
    return hand_session_breakdown(q, site)


def ztas_value(q: dict, j: dict):
    return dashboard_shape(j) if q["kind"] == "dashboard" else q["ztas_value"](j)


# ---------------------------------------------------------------------------------------------
# Timing


def timed(fn, runs: int) -> tuple[float, float, object]:
    """One warm-up, then `runs` runs: (median ms, min ms, last result)."""
    res = fn()
    ts = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        res = fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts), min(ts), res


def run_cmd(cmd: list[str], what: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed ({p.returncode}): {p.stderr[-2000:]}")
    return secs, p.stdout


def parts_bytes(servers: list[str], database: str) -> tuple[int, int]:
    b = r = 0
    for s in servers:
        row = CH(s).run(f"SELECT sum(bytes), sum(rows) FROM system.parts WHERE active AND database = '{database}'")[0]
        b, r = b + int(row[0]), r + int(row[1])
    return b, r


def enable_query_log(chdir: Path, shard: str) -> bool:
    """Turns on `log_queries` in the default profile of our own cluster's users.xml (the server
    reloads it within seconds), so the SQL ztas sends can be read back from system.query_log."""
    users = chdir / "shard1" / "users.xml"
    x = users.read_text()
    if "<log_queries>" not in x:
        users.write_text(x.replace("<profiles><default>", "<profiles><default><log_queries>1</log_queries>", 1))
        # The reloader compares whole-second mtimes: a rewrite within the second the server read
        # the file would go unnoticed.
        later = time.time() + 2
        os.utime(users, (later, later))
    for _ in range(60):
        if CH(shard).run("SELECT value FROM system.settings WHERE name = 'log_queries'")[0][0] == "1":
            return True
        time.sleep(0.5)
    return False


def capture_sql(ch: CH, fn) -> tuple[list[str], float]:
    """Calls fn (one ztas request) and returns the statements ztas sent to this server meanwhile
    (initial queries in system.query_log, in order) and their summed server-side ms."""
    t0 = ch.run("SELECT toUInt32(now())")[0][0]
    time.sleep(1.05)
    fn()
    ch.raw("SYSTEM FLUSH LOGS")
    rows = ch.run(f"SELECT query, query_duration_ms FROM system.query_log WHERE type = 2 AND is_initial_query "
                  f"AND toUInt32(event_time) > {t0} AND query NOT LIKE '%system.%' AND query NOT LIKE 'SYSTEM %' "
                  "ORDER BY query_start_time, event_time")
    return [tsv_unescape(r[0]) for r in rows], float(sum(int(r[1]) for r in rows))


def fmt(v) -> str:
    if v is None:
        return "—"
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ztas", default=str(ROOT / ".build" / "release" / "ztas"))
    ap.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per panel and target, after one warm-up")
    ap.add_argument("--work", help="stores and the ClickHouse cluster (default Benchmarks/data/work-clickhouse)")
    ap.add_argument("--out", help="Markdown results file (default Benchmarks/results/clickhouse-<date>-<N>.md)")
    ap.add_argument("--only", help="comma-separated panel names to run (default: all)")
    ap.add_argument("--keep", action="store_true", help="leave the stores in --work (the cluster is stopped regardless)")
    args = ap.parse_args()
    ztas = str(Path(args.ztas).resolve())
    if not os.access(ztas, os.X_OK):
        sys.exit(f"no ztas binary at {ztas}")
    n = args.events
    label = f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
    # Absolute: scripts/clickhouse-cluster cds into its shard dirs and reads config.xml by this path.
    work = Path(args.work).resolve() if args.work else HERE / "data" / "work-clickhouse"
    out_md = Path(args.out) if args.out else HERE / "results" / f"clickhouse-{dt.date.today().isoformat()}-{label}.md"

    # 1. data
    data = HERE / "data" / f"events-synthetic-{n}.ndjson"
    data.parent.mkdir(parents=True, exist_ok=True)
    if data.exists() and data.stat().st_size > 0 and data.stat().st_mtime > Path(ztas).stat().st_mtime:
        log(f"== reusing {data}")
    else:
        log(f"== generating {n:,} events → {data}")
        with open(str(data) + ".tmp", "wb") as f:
            subprocess.check_call([ztas, "generate", "--profile", "synthetic", "--rows", str(n), "--seed", "42",
                                   "--sites", "3", "--days", "90"], stdout=f)
        os.replace(str(data) + ".tmp", data)
    site = C.biggest_site(data)

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    chdir = work / "ch"
    cluster = str(ROOT / "scripts" / "clickhouse-cluster")
    servers: list[Server] = []
    report: dict = {"events": n, "site": site, "runs": args.runs, "ztas": ztas, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "loadavg_start": os.getloadavg()[0]}

    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        # 2. cluster
        log("== starting the two-shard ClickHouse cluster")
        subprocess.check_call([cluster, "start", str(chdir)])
        env = dict(line.split("=", 1) for line in (chdir / "env").read_text().split() if "=" in line)
        s1, s2, cname = env["ZTAS_CH_SHARD1"], env["ZTAS_CH_SHARD2"], env["ZTAS_CH_CLUSTER"]
        url1 = f"clickhouse://{s1}/bench1"
        url2 = f"clickhouse://{s1}/bench2?cluster={cname}&shards={s1},{s2}"
        report["clickhouse_version"] = CH(s1).run("SELECT version()")[0][0]
        query_log = enable_query_log(chdir, s1)
        if not query_log:
            log("  WARNING: log_queries did not take effect: no 'ztas SQL' column")

        # 3. loads
        emb = work / "embedded"
        log(f"== ztas import → {emb}")
        secs, so = run_cmd([ztas, "import", "--data", str(emb), str(data)], "ztas import")
        rep = json.loads(so.strip().splitlines()[-1])
        if rep.get("rejected"):
            log(f"  WARNING: {rep['rejected']} lines rejected: {rep.get('errors', [])[:3]}")
        emb_bytes = C.dir_bytes(emb / "events")
        report["import"] = {"seconds": secs, "accepted": rep["accepted"], "events_per_s": rep["accepted"] / secs, "bytes": emb_bytes}
        log(f"  {secs:.2f} s, {rep['accepted'] / secs:,.0f} events/s, {emb_bytes / rep['accepted']:.1f} B/event")
        loads = {}
        for name, url, db, shards in (("1 shard", url1, "bench1", [s1]), ("2 shards", url2, "bench2", [s1, s2])):
            run_cmd([ztas, "clickhouse", "init", "--events", url], "clickhouse init")
            log(f"== ztas migrate --to {url}")
            wall, so = run_cmd([ztas, "migrate", "--data", str(emb), "--to", url], "ztas migrate")
            m = json.loads(so.strip().splitlines()[-1])
            if m["events"] != rep["accepted"]:
                log(f"  MISMATCH: migrate copied {m['events']} events, import accepted {rep['accepted']}")
            secs = float(m["seconds"])
            t0 = time.perf_counter()
            for s in shards:
                CH(s, db).raw(f"OPTIMIZE TABLE {'events' if len(shards) == 1 else 'events_local'} FINAL")
            opt = time.perf_counter() - t0
            b, r = parts_bytes(shards, db)
            loads[name] = {"events": m["events"], "migrate_seconds": secs, "wall_seconds": wall,
                           "events_per_s": m["events"] / secs if secs else None,
                           "events_per_s_wall": m["events"] / wall, "optimize_seconds": opt, "bytes": b, "rows": r}
            log(f"  {m['events']:,} events in {secs:.1f} s (migrate's own; {wall:.1f} s wall incl. start-up): "
                f"{m['events'] / max(secs, 1e-9):,.0f} events/s; OPTIMIZE FINAL {opt:.1f} s; {b / max(r, 1):.1f} B/event")
        report["loads"] = loads

        top = CH(s1, "bench1").run(
            f"SELECT path FROM events WHERE {C.Window('2026-03-15', '2026-04-14').where(site)} AND type = {PV} "
            "GROUP BY path ORDER BY count() DESC, path ASC LIMIT 1")[0][0]
        top = tsv_unescape(top)
        report["top_page"] = top

        # 4. servers
        log("== starting ztas serve ×3")
        srv = {}
        for key, events in (("embedded", None), ("ch1", url1), ("ch2", url2)):
            d = emb if key == "embedded" else work / f"serve-{key}"
            s = Server(ztas, d, events, key)
            servers.append(s)
            s.own_site(site)
            srv[key] = s
        hand_ch = {"ch1": CH(s1, "bench1"), "ch2": CH(s1, "bench2", {"distributed_product_mode": "local"})}

        # 5. + 6. panels
        queries = C.build_queries(site, top)
        if args.only:
            keep = {x.strip() for x in args.only.split(",")}
            queries = [q for q in queries if q["name"] in keep]
        log(f"== {len(queries)} panels on {site} (top page {top}); median of {args.runs} after a warm-up; "
            "ms = embedded / ztas-CH 1 / ztas-CH 2 / hand 1 / hand 2")
        rows = []
        mismatches = 0
        for q in queries:
            path = ztas_path(q)
            row = {"name": q["name"], "note": q["note"]}
            answers = {}
            for key in ("embedded", "ch1", "ch2"):
                try:
                    med, mn, j = timed(lambda s=srv[key]: s.get(path, q["params"]), args.runs)
                    row[key] = med
                    row[key + "_min"] = mn
                    answers[key] = ztas_value(q, j)
                except Exception as e:  # noqa: BLE001 — one failing target must not hide the others
                    row[key] = None
                    row[key + "_error"] = str(e)[:300]
                    log(f"  ERROR {q['name']} {key}: {str(e)[:300]}")
            for key in ("ch1", "ch2"):
                if not query_log or row.get(key) is None:
                    continue
                try:
                    stmts, server_ms = capture_sql(hand_ch[key], lambda s=srv[key]: s.get(path, q["params"]))
                    row[key + "_sql"] = stmts
                    row[key + "_server_ms"] = server_ms
                    med, mn, _ = timed(lambda c=hand_ch[key], st=stmts: [c.raw(x) for x in st], args.runs)
                    row[key + "_replay"], row[key + "_replay_min"] = med, mn
                except Exception as e:  # noqa: BLE001
                    log(f"  ERROR replaying ztas SQL {q['name']} {key}: {str(e)[:300]}")
            for a, b in (("ch1", "embedded"), ("ch2", "ch1")):
                if a in answers and b in answers:
                    d = C.differences(answers[a], answers[b])
                    if d:
                        mismatches += 1
                        log(f"  MISMATCH ztas {a} vs {b}, {q['name']}: {'; '.join(d[:4])}")
            hands = hand_queries(q, site)
            for key in ("ch1", "ch2"):
                best = None
                for hname, stmts, value in hands:
                    try:
                        med, mn, res = timed(lambda c=hand_ch[key], st=stmts: c.run_all(st), args.runs)
                    except Exception as e:  # noqa: BLE001
                        log(f"  ERROR hand {q['name']} [{hname}] {key}: {str(e)[:400]}")
                        row.setdefault("hand_errors", []).append(f"{key} {hname}: {str(e)[:200]}")
                        continue
                    row.setdefault("hand_all", {}).setdefault(key, {})[hname] = med
                    try:
                        hv = value(res)
                    except Exception as e:  # noqa: BLE001
                        hv = None
                        log(f"  ERROR hand value {q['name']} [{hname}]: {e!r}")
                    if key in answers and hv is not None:
                        d = C.differences(hv, answers[key])
                        if d and all(".date:" in x for x in d):
                            # Bucket labels only: ztas labels a month bucket by the month's first day,
                            # the hand value (compare.py's labels) by the window's first day.
                            row.setdefault("label_only", []).append(f"{key} {hname}")
                            d = []
                        if d:
                            mismatches += 1
                            log(f"  MISMATCH hand [{hname}] vs ztas on {key}, {q['name']}: {'; '.join(d[:4])}")
                            row.setdefault("mismatch", []).append(f"{key} {hname}")
                    if best is None or med < best[1]:
                        best = (hname, med, mn, stmts)
                if best:
                    row["hand_" + key], row["hand_" + key + "_name"], row["hand_" + key + "_min"] = best[1], best[0], best[2]
                    if row.get(key + "_sql"):
                        # The SQL ratio from paired runs: ztas's statements and the best hand form
                        # alternate (which goes first alternates too), and the median of the
                        # per-pair ratios is reported, so drift in the machine's speed between the
                        # two separate timing loops above does not show up as a difference.
                        c = hand_ch[key]
                        z = lambda c=c, st=row[key + "_sql"]: [c.raw(x) for x in st]  # noqa: E731
                        h = lambda c=c, st=best[3]: c.run_all(st)  # noqa: E731
                        ratios = []
                        for i in range(max(1, args.runs)):
                            t = {}
                            for name, fn in ((("z", z), ("h", h)) if i % 2 == 0 else (("h", h), ("z", z))):
                                t0 = time.perf_counter()
                                fn()
                                t[name] = time.perf_counter() - t0
                            ratios.append(t["z"] / t["h"])
                        row[key + "_paired"] = statistics.median(ratios)
            ratio = lambda a, b: row[a] / row[b] if row.get(a) and row.get(b) else None  # noqa: E731
            r1, r2 = ratio("ch1", "hand_ch1"), ratio("ch2", "hand_ch2")
            row["ratio_1"], row["ratio_2"] = r1, r2
            row["sql_ratio_1"], row["sql_ratio_2"] = row.get("ch1_paired"), row.get("ch2_paired")
            rows.append(row)
            log(f"  {q['name']:40} {fmt(row.get('embedded')):>7} / {fmt(row.get('ch1')):>7} / {fmt(row.get('ch2')):>7} / "
                f"{fmt(row.get('hand_ch1')):>7} / {fmt(row.get('hand_ch2')):>7}"
                + f"   ztas SQL replayed {fmt(row.get('ch1_replay'))} / {fmt(row.get('ch2_replay'))}"
                + (f"   ×{r1:.2f} ×{r2:.2f}" if r1 and r2 else "")
                + (f"   [{row.get('hand_ch1_name')}]" if row.get("hand_ch1_name") else ""))
        report["panels"] = rows
        report["mismatches"] = mismatches
        report["loadavg_end"] = os.getloadavg()[0]
        for s in servers:
            s.stop()
        servers = []
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                pass
        subprocess.call([cluster, "stop", str(chdir)])
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    md = markdown(report)
    print(md)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(md)
    out_md.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    log(f"wrote {out_md} and {out_md.with_suffix('.json').name}")
    return 1 if report["mismatches"] else 0


def markdown(r: dict) -> str:
    n = r["events"]
    L = r["loads"]
    imp = r["import"]
    lines = [
        f"# ztas on ClickHouse vs embedded vs hand-written SQL — {n:,} events",
        "",
        f"{r['date']}; `{Path(r['ztas']).name}` ({r['ztas']}); ClickHouse {r['clickhouse_version']} (local, 2 shards "
        f"= two servers on this machine); site {r['site']} (top page `{r['top_page']}`); median of {r['runs']} runs after a "
        f"warm-up, wall ms of the HTTP request (ztas) or of the hand query's statements in sequence; "
        f"load average {r['loadavg_start']:.1f} → {r.get('loadavg_end', 0):.1f}. Generated by Benchmarks/clickhouse.py.",
        "",
        "| panel | embedded | ztas-CH 1 shard | ztas-CH 2 shards | hand SQL 1 shard | hand SQL 2 shards | ztas/hand 1 | ztas/hand 2 "
        "| ztas SQL 1 / 2 (stmts) | ztas SQL/hand 1 | ztas SQL/hand 2 | hand form |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def ratio(v):
        if v is None:
            return "—"
        s = f"{v:.2f}"
        return f"**{s}**" if v > 1.2 else s
    for p in r["panels"]:
        flag = " ⚠ mismatch" if p.get("mismatch") else ""
        nst = len(p.get("ch1_sql") or [])
        lines.append(f"| {p['name']} | {fmt(p.get('embedded'))} | {fmt(p.get('ch1'))} | {fmt(p.get('ch2'))} | "
                     f"{fmt(p.get('hand_ch1'))} | {fmt(p.get('hand_ch2'))} | {ratio(p.get('ratio_1'))} | {ratio(p.get('ratio_2'))} | "
                     f"{fmt(p.get('ch1_replay'))} / {fmt(p.get('ch2_replay'))} ({nst}) | {ratio(p.get('sql_ratio_1'))} | "
                     f"{ratio(p.get('sql_ratio_2'))} | {p.get('hand_ch1_name', '—')}{flag} |")
    lines += ["", "embedded / ztas-CH: the HTTP request to `ztas serve` (auth, query, JSON). hand SQL: the hand-written "
              "statements over ClickHouse's HTTP interface. ztas SQL: the statements ztas sent for that request (read back "
              "from system.query_log) replayed the same way as the hand SQL; ztas SQL/hand compares SQL with SQL as the median "
              "of per-pair ratios from runs that alternate ztas's statements and the fastest hand form (robust to the "
              "machine's speed drifting between the separate timing loops), and "
              "ztas/hand adds ztas's own costs (HTTP, statements run one after another, decoding, rendering). Ratios above "
              "the 1.2 goal in bold. Hand forms: hand_* in Benchmarks/clickhouse.py; where a panel has several, the fastest "
              "is shown (all timings, and ztas's statements, are in the .json).", ""]
    multi = [p for p in r["panels"] if len(p.get("hand_all", {}).get("ch1", {})) > 1]
    if multi:
        lines += ["Hand formulations compared (1 shard / 2 shards, ms):", ""]
        for p in multi:
            cells = ", ".join(f"{k} {fmt(v)} / {fmt(p['hand_all'].get('ch2', {}).get(k))}" for k, v in p["hand_all"]["ch1"].items())
            lines.append(f"- {p['name']}: {cells}")
        lines.append("")
    lines += [
        "## Loads", "",
        "| load | events | seconds | events/s | bytes/event |",
        "|---|---:|---:|---:|---:|",
        f"| `ztas import` → embedded | {imp['accepted']:,} | {imp['seconds']:.2f} | {imp['events_per_s']:,.0f} | "
        f"{imp['bytes'] / imp['accepted']:.1f} |",
    ]
    for k, v in L.items():
        lines.append(f"| `ztas migrate --to` ClickHouse, {k} | {v['events']:,} | {v['migrate_seconds']:.1f} "
                     f"({v['wall_seconds']:.1f} wall) | {v['events_per_s']:,.0f} ({v['events_per_s_wall']:,.0f} wall) | "
                     f"{v['bytes'] / max(v['rows'], 1):.1f} |")
    lines += ["",
              "events/s: rows over `ztas migrate`'s own elapsed time (reading the embedded store and shipping "
              "200 k-row TabSeparated INSERTs, synchronous through the Distributed table on the cluster; 'wall' includes "
              "process start, schema check and the per-site count checks). Bytes/event: ClickHouse `sum(bytes)` of active "
              "parts after `OPTIMIZE TABLE … FINAL` (took " + ", ".join(f"{k} {v['optimize_seconds']:.1f} s" for k, v in L.items()) + "); "
              "embedded: the events/ directory after import.",
              "", f"Answer mismatches: {r['mismatches']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
