-- wrk script of Benchmarks/http.sh and Benchmarks/webhooks.sh: POST /api/track bodies, single events or
-- batches of 100 (ZTAS_BATCH), realistic mix, varied clients; ZTAS_SITE = the site id.
local site = os.getenv("ZTAS_SITE")
local batch = tonumber(os.getenv("ZTAS_BATCH") or "1")
-- ZTAS_NOOP=1: GET a path no route matches (the server's cheapest answer, a 404) with the same
-- headers, as the yardstick for single-event tracking in the same run.
local noop = os.getenv("ZTAS_NOOP") == "1"
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
  "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
}
local paths = { "/", "/pricing", "/blog", "/docs/getting-started", "/docs/api/tracking", "/blog/privacy-first-analytics",
  "/blog/2024/05/self-hosting-guide", "/features", "/about", "/contact", "/signup", "/login", "/changelog",
  "/docs/api/stats", "/blog/columnar-storage-explained", "/careers", "/legal/privacy", "/integrations/wordpress" }
local referrers = { "", "", "", "https://www.google.com/", "https://news.ycombinator.com/item?id=4242",
  "https://twitter.com/someone/status/1", "https://duckduckgo.com/", "https://github.com/ztas/ztas", "https://www.bing.com/search?q=analytics" }
local elements = { "button#signup", "a.nav-link", "div.card > a", "button.cta-primary", "a[href='/pricing']", "img.hero" }

local function event(r)
  local path = paths[r % #paths + 1]
  local k = r % 20
  if k < 8 then
    local ref = referrers[r % #referrers + 1]
    local utm = ""
    if r % 7 == 0 then utm = ',"utm":{"source":"newsletter","medium":"email","campaign":"spring-launch"}' end
    return string.format('{"type":"pageview","path":"%s","referrer":"%s"%s}', path, ref, utm)
  elseif k < 12 then
    return string.format('{"type":"heartbeat","path":"%s"}', path)
  elseif k < 14 then
    return string.format('{"type":"engagement","path":"%s","timeOnPage":%d}', path, r % 300 + 5)
  elseif k < 17 then
    return string.format('{"type":"click","path":"%s","x":%d,"y":%d,"viewportWidth":1440,"element":"%s","text":"Get started"}',
      path, r % 1400, r % 3000, elements[r % #elements + 1])
  elseif k < 19 then
    return string.format('{"type":"scroll","path":"%s","scrollDepth":%d}', path, (r * 7) % 101)
  else
    return string.format('{"type":"event","path":"%s","name":"signup_click","category":"cta","label":"hero","value":%d}', path, r % 50)
  end
end

local requests = {}
local counter = 0

function init(args)
  local seed = tonumber(tostring({}):match("0x(%x+)"), 16) or os.time()
  math.randomseed(seed)
  for i = 1, 2000 do
    local r = math.random(1, 1000000000)
    local body
    if batch == 1 then
      body = event(r):gsub("^{", '{"siteId":"' .. site .. '",')
    else
      local parts = {}
      for j = 1, batch do parts[j] = event(r + j * 7919) end
      body = '{"batch":true,"siteId":"' .. site .. '","events":[' .. table.concat(parts, ",") .. ']}'
    end
    local ip = string.format("10.%d.%d.%d", r % 200, math.floor(r / 200) % 250, (math.floor(r / 50000) % 250) + 1)
    if noop then
      requests[i] = wrk.format("GET", "/api/no-such-route", {
        ["User-Agent"] = agents[r % #agents + 1],
        ["X-Forwarded-For"] = string.format("10.%d.%d.%d", r % 200, math.floor(r / 200) % 250, (math.floor(r / 50000) % 250) + 1),
      })
    else
    requests[i] = wrk.format("POST", "/api/track", {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = agents[r % #agents + 1],
      ["Origin"] = "https://bench.example.com",
      ["X-Forwarded-For"] = ip,
    }, body)
    end
  end
end

function request()
  counter = counter + 1
  return requests[counter % #requests + 1]
end

function done(summary, latency, requests)
  io.write(string.format("ZTAS %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), noop and 0 or summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, latency.max))
end
