import Foundation
import Testing
import ZTAServer

/// api.md §5: tracking, its validation, bots, Origin, and what is (not) stored.
@Suite("Track", .serialized)
struct TrackTests {
    static let chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

    func setUp(_ configure: (inout ServerConfig) -> Void = { _ in }) async throws -> (TestServer, String, String) {
        let s = try await TestServer.start(configure)
        let t = try await s.register("tracker@example.com")
        let site = try await s.createSite(t, domain: "blog.example.com")
        return (s, t, site)
    }

    func pageviews(_ s: TestServer, _ t: String, _ site: String) async throws -> Int {
        let r = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=pageviews,visitors&interval=month", token: t)
        let rows = r.json["results"] as? [[String: Any]] ?? []
        return rows.reduce(0) { $0 + ($1["pageviews"] as? Int ?? 0) }
    }

    @Test func trackThenStats() async throws {
        let (s, t, site) = try await setUp()
        let r = try await s.call("POST", "/api/track",
                                 json: ["type": "pageview", "siteId": site, "path": "https://blog.example.com/post/1?utm=x#top",
                                        "referrer": "https://www.Google.com/search?q=1"],
                                 headers: [("Origin", "https://www.blog.example.com"), ("User-Agent", Self.chrome)])
        #expect(r.status == 200)
        #expect(r.json["success"] as? Bool == true)
        #expect(r.header("Access-Control-Allow-Origin") == "https://www.blog.example.com")
        #expect(try await pageviews(s, t, site) == 1)
        let dash = try await s.call("GET", "/api/stats?siteId=\(site)&period=day", token: t)
        #expect(dash.status == 200)
        let summary = dash.json["summary"] as? [String: Any]
        #expect(summary?["pageviews"] as? Int == 1)
        #expect(summary?["uniqueVisitors"] as? Int == 1)
        let pages = dash.json["topPages"] as? [[String: Any]]
        #expect(pages?.first?["path"] as? String == "/post/1")
        #expect((dash.json["topReferrers"] as? [[String: Any]])?.first?["domain"] as? String == "google.com")
        #expect((dash.json["trafficSources"] as? [String: Any])?["organic"] as? Double == 100)
        #expect((dash.json["devices"] as? [String: Any])?["desktop"] as? Double == 100)
        #expect((dash.json["browsers"] as? [[String: Any]])?.first?["name"] as? String == "Chrome")
        let rt = try await s.call("GET", "/api/realtime?siteId=\(site)", token: t)
        #expect(rt.json["activeVisitors"] as? Int == 1)
        #expect(rt.json["pageviewsLast5Min"] as? Int == 1)
        #expect((rt.json["visitorsPerMinute"] as? [Any])?.count == 5)
        #expect(rt.header("Cache-Control") == "no-cache, no-store, must-revalidate")
        // Same client, same day: same visitor and (server-assigned) session.
        _ = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/two"], headers: [("User-Agent", Self.chrome)])
        let v = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=visitors,sessions,pageviews&interval=month", token: t)
        let row = (v.json["results"] as? [[String: Any]])?.first
        #expect(row?["visitors"] as? Int == 1)
        #expect(row?["sessions"] as? Int == 1)
        #expect(row?["pageviews"] as? Int == 2)
        let m = try await s.call("GET", "/metrics")
        #expect(m.text.contains("zta_events_ingested_total{type=\"pageview\",source=\"track\"} 2")
                || m.text.contains("zta_events_ingested_total{source=\"track\",type=\"pageview\"} 2"))
        try await s.stop()
    }

    @Test func botsAreDropped() async throws {
        let (s, t, site) = try await setUp()
        for ua in ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "",
                   "Mozilla/5.0 HeadlessChrome/120.0", "facebookexternalhit/1.1"] {
            let r = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site], headers: [("User-Agent", ua)])
            #expect(r.status == 200)
        }
        let batch = try await s.call("POST", "/api/track", json: ["batch": true, "siteId": site, "events": [["type": "pageview"]]],
                                     headers: [("User-Agent", "AhrefsBot/7.0")])
        #expect(batch.json["count"] as? Int == 0)
        #expect(try await pageviews(s, t, site) == 0)
        try await s.stop()
    }

    @Test func originRefused() async throws {
        let (s, t, site) = try await setUp()
        let r = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site],
                                 headers: [("Origin", "https://evil.example.net"), ("User-Agent", Self.chrome)])
        #expect(r.status == 403)
        #expect(r.error == "Origin not allowed")
        #expect(r.header("Access-Control-Allow-Origin") == "null")
        let sub = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site],
                                   headers: [("Origin", "https://blog.example.com.evil.net"), ("User-Agent", Self.chrome)])
        #expect(sub.status == 403)
        // No Origin (a server-side call) is fine.
        let none = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site], headers: [("User-Agent", Self.chrome)])
        #expect(none.status == 200)
        #expect(none.header("Access-Control-Allow-Origin") == "*")
        #expect(try await pageviews(s, t, site) == 1)
        try await s.stop()
    }

    @Test func validationErrors() async throws {
        let (s, t, site) = try await setUp { $0.rateLimits.track = RateLimit(1000, per: 60) }
        let cases: [([String: Any], Int, String)] = [
            (["type": "pageview"], 400, "Site ID required"),
            (["type": "nope", "siteId": site], 400, "Invalid event type"),
            (["type": "event", "siteId": site], 400, "Event action required"),
            (["type": "click", "siteId": site, "x": -1, "y": 3], 400, "Invalid coordinates"),
            (["type": "move", "siteId": site, "x": 1], 400, "Invalid coordinates"),
            (["type": "scroll", "siteId": site], 400, "Invalid scroll depth"),
            (["type": "pageview", "siteId": "site_unknown"], 404, "Invalid site ID"),
            (["batch": true, "siteId": site, "events": [] as [Any]], 400, "Batch must contain 1 to 100 events"),
            (["batch": true, "siteId": site, "events": Array(repeating: ["type": "pageview"], count: 101)], 400,
             "Batch must contain 1 to 100 events"),
        ]
        for (body, status, message) in cases {
            let r = try await s.call("POST", "/api/track", json: body, headers: [("User-Agent", Self.chrome)])
            #expect(r.status == status, "\(body)")
            #expect(r.error == message, "\(body)")
        }
        let notJSON = try await s.call("POST", "/api/track", body: Array("type=pageview".utf8), headers: [("Content-Type", "text/plain")])
        #expect(notJSON.error == "Invalid JSON body")
        // A batch skips invalid events and stores the rest, all event types included.
        let batch = try await s.call("POST", "/api/track", json: [
            "batch": true, "siteId": site, "events": [
                ["type": "pageview", "path": "/a", "sessionId": "s1"],
                ["type": "event", "action": "signup", "category": "cta", "value": 5, "sessionId": "s1"],
                ["type": "engagement", "timeOnPage": 99999, "path": "/a", "sessionId": "s1"],
                ["type": "heartbeat", "path": "/a", "sessionId": "s1"],
                ["type": "click", "x": 640, "y": 2000, "viewportWidth": 2560, "element": "button#go", "text": "Go", "path": "/a", "sessionId": "s1"],
                ["type": "scroll", "scrollDepth": 250, "path": "/a", "sessionId": "s1"],
                ["type": "move", "x": 1, "y": 1, "path": "/a", "sessionId": "s1"],
                ["type": "bogus"],
                ["type": "event"],
            ],
        ] as [String: Any], headers: [("User-Agent", Self.chrome)])
        #expect(batch.status == 200)
        #expect(batch.json["count"] as? Int == 7)
        #expect(batch.json["rejected"] as? Int == 2)
        let ev = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=events,pageviews,avg_time_on_page&interval=month", token: t)
        let row = (ev.json["results"] as? [[String: Any]])?.first
        #expect(row?["events"] as? Int == 1)
        #expect(row?["avg_time_on_page"] as? Int == 86400)
        // Click normalised to the desktop width: 640·1280/2560 = 320, 2000·0.5 = 1000.
        let click = try await s.call("GET", "/api/heatmaps?siteId=\(site)&path=/a&type=click&period=day", token: t)
        let cell = (click.json["clicks"] as? [[String: Any]])?.first
        #expect(cell?["x"] as? Int == 320)
        #expect(cell?["y"] as? Int == 1000)
        #expect(cell?["element"] as? String == "button#go")
        let scroll = try await s.call("GET", "/api/heatmaps?siteId=\(site)&path=/a&type=scroll&period=day", token: t)
        #expect(scroll.json["avgScrollDepth"] as? Double == 100)
        let none = try await s.call("GET", "/api/heatmaps?siteId=\(site)&path=/zzz&type=click&period=day", token: t)
        #expect(none.status == 404)
        #expect(none.error == "No heatmap data found for this page")
        for kind in ["elements", "rage-clicks", "dead-clicks"] {
            #expect(try await s.call("GET", "/api/heatmaps/\(kind)?siteId=\(site)&path=/a&period=day", token: t).status == 200)
        }
        let pages = try await s.call("GET", "/api/heatmaps/pages?siteId=\(site)&period=day", token: t)
        #expect((pages.json["pages"] as? [[String: Any]])?.first?["clicks"] as? Int == 1)
        #expect(try await s.call("GET", "/api/heatmaps?siteId=\(site)&type=click", token: t).error == "Site ID and path are required")
        try await s.stop()
    }

    @Test func excludedPathsAreDropped() async throws {
        let (s, t, site) = try await setUp()
        _ = try await s.call("PATCH", "/api/sites", token: t, json: ["id": site, "settings": ["excludePaths": ["/admin"]]])
        for path in ["/admin", "/admin/users", "/administrator"] {
            _ = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": path], headers: [("User-Agent", Self.chrome)])
        }
        #expect(try await pageviews(s, t, site) == 1)
        try await s.stop()
    }

    /// Neither the client's IP nor its User-Agent reaches any file of the data directory.
    @Test func noRawIPOrUserAgentOnDisk() async throws {
        let ip = "203.0.113.77"
        let ua = "ZTAProbeBrowser/9.8.7 (Macintosh; Intel Mac OS X 14_0) Chrome/120.0 Safari/537.36"
        let (s, t, site) = try await setUp { $0.trustedProxies = ["127.0.0.1", "::1"] }
        for k in 0..<5 {
            let r = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/probe-path-\(k)"],
                                     headers: [("User-Agent", ua), ("X-Forwarded-For", "\(ip), 10.0.0.1")])
            #expect(r.status == 200)
        }
        _ = try await s.call("POST", "/api/auth/login", json: ["email": "tracker@example.com", "password": TestServer.password],
                             headers: [("User-Agent", ua), ("X-Forwarded-For", ip)])
        #expect(try await pageviews(s, t, site) == 5)
        func scan() throws -> (ip: Bool, ua: Bool, path: Bool) {
            var found = (ip: false, ua: false, path: false)
            let e = FileManager.default.enumerator(atPath: s.directory)!
            while let rel = e.nextObject() as? String {
                let p = s.directory + "/" + rel
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue,
                      let d = FileManager.default.contents(atPath: p) else { continue }
                if d.range(of: Data(ip.utf8)) != nil { found.ip = true }
                if d.range(of: Data("ZTAProbeBrowser".utf8)) != nil { found.ua = true }
                if d.range(of: Data("/probe-path-3".utf8)) != nil { found.path = true }
            }
            return found
        }
        let live = try scan()
        // The WAL holds the tracked rows uncompressed: the path proves the scan sees them.
        #expect(live.path)
        #expect(!live.ip)
        #expect(!live.ua)
        try await s.stop(removing: false)
        let closed = try scan()
        #expect(!closed.ip)
        #expect(!closed.ua)
        try? FileManager.default.removeItem(atPath: s.directory)
    }
}
