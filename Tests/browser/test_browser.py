"""Browser tests of the tracking script and the dashboard (issue 12), in headless Chromium.

Run by scripts/test-browser, which starts `ztas serve --demo` and sets:
  ZTAS_URL        the server, e.g. http://127.0.0.1:PORT (also its PUBLIC_URL)
  ZTAS_DEMO_LOGIN "email / password (site domain, site_id)" as printed by the demo seeder
  SCREENSHOT_DIR  where screenshots and measurements go
The test website runs on another loopback origin: http://shop.example.com:PORT2 and
http://news.example.org:PORT2, both mapped to 127.0.0.1 by Chromium's host resolver rules.
Tests run in order (1 tracks, 2 and 3 read what 1 stored).
"""
import gzip
import http.server
import json
import os
import re
import socket
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ZTAS = os.environ.get("ZTAS_URL", "http://127.0.0.1:8080").rstrip("/")
SHOTS = os.environ.get("SCREENSHOT_DIR", os.path.join(os.path.dirname(__file__), "screenshots"))
# A desktop Chrome on Linux: headless Chromium's own User-Agent says "HeadlessChrome", a bot marker (api.md §5).
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
PASSWORD = "Browser-Test-42!"
STATE = {}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(method, path, token=None, body=None, headers=None):
    """The ztas API from the test process; returns (status, json or text, headers)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ZTAS + path, data=data, method=method, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw, status, hdrs = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, e.headers
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw, hdrs


# ---------------------------------------------------------------- the test website

SHOP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Test shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px sans-serif;margin:0}nav{padding:12px;background:#eee}main{padding:16px}
#tall{height:2600px;background:linear-gradient(#fff,#cde)}button{font-size:20px;padding:10px 24px}</style>
<script>window.zta=window.zta||function(){(zta.q=zta.q||[]).push(arguments)};zta('event','Early',{category:'queue'});</script>
%SNIPPET%
</head><body>
<nav><a id="nav-products" href="/products">Products</a> · <a id="nav-42" href="/products/42">Product 42</a>
 · <a id="out" href="https://elsewhere.example.net/page">Elsewhere</a></nav>
<main><h1 id="title">Home</h1><p><button id="buy">Buy now</button></p><div id="tall"></div><p id="end">The end</p></main>
<script>
document.querySelectorAll('nav a[href^="/"]').forEach(a => a.addEventListener('click', e => {
  e.preventDefault(); history.pushState({}, '', a.getAttribute('href'));
  document.getElementById('title').textContent = a.textContent;
}));
document.getElementById('out').addEventListener('click', e => e.preventDefault());
document.getElementById('buy').addEventListener('click', () => zta('event', 'Purchase', {category: 'shop', label: 'product-42', value: 42}));
</script></body></html>"""

NEWS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>News</title></head><body>
<h1>News</h1><p><a id="to-shop" href="%SHOP%/?utm_source=newsletter&utm_medium=email&utm_campaign=launch">Visit the shop</a></p>
</body></html>"""


class Site(http.server.ThreadingHTTPServer):
    daemon_threads = True


def start_site(snippet):
    port = free_port()
    shop = f"http://shop.example.com:{port}"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0]
            if self.path == "/robots.txt":
                body = "User-agent: *\n"
            elif host == "news.example.org":
                body = NEWS_PAGE.replace("%SHOP%", shop)
            else:
                body = SHOP_PAGE.replace("%SNIPPET%", snippet)
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = Site(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, port


def browser(width=1280, height=900, mobile=False):
    o = Options()
    o.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
              f"--window-size={width},{height}", f"--user-agent={UA}", "--force-device-scale-factor=1",
              "--host-resolver-rules=MAP shop.example.com 127.0.0.1, MAP news.example.org 127.0.0.1, MAP elsewhere.example.net 127.0.0.1"]:
        o.add_argument(a)
    if mobile:
        o.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1},
                                                      "userAgent": UA.replace("X11; Linux x86_64", "Linux; Android 14; Pixel 8") + " Mobile"})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=o)
    d.set_page_load_timeout(60)
    return d


def wait(d, cond, timeout=30):
    # The dashboard re-renders views: an element found a moment ago may be gone; look again.
    return WebDriverWait(d, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(cond)


def settled(d, timeout=60):
    """Waits until the dashboard has rendered the current URL's view (main not aria-busy)."""
    wait(d, lambda x: x.execute_script("const m = document.getElementById('main'); return m && !m.hasAttribute('aria-busy')"), timeout)


