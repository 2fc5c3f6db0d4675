#!/usr/bin/env python3
"""Seeds a fresh `ztas serve` for the API fuzzer, through the API only.

Registers the fuzzer's user, creates a site, API keys of each scope (and one bound to the
site), imports a small NDJSON file covering every event type of the last 30 days and tracks a
few live events. Prints one JSON object with what the fuzzer needs (ids, keys, credentials).

Usage: seed.py URL EMAIL PASSWORD
"""
import json
import sys
import time
import urllib.error
import urllib.request

URL, EMAIL, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"


def call(method, path, body=None, token=None, raw=None, ctype="application/json", expect=(200, 201)):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("User-Agent", UA)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in expect:
        sys.exit(f"seed: {method} {path} -> {status} {text}")
    return json.loads(text) if text else {}


token = call("POST", "/api/auth/register", {"email": EMAIL, "password": PASSWORD, "name": "Fuzzer"})["token"]
site = call("POST", "/api/sites", {"domain": "fuzz-site.example", "name": "Fuzz site", "timezone": "Europe/Berlin"},
            token=token)["site"]["id"]
keys = {}
for scope in ("read", "write", "admin"):
    keys[scope] = call("POST", "/api/api-keys", {"name": f"fuzz {scope}", "scope": scope}, token=token)["apiKey"]["key"]
keys["bound"] = call("POST", "/api/api-keys", {"name": "fuzz bound", "scope": "read", "siteId": site},
                     token=token)["apiKey"]["key"]

# 30 days of events: every type, three pages, a few sources, devices and countries.
now = int(time.time() * 1000)
lines = []
pages = ["/", "/pricing", "/blog/a"]
for day in range(30):
    for v in range(4):
        ts = now - day * 86_400_000 - v * 600_000 - 3_600_000
        vis, ses = f"v{day % 7}-{v}", f"s{day}-{v}"
        path = pages[(day + v) % 3]
        base = {"site": site, "visitor": vis, "session": ses, "path": path,
                "device": ["desktop", "mobile", "tablet"][v % 3], "browser": ["Chrome", "Safari", "Firefox"][v % 3],
                "os": ["Windows", "iOS", "Linux"][v % 3], "country": ["DE", "US", "FR", ""][v % 4]}
        lines.append({**base, "ts": ts, "type": "pageview", "referrer": ["", "google.com", "news.ycombinator.com"][day % 3],
                      "utm_source": "newsletter" if day % 5 == 0 else ""})
        lines.append({**base, "ts": ts + 1000, "type": "click", "x": 100 + 10 * v, "y": 200, "element": "button#signup",
                      "text": "Sign up"})
        lines.append({**base, "ts": ts + 1200, "type": "click", "x": 500, "y": 40, "element": "div.hero", "text": ""})
        lines.append({**base, "ts": ts + 2000, "type": "move", "x": 300, "y": 300 + v})
        lines.append({**base, "ts": ts + 3000, "type": "scroll", "scroll_depth": 25 * (v + 1)})
        lines.append({**base, "ts": ts + 4000, "type": "engagement", "time_on_page": 30 + v})
        lines.append({**base, "ts": ts + 5000, "type": "event", "name": "signup", "category": "cta", "label": "hero",
                      "value": 9.5})
        if v == 0:  # a rage-click burst
            lines += [{**base, "ts": ts + 6000 + 100 * k, "type": "click", "x": 640, "y": 480, "element": "a.buy",
                       "text": "Buy"} for k in range(6)]
lines.append({"site": site, "type": "bogus"})  # one rejected line
ndjson = "\n".join(json.dumps(l) for l in lines).encode()
imported = call("POST", f"/api/import?siteId={site}&format=ndjson", raw=ndjson, ctype="application/x-ndjson", token=token)

for ev in ({"type": "pageview", "siteId": site, "path": "/", "referrer": "https://example.org/x"},
           {"type": "click", "siteId": site, "path": "/", "x": 10, "y": 20, "element": "a#home", "text": "Home"},
           {"type": "scroll", "siteId": site, "path": "/", "scrollDepth": 80},
           {"batch": True, "siteId": site, "events": [{"type": "event", "action": "play"}, {"type": "heartbeat"}]}):
    call("POST", "/api/track", ev)

print(json.dumps({"email": EMAIL, "password": PASSWORD, "token": token, "siteId": site, "keys": keys,
                  "importId": imported["importId"], "accepted": imported["accepted"]}))
