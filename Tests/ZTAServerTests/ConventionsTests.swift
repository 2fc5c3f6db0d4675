import Foundation
import Testing
import ZTAServer

/// api.md §1 and §9: routing, errors, CORS, body limits, rate limits, health and metrics.
@Suite("HTTP conventions", .serialized)
struct ConventionsTests {
    @Test func healthAndMetrics() async throws {
        let s = try await TestServer.start()
        let h = try await s.call("GET", "/health")
        #expect(h.status == 200)
        #expect(h.json["status"] as? String == "healthy")
        #expect((h.json["checks"] as? [String: Any])?["storage"] as? String == "ok")
        #expect(h.header("Cache-Control") == "no-store")
        #expect(try await s.call("GET", "/api/health/").status == 200)
        let m = try await s.call("GET", "/metrics")
        #expect(m.status == 200)
        #expect(m.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(m.text.contains("zta_http_requests_total"))
        #expect(m.text.contains("route=\"/health\""))
        #expect(m.text.contains("zta_events_ingested_total"))
        #expect(m.text.contains("zta_events_dropped_total{reason=\"bot\"}"))
        #expect(m.text.contains("process_resident_memory_bytes"))
        try await s.stop()
    }

    @Test func metricsToken() async throws {
        let s = try await TestServer.start { $0.metricsToken = "scrape-secret" }
        #expect(try await s.call("GET", "/metrics").status == 401)
        #expect(try await s.call("GET", "/metrics", token: "scrape-secret").status == 200)
        try await s.stop()
    }

    @Test func notFoundMethodAndSlash() async throws {
        let s = try await TestServer.start()
        let nf = try await s.call("GET", "/api/nope")
        #expect(nf.status == 404)
        #expect(nf.error == "Not found")
        let m = try await s.call("PUT", "/api/sites")
        #expect(m.status == 405)
        #expect(m.error == "Method not allowed")
        let allow = m.header("Allow") ?? ""
        #expect(allow.contains("GET") && allow.contains("POST") && allow.contains("PATCH") && allow.contains("DELETE"))
        // One trailing slash is ignored; the route still asks for credentials.
        let slash = try await s.call("GET", "/api/sites/")
        #expect(slash.status == 401)
        #expect(slash.error == "Authentication required")
        #expect(try await s.call("GET", "/api/sites//").status == 404)
        try await s.stop()
    }

    @Test func corsPreflight() async throws {
        let s = try await TestServer.start()
        let p = try await s.call("OPTIONS", "/api/stats")
        #expect(p.status == 204)
        #expect(p.header("Access-Control-Allow-Origin") == "*")
        #expect(p.header("Access-Control-Allow-Methods") == "GET, POST, PATCH, DELETE, OPTIONS")
        #expect(p.header("Access-Control-Max-Age") == "86400")
        let t = try await s.call("OPTIONS", "/api/track", headers: [("Origin", "https://example.com")])
        #expect(t.status == 204)
        #expect(t.header("Access-Control-Allow-Origin") == "https://example.com")
        #expect(t.header("Access-Control-Allow-Methods") == "POST, OPTIONS")
        let g = try await s.call("GET", "/api/stats")
        #expect(g.header("Access-Control-Expose-Headers")?.contains("Retry-After") == true)
        try await s.stop()
    }

    @Test func bodyLimitsAndJSON() async throws {
        let s = try await TestServer.start { $0.maxBody = 1024; $0.maxTrackBody = 512 }
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 4096)
        let r = try await s.call("POST", "/api/auth/login", body: big, headers: [("Content-Type", "application/json")])
        #expect(r.status == 413)
        #expect(r.error == "Request body too large")
        let t = try await s.call("POST", "/api/track", body: [UInt8](repeating: 0x20, count: 1024))
        #expect(t.status == 413)
        let bad = try await s.call("POST", "/api/auth/login", body: Array("{nope".utf8), headers: [("Content-Type", "text/plain")])
        #expect(bad.status == 400)
        #expect(bad.error == "Invalid JSON body")
        // text/plain bodies are JSON too (sendBeacon).
        let plain = try await s.call("POST", "/api/auth/login", body: Array(#"{"email":"x@y.dev","password":"p"}"#.utf8),
                                     headers: [("Content-Type", "text/plain")])
        #expect(plain.status == 401)
        try await s.stop()
    }

    @Test func authenticatedRateLimit() async throws {
        let s = try await TestServer.start { $0.rateLimits.userMinute = RateLimit(3, per: 60) }
        let token = try await s.register("limit@example.com")
        var remaining: [String] = []
        for _ in 0..<3 {
            let r = try await s.call("GET", "/api/user/status", token: token)
            #expect(r.status == 200)
            #expect(r.header("X-RateLimit-Limit") == "3")
            #expect(r.header("X-RateLimit-Reset").flatMap(Int.init) ?? 0 > Int(Date().timeIntervalSince1970))
            remaining.append(r.header("X-RateLimit-Remaining") ?? "")
        }
        #expect(remaining == ["2", "1", "0"])
        let over = try await s.call("GET", "/api/user/status", token: token)
        #expect(over.status == 429)
        let retry = Int(over.header("Retry-After") ?? "") ?? 0
        #expect(retry >= 1 && retry <= 60)
        #expect(over.json["retryAfter"] as? Int == retry)
        #expect(over.error == "Rate limit exceeded. Try again in \(retry) seconds.")
        #expect(over.header("X-RateLimit-Remaining") == "0")
        // Another user has its own bucket.
        let other = try await s.register("limit2@example.com")
        #expect(try await s.call("GET", "/api/user/status", token: other).status == 200)
        try await s.stop()
    }

    @Test func trackRateLimitPerIP() async throws {
        let s = try await TestServer.start { $0.rateLimits.track = RateLimit(2, per: 60) }
        let body: [String: Any] = ["type": "pageview", "siteId": "site_none"]
        #expect(try await s.call("POST", "/api/track", json: body).status == 404)
        #expect(try await s.call("POST", "/api/track", json: body).status == 404)
        let r = try await s.call("POST", "/api/track", json: body)
        #expect(r.status == 429)
        #expect(r.header("Retry-After") != nil)
        try await s.stop()
    }
}