def shot(d, name, max_height=6000, scale=1):
    """A full-page PNG (beyond the viewport, also under mobile emulation) into SCREENSHOT_DIR."""
    import base64
    os.makedirs(SHOTS, exist_ok=True)
    time.sleep(0.3)
    size = d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    w, h = d.execute_script("return window.innerWidth"), min(size["height"], max_height)
    png = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                       "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": scale}})
    path = os.path.join(SHOTS, name + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(png["data"]))
    return path


def login(d, email, password, next_path="/"):
    d.get(ZTAS + next_path)
    wait(d, EC.presence_of_element_located((By.ID, "in-email")))
    assert "/login" in d.current_url, d.current_url
    d.find_element(By.ID, "in-email").send_keys(email)
    d.find_element(By.ID, "in-password").send_keys(password)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda x: "/login" not in x.current_url)


def events_of(token, site_id):
    status, body, _ = call("GET", f"/api/export?siteId={site_id}&format=json&type=all&period=day&limit=100000", token)
    assert status == 200, body
    return body["data"]


def severe_console_errors(d):
    try:
        return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"
                and "favicon" not in e.get("message", "") and "elsewhere.example.net" not in e.get("message", "")]
    except Exception:
        return []


class BrowserSuite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        status, body, _ = call("POST", "/api/auth/register", body={"email": "browser@example.com", "password": PASSWORD})
        assert status == 201, body
        cls.token = body["token"]
        status, body, _ = call("POST", "/api/sites", cls.token, {"domain": "shop.example.com", "name": "Test shop", "timezone": "UTC"})
        assert status == 201, body
        cls.site = body["site"]
        # The snippet exactly as the API hands it out, with the heatmap module switched on.
        cls.snippet = cls.site["trackingCode"].replace("></script>", ' data-heatmap="*"></script>')
        cls.server, cls.port = start_site(cls.snippet)
        cls.shop = f"http://shop.example.com:{cls.port}"
        cls.news = f"http://news.example.org:{cls.port}"
        STATE["site"] = cls.site

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    # (1) The snippet on another origin: pageviews, SPA navigation, custom event, scroll, clicks.
    def test_1_tracking_script(self):
        self.assertIn(f'src="{ZTAS}/js/analytics.js"', self.site["trackingCode"])
        d = browser()
        try:
            d.get(self.news + "/")
            d.find_element(By.ID, "to-shop").click()
            wait(d, lambda x: x.execute_script("return !!window.__zta"))
            d.find_element(By.ID, "nav-products").click()
            time.sleep(0.3)
            d.find_element(By.ID, "nav-42").click()
            wait(d, lambda x: x.execute_script("return window.__zta && !!window.__zta.hm"))  # heatmap module loaded
            d.find_element(By.ID, "buy").click()
            # Mouse moves, sampled by the heatmap module (≤ 2 per second).
            chain = ActionChains(d)
            for target in ("title", "buy", "nav-products"):
                chain.move_to_element(d.find_element(By.ID, target)).pause(0.6)
            chain.perform()
            d.find_element(By.ID, "title").click()
            d.find_element(By.ID, "out").click()
            d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            time.sleep(0.5)
            d.find_element(By.ID, "end").click()
            d.execute_script("window.scrollTo(0, 0)")
            time.sleep(1.2)  # engagement time > 1 s
            # Leaving the page sends engagement and flushes the heatmap batch (pagehide).
            d.get(self.news + "/")
            deadline = time.time() + 20
            while True:
                evs = events_of(self.token, self.site["id"])
                types = {e["type"] for e in evs}
                if {"pageview", "event", "click", "scroll", "engagement", "move"} <= types or time.time() > deadline:
                    break
                time.sleep(0.5)
            STATE["events"] = evs
            pv = [e for e in evs if e["type"] == "pageview"]
            self.assertEqual([e["path"] for e in pv], ["/", "/products", "/products/42"], evs)
            self.assertEqual(pv[0]["referrer"], "news.example.org")
            self.assertEqual(pv[0]["utm_source"], "newsletter")
            self.assertEqual(pv[0]["utm_campaign"], "launch")
            self.assertEqual(pv[0]["channel"], "email")
            self.assertEqual(pv[1]["referrer"], "")
            for e in pv:
                self.assertEqual((e["device"], e["browser"], e["os"]), ("desktop", "Chrome", "Linux"), e)
            names = {e["name"]: e for e in evs if e["type"] == "event"}
            self.assertIn("Early", names, "the call queued before the script loaded")
            self.assertEqual(names["Purchase"]["path"], "/products/42")
            self.assertEqual(names["Purchase"]["category"], "shop")
            self.assertEqual(names["Purchase"]["value"], 42)
            self.assertEqual(names["Outbound Link"]["label"], "https://elsewhere.example.net/page")
            clicks = [e for e in evs if e["type"] == "click"]
            buy = [c for c in clicks if c["element"] == "button#buy"]
            self.assertTrue(buy, clicks)
            self.assertEqual(buy[0]["text"], "Buy now")
            self.assertEqual(buy[0]["path"], "/products/42")
            self.assertTrue(all(c["x"] > 0 and c["y"] > 0 for c in clicks))
            moves = [e for e in evs if e["type"] == "move"]
            # Selenium's clicks move the mouse too; the hovering above happened on /products/42.
            self.assertTrue(any(m["path"] == "/products/42" for m in moves), moves)
            self.assertTrue(all(m["x"] >= 0 and m["y"] >= 0 for m in moves), moves)
            scrolls = [e for e in evs if e["type"] == "scroll"]
            self.assertTrue(scrolls and max(e["scroll_depth"] for e in scrolls) == 100, scrolls)
            eng = [e for e in evs if e["type"] == "engagement"]
            self.assertTrue(eng and all(e["time_on_page"] >= 1 for e in eng), eng)
            # No cookie, no storage entry on either origin.
            cookies = d.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
            self.assertEqual(cookies, [])
            for origin in (self.shop + "/robots.txt", ZTAS + "/health"):
                d.get(origin)
                n = d.execute_script("return [document.cookie.length, localStorage.length, sessionStorage.length]")
                self.assertEqual(n, [0, 0, 0], origin)
                dbs = d.execute_script("return indexedDB.databases().then(x => x.length)")
                self.assertEqual(dbs, 0, origin)
            self.assertEqual(severe_console_errors(d), [])
        finally:
            d.quit()

    # (2) Login through the dashboard; numbers equal /api/stats; a source row filters; the period picker.
    def test_2_dashboard(self):
        d = browser()
        try:
            sid = self.site["id"]
            login(d, "browser@example.com", PASSWORD, "/")
            link = wait(d, EC.element_to_be_clickable((By.CSS_SELECTOR, f'a[href="/sites/{sid}"]')))
            link.click()
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, '#summary [data-metric="pageviews"]')))
            status, stats, _ = call("GET", f"/api/stats?siteId={sid}&period=7d", self.token)
            self.assertEqual(status, 200)
            self.assertEqual(self.cards(d), {k: stats["summary"][k] for k in self.cards(d)})
            self.assertEqual(stats["summary"]["pageviews"], 3)
            self.assertIn("Visitors", d.find_element(By.ID, "graph").text)
            # Values on hover.
            series = stats["timeseries"]
            hits = d.find_elements(By.CSS_SELECTOR, "#graph .hit")
            self.assertEqual(len(hits), len(series))
            ActionChains(d).move_to_element(hits[-1]).perform()
            tip = wait(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#graph .tip")))
            self.assertIn(f"{series[-1]['uniqueVisitors']} visitors", tip.text)
            self.assertIn(f"{series[-1]['pageviews']} pageviews", tip.text)
            wait(d, lambda x: x.find_elements(By.CSS_SELECTOR, "#panel-sources .row-btn"))
            # Click the source row: every panel and the URL are filtered.
            row = next(b for b in d.find_elements(By.CSS_SELECTOR, "#panel-sources .row-btn") if b.text == "news.example.org")
            row.click()
            wait(d, lambda x: "filters=" in x.current_url)
            settled(d)
            q = urllib.parse.parse_qs(urllib.parse.urlparse(d.current_url).query)
            self.assertEqual(q["filters"], ["source==news.example.org"])
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".chip")))
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, '#summary [data-metric="pageviews"]')))
            f = urllib.parse.quote("source==news.example.org")
            status, filtered, _ = call("GET", f"/api/stats?siteId={sid}&period=7d&filters={f}", self.token)
            self.assertEqual(self.cards(d), {k: filtered["summary"][k] for k in self.cards(d)})
            pages = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#panel-pages .row-btn")]
            self.assertEqual(pages, [p["path"] for p in filtered["topPages"]])
            wait(d, lambda x: [r.text for r in x.find_elements(By.CSS_SELECTOR, "#panel-channels .row-btn")] == ["email"])
            self.assertEqual([r.text for r in d.find_elements(By.CSS_SELECTOR, "#panel-sources .row-btn")], ["news.example.org"])
            # Bookmarkable: a fresh load of the URL shows the same filtered view.
            d.get(d.current_url)
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".chip")))
            settled(d)
            # The chip removes the filter.
            d.find_element(By.CSS_SELECTOR, ".chip button").click()
            wait(d, lambda x: "filters=" not in x.current_url)
            settled(d)
            # The period picker changes the graph (7 daily buckets → 24 hourly ones).
            wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#graph .hit")) == 7)
            Select(d.find_element(By.ID, "period")).select_by_value("24h")
            wait(d, lambda x: "period=24h" in x.current_url)
            settled(d)
            wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#graph .hit")) == 24)
            status, day, _ = call("GET", f"/api/stats?siteId={sid}&period=24h", self.token)
            wait(d, lambda x: self.cards(x).get("pageviews") == day["summary"]["pageviews"])
            # A custom range.
            settled(d)
            Select(d.find_element(By.ID, "period")).select_by_value("custom")
            today = time.strftime("%Y-%m-%d", time.gmtime())
            d.execute_script("document.getElementById('in-from').value = arguments[0]", time.strftime("%Y-%m-%d", time.gmtime(time.time() - 13 * 86400)))
            d.execute_script("document.getElementById('in-to').value = arguments[0]", today)
            d.find_element(By.CSS_SELECTOR, ".range button").click()
            wait(d, lambda x: "from=" in x.current_url and len(x.find_elements(By.CSS_SELECTOR, "#graph .hit")) == 14)
            # Export: the CSV button downloads the period's pageviews.
            import tempfile
            dl = tempfile.mkdtemp(prefix="ztas-dl-")
            d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": dl})
            next(b for b in d.find_elements(By.CSS_SELECTOR, ".export button") if b.text == "CSV").click()
            wait(d, lambda x: [f for f in os.listdir(dl) if f.endswith(".csv")])
            with open(os.path.join(dl, [f for f in os.listdir(dl) if f.endswith(".csv")][0])) as f:
                lines = f.read().splitlines()
            self.assertTrue(lines[0].startswith("timestamp,path,referrer"), lines[:2])
            self.assertEqual(len(lines) - 1, 3)  # the three pageviews of test 1
            # Realtime refreshes by itself and counts the visitor of test 1.
            wait(d, lambda x: x.find_elements(By.ID, "realtime-count"))
            self.assertGreaterEqual(int(d.find_element(By.ID, "realtime-count").text), 1)
            self.assertEqual(severe_console_errors(d), [])
        finally:
            d.quit()

    # Log-in with 2FA, and the password-reset page, through the dashboard.
    def test_5_two_factor_and_reset(self):
        status, body, _ = call("POST", "/api/auth/register", body={"email": "otp@example.com", "password": PASSWORD})
        self.assertEqual(status, 201, body)
        tok = body["token"]
        status, setup, _ = call("POST", "/api/auth/2fa/setup", tok, {})
        self.assertEqual(status, 200, setup)
        status, body, _ = call("POST", "/api/auth/2fa/verify", tok, {"code": totp(setup["secret"])})
        self.assertEqual(status, 200, body)
        d = browser()
        try:
            d.get(ZTAS + "/login")
            wait(d, EC.presence_of_element_located((By.ID, "in-email"))).send_keys("otp@example.com")
            d.find_element(By.ID, "in-password").send_keys(PASSWORD)
            d.find_element(By.ID, "in-password").submit()
            code = wait(d, EC.presence_of_element_located((By.ID, "in-code")))
            code.send_keys(totp(setup["secret"], 1))  # the next step: the current one was used by verify
            d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "h1")))
            wait(d, lambda x: x.find_element(By.TAG_NAME, "h1").text == "Your sites")
            # Password reset: the link the server logs (no SMTP), then log in with the new password.
            d.execute_script("localStorage.clear()")
            status, body, _ = call("POST", "/api/auth/forgot", body={"email": "browser@example.com"})
            self.assertEqual(status, 200, body)
            log = ""
            if os.environ.get("ZTAS_LOG"):
                with open(os.environ["ZTAS_LOG"]) as f:
                    log = f.read()
            links = re.findall(r"/reset-password\?token=([0-9a-f]+)", log)
            if not links:
                self.skipTest("ZTAS_LOG not set: no reset link to follow") if os.environ.get("CI") != "true" else self.fail("no reset link in the log")
            d.get(ZTAS + "/reset-password?token=" + links[-1])
            wait(d, EC.presence_of_element_located((By.ID, "in-password"))).send_keys("Another-Secret-77!")
            d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(d, EC.text_to_be_present_in_element((By.ID, "main"), "Password has been reset successfully"))
            login(d, "browser@example.com", "Another-Secret-77!", "/")
            wait(d, lambda x: x.find_element(By.TAG_NAME, "h1").text == "Your sites")
        finally:
            d.quit()

    @staticmethod
    def cards(d):
        out = {}
        for c in d.find_elements(By.CSS_SELECTOR, "#summary [data-metric]"):
            v = c.get_attribute("data-value")
            out[c.get_attribute("data-metric")] = float(v) if "." in v else int(v)
        return out

    # (3) The heatmap page draws the clicks of test 1 over the live page.
    def test_3_heatmap(self):
        d = browser()
        try:
            sid = self.site["id"]
            status, api, _ = call("GET", f"/api/heatmaps?siteId={sid}&path=/products/42&type=click&period=day", self.token)
            self.assertEqual(status, 200, api)
            url = f"/sites/{sid}/heatmap?" + urllib.parse.urlencode({"path": "/products/42", "base": self.shop, "period": "day"})
            login(d, "browser@example.com", PASSWORD, url)
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".heat-overlay")))
            circles = d.find_elements(By.CSS_SELECTOR, ".heat-overlay circle.click")
            self.assertEqual(len(circles), len(api["clicks"]))
            self.assertGreaterEqual(len(circles), 2)
            counts = sorted(int(c.get_attribute("data-count")) for c in circles)
            self.assertEqual(counts, sorted(c["count"] for c in api["clicks"]))
            self.assertEqual(d.find_element(By.ID, "hm-total").text, str(api["totalClicks"]))
            frame = d.find_element(By.CSS_SELECTOR, ".heat-frame iframe")
            self.assertEqual(frame.get_attribute("src"), self.shop + "/products/42")
            d.switch_to.frame(frame)
            wait(d, EC.presence_of_element_located((By.ID, "buy")))
            d.switch_to.default_content()
            time.sleep(0.5)
            STATE["heatmap_url"] = url
            shot(d, "heatmap-desktop")
            # The plain grid when framing is refused.
            d.get(ZTAS + url + "&mode=grid")
            wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".grid-mode .heat-overlay circle")))
            self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, ".heat-overlay circle.click")), len(api["clicks"]))
        finally:
            d.quit()

    # (4) Screenshots (desktop and phone), the tracker's size, the dashboard's weight, paint time.
    def test_4_screenshots_size_and_performance(self):
        status, raw, hdrs = call("GET", "/js/analytics.js", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(hdrs.get("Content-Encoding"), "gzip")
        size = len(raw if isinstance(raw, bytes) else json.dumps(raw).encode())
        self.assertLessEqual(size, 1536, f"analytics.js is {size} bytes gzipped")
        results = {"analytics_js_gzip_bytes": size, "analytics_js_bytes": len(gzip.decompress(raw))}
        email, password, demo_site = demo_login()
        for name, (w, h, mobile) in {"desktop": (1280, 900, False), "phone": (390, 844, True)}.items():
            d = browser(w, h, mobile)
            try:
                login(d, email, password, f"/sites/{demo_site}?period=30d")
                wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, '#summary [data-metric="pageviews"]')), 300)
                wait(d, lambda x: not x.find_elements(By.XPATH, "//*[@id='main']//p[text()='Loading…']"), 300)
                if name == "desktop":
                    # Weight: the first load of a fresh profile (no cache), bodies as sent (gzip).
                    w = d.execute_script("""
                        const nav = performance.getEntriesByType('navigation')[0];
                        const assets = performance.getEntriesByType('resource').filter(r => !r.name.includes('/api/'));
                        return [nav.encodedBodySize, assets.map(r => [r.name, r.encodedBodySize])];""")
                    results["dashboard_html_gzip_bytes"] = w[0]
                    results["dashboard_assets_gzip_bytes"] = {u.split("/")[-1]: b for u, b in w[1]}
                    results["dashboard_total_gzip_bytes"] = w[0] + sum(b for _, b in w[1])
                    self.assertLessEqual(results["dashboard_total_gzip_bytes"], 100 * 1024)
                    # Paint: the dashboard opened again (a bookmark, logged in): from /api/stats's
                    # answer to the summary and graph drawn (two animation frames later).
                    d.execute_script("location.reload()")
                    wait(d, lambda x: x.execute_script("return performance.getEntriesByName('zta-summary-painted').length"), 300)
                    m = d.execute_script("""
                        const stats = performance.getEntriesByType('resource').filter(r => r.name.includes('/api/stats?'))[0];
                        const paint = performance.getEntriesByName('zta-summary-painted')[0].startTime;
                        return { statsStart: stats.startTime, statsEnd: stats.responseEnd, paint };""")
                    results["stats_api_ms"] = round(m["statsEnd"] - m["statsStart"], 1)
                    results["first_meaningful_paint_after_api_ms"] = round(m["paint"] - m["statsEnd"], 1)
                    results["paint_ms_since_navigation"] = round(m["paint"], 1)
                    results["demo_events"] = int(os.environ.get("ZTAS_DEMO_ROWS", "1000000"))
                    # WCAG AA: every text node's colour against its effective background ≥ 4.5:1.
                    low = d.execute_script(CONTRAST_JS)
                    self.assertEqual(low, [], "text below 4.5:1 contrast")
                    wait(d, lambda x: not x.find_elements(By.XPATH, "//*[@id='main']//p[text()='Loading…']"), 300)
                    hits = d.find_elements(By.CSS_SELECTOR, "#graph .hit")
                    ActionChains(d).move_to_element(hits[len(hits) * 2 // 3]).perform()
                    shot(d, "readme-dashboard", max_height=1160, scale=0.75)
                shot(d, f"dashboard-{name}")
                if name == "phone":
                    d.execute_script("localStorage.clear()")
                    login(d, "browser@example.com", PASSWORD, STATE.get("heatmap_url", "/"))
                    d.get(ZTAS + STATE.get("heatmap_url", f"/sites/{STATE['site']['id']}/heatmap"))
                    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".heat-stage")))
                    time.sleep(1)
                    shot(d, "heatmap-phone")
                    d.get(ZTAS + f"/sites/{STATE['site']['id']}/settings")
                    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".copy pre")))
                    shot(d, "settings-phone")
                else:
                    d.get(ZTAS + "/")
                    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".sites")))
                    shot(d, "sites-desktop")
                self.assertEqual(severe_console_errors(d), [])
            finally:
                d.quit()
        d = browser(1280, 900)
        try:
            d.get(ZTAS + "/login")
            wait(d, EC.presence_of_element_located((By.ID, "in-email")))
            shot(d, "login-desktop")
        finally:
            d.quit()
        os.makedirs(SHOTS, exist_ok=True)
        with open(os.path.join(SHOTS, "measurements.json"), "w") as f:
            json.dump(results, f, indent=2)
        print("\nmeasurements:", json.dumps(results, indent=2))


CONTRAST_JS = """
const lum = (c) => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
const bg = (el) => { for (; el; el = el.parentElement) { const c = rgba(getComputedStyle(el).backgroundColor);
  if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
const out = [], seen = new Set();
const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n; (n = walk.nextNode());) {
  const el = n.parentElement;
  if (!n.textContent.trim() || seen.has(el) || !el.offsetParent && el.tagName !== 'BODY') continue;
  seen.add(el);
  if (el.closest('.bar, svg')) continue;
  const fg = rgba(getComputedStyle(el).color).slice(0, 3), b = bg(el);
  const [l1, l2] = [lum(fg), lum(b)].sort((x, y) => y - x);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  if (ratio < 4.5) out.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${n.textContent.trim().slice(0, 30)}"`);
}
return out;
"""


def totp(secret, step_offset=0):
    """RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret."""
    import base64, hashlib, hmac, struct
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int(time.time()) // 30 + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def demo_login():
    """The demo account printed by `ztas serve --demo`."""
    m = re.match(r"\s*(\S+) / (\S+) \(site \S+, (site_\w+)\)", os.environ.get("ZTAS_DEMO_LOGIN", ""))
    if not m:
        if os.environ.get("CI") == "true":
            raise AssertionError("ZTAS_DEMO_LOGIN not set: CI never skips")
        raise unittest.SkipTest("ZTAS_DEMO_LOGIN not set (scripts/test-browser starts the server with --demo)")
    return m.group(1), m.group(2), m.group(3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
