import Foundation
import Synchronization
import Testing
@testable import ZTAServer

/// A clock the server reads for every request's "now": real time plus an offset the test moves
/// (share expiry without sleeping).
final class OffsetClock: Sendable {
    let offsetMs = Atomic<Int64>(0)
    func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) + offsetMs.load(ordering: .relaxed) }
    func advance(ms: Int64) { offsetMs.add(ms, ordering: .relaxed) }
}

/// Users with each role of api.md §3 on one site, and API keys of the owner.
struct RoleFixture {
    let owner: String, admin: String, editor: String, viewer: String, outsider: String
    let site: String
    let ownerId: String, adminId: String, editorId: String, viewerId: String

    static func make(_ s: TestServer, domain: String) async throws -> RoleFixture {
        let owner = try await s.register("owner@\(domain)")
        let admin = try await s.register("admin@\(domain)")
        let editor = try await s.register("editor@\(domain)")
        let viewer = try await s.register("viewer@\(domain)")
        let outsider = try await s.register("outsider@\(domain)")
        let site = try await s.createSite(owner, domain: domain)
        let ids = try await [owner, admin, editor, viewer].asyncMap { try await s.userId($0) }
        try await s.addMember(userId: ids[1], site, role: "admin")
        try await s.addMember(userId: ids[2], site, role: "editor")
        try await s.addMember(userId: ids[3], site, role: "viewer")
        return RoleFixture(owner: owner, admin: admin, editor: editor, viewer: viewer, outsider: outsider, site: site,
                           ownerId: ids[0], adminId: ids[1], editorId: ids[2], viewerId: ids[3])
    }

    /// An API key of `token`'s user with `scope` (optionally bound to a site).
    static func key(_ s: TestServer, _ token: String, scope: String, siteId: String? = nil) async throws -> String {
        var body: [String: Any] = ["name": "k-\(scope)", "scope": scope]
        if let siteId { body["siteId"] = siteId }
        let r = try await s.call("POST", "/api/api-keys", token: token, json: body)
        return try #require((r.json["apiKey"] as? [String: Any])?["key"] as? String, "\(r.status) \(r.text)")
    }
}

extension Array {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}

/// api.md §7.2: share links and `GET /api/public/stats`.
@Suite("Shares and public stats", .serialized)
struct ShareTests {
    /// 2026-03-01T00:00:00Z, ms.
    static let t0: Int64 = 1_772_323_200_000
    static let hour: Int64 = 3_600_000, day: Int64 = 86_400_000

    /// One seeded event, as the naive reference sees it.
    struct Seed {
        var ts: Int64, visitor: String, session: String, path: String, device: String, browser: String
        var country: String, referrer: String
    }

    /// Deterministic traffic: 60 visitors over 2026-03-01…07 (one session each, 1–3 pageviews),
    /// plus events just outside the 7-day window ending 2026-03-07 (UTC) that must not count.
    static func seeds() -> [Seed] {
        let paths = ["/", "/pricing", "/blog/a", "/docs", "/about"]
        let devices = ["desktop", "mobile", "tablet", "desktop"]
        let browsers = ["Chrome", "Firefox", "Safari", "Edge", "Chrome"]
        let countries = ["US", "DE", "FR", "", "US", "GB"]
        let referrers = ["", "google.com", "news.ycombinator.com"]
        var out: [Seed] = []
        for i in 0..<60 {
            let start = t0 + Int64(i % 7) * day + Int64(8 + i % 9) * hour + Int64(i) * 1000
            for k in 0..<(1 + (i * 7) % 3) {
                out.append(Seed(ts: start + Int64(k) * 45_000, visitor: "v\(i)", session: "s\(i)", path: paths[(i + k * 2) % paths.count],
                                device: devices[i % devices.count], browser: browsers[i % browsers.count],
                                country: countries[i % countries.count], referrer: referrers[i % referrers.count]))
            }
        }
        // Outside the window: the day before and the day after.
        out.append(Seed(ts: t0 - hour, visitor: "early", session: "e1", path: "/old", device: "mobile", browser: "Chrome",
                        country: "JP", referrer: ""))
        out.append(Seed(ts: t0 + 7 * day + hour, visitor: "late", session: "l1", path: "/new", device: "mobile", browser: "Chrome",
                        country: "JP", referrer: ""))
        return out
    }

    static func ndjson(_ site: String, _ seeds: [Seed]) -> [UInt8] {
        var text = ""
        for e in seeds {
            text += #"{"ts":\#(e.ts),"site":"\#(site)","type":"pageview","visitor":"\#(e.visitor)","session":"\#(e.session)","path":"\#(e.path)","device":"\#(e.device)","browser":"\#(e.browser)","country":"\#(e.country)","referrer":"\#(e.referrer)"}"# + "\n"
        }
        return Array(text.utf8)
    }

    static func seed(_ s: TestServer, _ token: String, _ site: String) async throws -> [Seed] {
        let seeds = Self.seeds()
        let r = try await s.call("POST", "/api/import?siteId=\(site)", token: token, body: ndjson(site, seeds),
                                 headers: [("Content-Type", "application/x-ndjson")])
        #expect(r.status == 201, "\(r.text)")
        #expect(r.json["accepted"] as? Int == seeds.count)
        return seeds.filter { $0.ts >= t0 && $0.ts < t0 + 7 * day }
    }

    static func share(_ s: TestServer, _ token: String, _ body: [String: Any]) async throws -> [String: Any] {
        let r = try await s.call("POST", "/api/sites/share", token: token, json: body)
        #expect(r.status == 201, "\(r.text)")
        return try #require(r.json["share"] as? [String: Any])
    }

    @Test func createListRevoke() async throws {
        let s = try await TestServer.start { $0.publicURL = "https://stats.example.org" }
        let f = try await RoleFixture.make(s, domain: "share.example.com")

        let created = try await s.call("POST", "/api/sites/share", token: f.owner, json: ["siteId": f.site])
        #expect(created.status == 201)
        let share = try #require(created.json["share"] as? [String: Any])
        let token = try #require(share["token"] as? String)
        #expect(token.hasPrefix("share_") && token.count == 38)
        #expect(token.dropFirst(6).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(share["siteId"] as? String == f.site)
        #expect(share["allowedPeriods"] as? [String] == ["7d", "30d", "90d"])
        #expect(share["expiresAt"] is NSNull)
        #expect(share["createdAt"] is String)
        #expect(share["url"] as? String == "https://stats.example.org/shared/\(token)")
        #expect(created.json["shareUrl"] as? String == "https://stats.example.org/shared/\(token)")
        #expect((created.json["site"] as? [String: Any])?["domain"] as? String == "share.example.com")

        // Explicit periods come back deduplicated in canonical order; expiresIn sets expiresAt.
        let other = try await Self.share(s, f.admin, ["siteId": f.site, "expiresIn": "7d", "allowedPeriods": ["365d", "24h", "365d"]])
        #expect(other["allowedPeriods"] as? [String] == ["24h", "365d"])
        let exp = try #require(other["expiresAt"] as? String)
        let created2 = try #require(other["createdAt"] as? String)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let span = try #require(iso.date(from: exp)).timeIntervalSince(try #require(iso.date(from: created2)))
        #expect(span == 7 * 86_400)
        let nullExpiry = try await Self.share(s, f.owner, ["siteId": f.site, "expiresIn": NSNull(), "allowedPeriods": NSNull()])
        #expect(nullExpiry["expiresAt"] is NSNull)
        #expect(nullExpiry["allowedPeriods"] as? [String] == ["7d", "30d", "90d"])

        let list = try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: f.admin)
        #expect(list.status == 200)
        let tokens = (list.json["shares"] as? [[String: Any]] ?? []).compactMap { $0["token"] as? String }
        let expected: Set<String> = [token, try #require(other["token"] as? String), try #require(nullExpiry["token"] as? String)]
        #expect(Set(tokens) == expected)
        #expect(tokens.count == 3)
        #expect(list.header("Cache-Control") == "no-store")

        // Revoke: gone from the list, the link stops working, a second revoke is 404.
        let revoked = try await s.call("DELETE", "/api/sites/share?token=\(token)", token: f.owner)
        #expect(revoked.status == 200)
        #expect(revoked.json["success"] as? Bool == true)
        let after = try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: f.owner)
        #expect((after.json["shares"] as? [[String: Any]] ?? []).count == 2)
        #expect(!(after.json["shares"] as? [[String: Any]] ?? []).contains { $0["token"] as? String == token })
        let dead = try await s.call("GET", "/api/public/stats?token=\(token)")
        #expect(dead.status == 404)
        #expect(dead.error == "Invalid or expired share link")
        let again = try await s.call("DELETE", "/api/sites/share?token=\(token)", token: f.owner)
        #expect(again.status == 404)
        #expect(again.error == "Share not found or access denied")
        try await s.stop()
    }

    @Test func validationMessages() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "valid.example.com")
        let cases: [([String: Any], String)] = [
            ([:], "Site ID required"),
            (["siteId": ""], "Site ID required"),
            (["siteId": f.site, "expiresIn": "2d"], "Invalid expiresIn"),
            (["siteId": f.site, "expiresIn": 7], "Invalid expiresIn"),
            (["siteId": f.site, "allowedPeriods": "7d"], "Invalid allowedPeriods"),
            (["siteId": f.site, "allowedPeriods": []], "Invalid allowedPeriods"),
            (["siteId": f.site, "allowedPeriods": ["7d", "day"]], "Invalid allowedPeriods"),
            (["siteId": f.site, "allowedPeriods": ["12mo"]], "Invalid allowedPeriods"),
        ]
        for (body, message) in cases {
            let r = try await s.call("POST", "/api/sites/share", token: f.owner, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body): \(r.text)")
        }
        let bad = try await s.call("POST", "/api/sites/share", token: f.owner, body: Array("nope".utf8))
        #expect(bad.status == 400 && bad.error == "Invalid JSON body")
        #expect(try await s.call("GET", "/api/sites/share", token: f.owner).error == "Site ID required")
        let noToken = try await s.call("DELETE", "/api/sites/share", token: f.owner)
        #expect(noToken.status == 400 && noToken.error == "Share token required")
        for junk in ["share_zz", "share_" + String(repeating: "0", count: 32), "x"] {
            let r = try await s.call("DELETE", "/api/sites/share?token=\(junk)", token: f.owner)
            #expect(r.status == 404 && r.error == "Share not found or access denied")
        }
        // Unknown or invisible sites on /api/sites…: 404 Site not found (existence never revealed).
        for token in [f.owner, f.outsider] {
            let site = token == f.owner ? "site_unknown" : f.site
            let l = try await s.call("GET", "/api/sites/share?siteId=\(site)", token: token)
            #expect(l.status == 404 && l.error == "Site not found")
            let c = try await s.call("POST", "/api/sites/share", token: token, json: ["siteId": site])
            #expect(c.status == 404 && c.error == "Site not found")
        }
        // Parameters come before visibility: a bad body on an invisible site is still 400.
        let order = try await s.call("POST", "/api/sites/share", token: f.outsider, json: ["siteId": f.site, "expiresIn": "2d"])
        #expect(order.status == 400 && order.error == "Invalid expiresIn")
        try await s.stop()
    }

    @Test func rolesAndKeyScopes() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "roles.example.com")
        let existing = try #require(try await Self.share(s, f.owner, ["siteId": f.site])["token"] as? String)

        // Admin and owner manage; editor and viewer get 403 Insufficient permissions everywhere.
        for (token, allowed) in [(f.owner, true), (f.admin, true), (f.editor, false), (f.viewer, false)] {
            let list = try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: token)
            let create = try await s.call("POST", "/api/sites/share", token: token, json: ["siteId": f.site])
            if allowed {
                #expect(list.status == 200)
                #expect(create.status == 201)
            } else {
                let revoke = try await s.call("DELETE", "/api/sites/share?token=\(existing)", token: token)
                for r in [list, create, revoke] {
                    #expect(r.status == 403)
                    #expect(r.error == "Insufficient permissions")
                }
            }
        }
        // An outsider can't see the share's site: 404, as for an unknown token.
        let outsider = try await s.call("DELETE", "/api/sites/share?token=\(existing)", token: f.outsider)
        #expect(outsider.status == 404 && outsider.error == "Share not found or access denied")

        // Keys: admin scope needed; read/write keys 403 after parameter validation.
        let readKey = try await RoleFixture.key(s, f.owner, scope: "read")
        let writeKey = try await RoleFixture.key(s, f.owner, scope: "write")
        let adminKey = try await RoleFixture.key(s, f.owner, scope: "admin")
        for k in [readKey, writeKey] {
            let r = try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: k)
            #expect(r.status == 403 && r.error == "API key does not allow this operation")
            let c = try await s.call("POST", "/api/sites/share", token: k, json: ["siteId": f.site])
            #expect(c.status == 403 && c.error == "API key does not allow this operation")
            let bad = try await s.call("POST", "/api/sites/share", token: k, json: ["siteId": f.site, "expiresIn": "nope"])
            #expect(bad.status == 400 && bad.error == "Invalid expiresIn")
        }
        #expect(try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: adminKey).status == 200)
        #expect(try await s.call("POST", "/api/sites/share", token: adminKey, json: ["siteId": f.site]).status == 201)
        // A key bound to another site.
        let otherSite = try await s.createSite(f.owner, domain: "other-roles.example.com")
        let bound = try await RoleFixture.key(s, f.owner, scope: "admin", siteId: otherSite)
        let b = try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: bound)
        #expect(b.status == 403 && b.error == "API key does not allow this operation")
        #expect(try await s.call("DELETE", "/api/sites/share?token=\(existing)", token: adminKey).status == 200)
        // No credentials.
        #expect(try await s.call("GET", "/api/sites/share?siteId=\(f.site)").status == 401)
        #expect(try await s.call("POST", "/api/sites/share", json: ["siteId": f.site]).status == 401)
        try await s.stop()
    }

    @Test func expiryWithInjectedClock() async throws {
        let clock = OffsetClock()
        let s = try await TestServer.start { $0.clock = { clock.now() } }
        let f = try await RoleFixture.make(s, domain: "expiry.example.com")
        let day = try #require(try await Self.share(s, f.owner, ["siteId": f.site, "expiresIn": "1d"])["token"] as? String)
        let week = try #require(try await Self.share(s, f.owner, ["siteId": f.site, "expiresIn": "7d"])["token"] as? String)
        let never = try #require(try await Self.share(s, f.owner, ["siteId": f.site])["token"] as? String)
        func listed() async throws -> Set<String> {
            let r = try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: f.owner)
            return Set((r.json["shares"] as? [[String: Any]] ?? []).compactMap { $0["token"] as? String })
        }
        #expect(try await listed() == [day, week, never])
        #expect(try await s.call("GET", "/api/public/stats?token=\(day)").status == 200)

        clock.advance(ms: Self.day - 60_000)  // a minute before the 1-day share expires
        #expect(try await s.call("GET", "/api/public/stats?token=\(day)").status == 200)
        clock.advance(ms: 120_000)            // a minute after
        let expired = try await s.call("GET", "/api/public/stats?token=\(day)")
        #expect(expired.status == 404 && expired.error == "Invalid or expired share link")
        #expect(try await listed() == [week, never])
        let revokeExpired = try await s.call("DELETE", "/api/sites/share?token=\(day)", token: f.owner)
        #expect(revokeExpired.status == 404 && revokeExpired.error == "Share not found or access denied")
        #expect(try await s.call("GET", "/api/public/stats?token=\(week)").status == 200)
        #expect(try await s.call("GET", "/api/public/stats?token=\(never)").status == 200)
        try await s.stop()
    }

    @Test func publicStatsErrorsAndPublicFlag() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "flag.example.com")
        let token = try #require(try await Self.share(s, f.owner, ["siteId": f.site, "allowedPeriods": ["7d", "30d"]])["token"] as? String)

        let none = try await s.call("GET", "/api/public/stats")
        #expect(none.status == 400 && none.error == "Share token required")
        let empty = try await s.call("GET", "/api/public/stats?token=&siteId=")
        #expect(empty.status == 400 && empty.error == "Share token required")
        let badPeriod = try await s.call("GET", "/api/public/stats?token=\(token)&period=day")
        #expect(badPeriod.status == 400 && badPeriod.error == "Invalid period. Must be one of: 24h, 7d, 30d, 90d, 365d")
        let badDate = try await s.call("GET", "/api/public/stats?token=\(token)&date=yesterday")
        #expect(badDate.status == 400 && badDate.error == "Invalid date reference")
        for bad in ["share_" + String(repeating: "a", count: 32), "nonsense", "share_../../etc"] {
            let r = try await s.call("GET", "/api/public/stats?token=\(q(bad))")
            #expect(r.status == 404 && r.error == "Invalid or expired share link")
        }
        let notAllowed = try await s.call("GET", "/api/public/stats?token=\(token)&period=90d")
        #expect(notAllowed.status == 403 && notAllowed.error == "Period not allowed for this share")
        let allowed = try await s.call("GET", "/api/public/stats?token=\(token)&period=30d")
        #expect(allowed.status == 200)
        #expect(allowed.json["period"] as? String == "30d")
        #expect(allowed.json["allowedPeriods"] as? [String] == ["7d", "30d"])
        // Default period 7d.
        #expect(try await s.call("GET", "/api/public/stats?token=\(token)").json["period"] as? String == "7d")

        // siteId: only while the site is public; PATCH /api/sites toggles it.
        let priv = try await s.call("GET", "/api/public/stats?siteId=\(f.site)")
        #expect(priv.status == 404 && priv.error == "Invalid or expired share link")
        #expect(try await s.call("GET", "/api/public/stats?siteId=site_nope").status == 404)
        #expect(try await s.call("PATCH", "/api/sites", token: f.owner, json: ["id": f.site, "public": true]).status == 200)
        let pub = try await s.call("GET", "/api/public/stats?siteId=\(f.site)&period=365d")
        #expect(pub.status == 200)
        #expect(pub.json["allowedPeriods"] is NSNull)
        #expect(pub.json["period"] as? String == "365d")
        #expect((pub.json["site"] as? [String: Any])?["domain"] as? String == "flag.example.com")
        #expect((pub.json["site"] as? [String: Any])?["nickname"] as? String == "flag.example.com")
        #expect(try await s.call("PATCH", "/api/sites", token: f.owner, json: ["id": f.site, "public": false]).status == 200)
        #expect(try await s.call("GET", "/api/public/stats?siteId=\(f.site)").status == 404)
        // A share keeps working for a private site.
        #expect(try await s.call("GET", "/api/public/stats?token=\(token)").status == 200)

        // Deleting the site ends its shares (cascade) and its public stats.
        #expect(try await s.call("DELETE", "/api/sites?id=\(f.site)", token: f.owner).status == 200)
        let gone = try await s.call("GET", "/api/public/stats?token=\(token)")
        #expect(gone.status == 404 && gone.error == "Invalid or expired share link")
        let rows = try await s.server.core.meta.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shares") ?? -1 }
        #expect(rows == 0)
        try await s.stop()
    }

    @Test func headersAndRateLimit() async throws {
        let s = try await TestServer.start { $0.rateLimits.publicStats = RateLimit(4, per: 60) }
        let f = try await RoleFixture.make(s, domain: "limit.example.com")
        let token = try #require(try await Self.share(s, f.owner, ["siteId": f.site])["token"] as? String)

        let ok = try await s.call("GET", "/api/public/stats?token=\(token)", headers: [("Origin", "https://elsewhere.example")])
        #expect(ok.status == 200)
        #expect(ok.header("Access-Control-Allow-Origin") == "*")
        #expect(ok.header("Cache-Control") == "public, max-age=300")
        #expect(ok.header("Content-Type") == "application/json; charset=utf-8")
        #expect(ok.header("X-RateLimit-Limit") == "4")
        #expect(ok.header("X-RateLimit-Remaining") == "3")
        let preflight = try await s.call("OPTIONS", "/api/public/stats")
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "*")

        // Refused answers count too (the limit comes before parameters), and are not cacheable.
        let bad = try await s.call("GET", "/api/public/stats")
        #expect(bad.status == 400)
        #expect(bad.header("Cache-Control") == "no-store")
        #expect(bad.header("Access-Control-Allow-Origin") == "*")
        #expect(try await s.call("GET", "/api/public/stats?token=\(token)").status == 200)
        #expect(try await s.call("GET", "/api/public/stats?token=\(token)").status == 200)
        let limited = try await s.call("GET", "/api/public/stats?token=\(token)")
        #expect(limited.status == 429)
        #expect(limited.error?.hasPrefix("Rate limit exceeded. Try again in ") == true)
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
        #expect(limited.header("Access-Control-Allow-Origin") == "*")
        // Per IP, not per token: another token from the same client is limited too.
        let other = try #require(try await Self.share(s, f.owner, ["siteId": f.site])["token"] as? String)
        #expect(try await s.call("GET", "/api/public/stats?token=\(other)").status == 429)
        // Authenticated endpoints are not affected.
        #expect(try await s.call("GET", "/api/sites/share?siteId=\(f.site)", token: f.owner).status == 200)
        try await s.stop()
    }

    /// The public numbers are the dashboard's (same query), and both agree with a naive count
    /// of the seeded events.
    @Test func numbersMatchDashboardAndReference() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "numbers.example.com")
        let inWindow = try await Self.seed(s, f.owner, f.site)
        let token = try #require(try await Self.share(s, f.owner, ["siteId": f.site])["token"] as? String)

        let pub = try await s.call("GET", "/api/public/stats?token=\(token)&period=7d&date=2026-03-07")
        #expect(pub.status == 200, "\(pub.text)")
        let dash = try await s.call("GET", "/api/stats?siteId=\(f.site)&period=7d&date=2026-03-07", token: f.viewer)
        #expect(dash.status == 200)
        let p = pub.json, d = dash.json
        let summary = try #require(d["summary"] as? [String: Any])

        // Against the dashboard.
        #expect(p["uniqueVisitors"] as? Int == summary["uniqueVisitors"] as? Int)
        #expect(p["pageviews"] as? Int == summary["pageviews"] as? Int)
        #expect(p["bounceRate"] as? Double == summary["bounceRate"] as? Double)
        #expect(p["avgSessionDuration"] as? Int == summary["avgSessionDuration"] as? Int)
        let pages = try #require(p["pages"] as? [[String: Any]])
        let topPages = try #require(d["topPages"] as? [[String: Any]])
        #expect(pages.map { $0["path"] as? String } == topPages.map { $0["path"] as? String })
        #expect(pages.map { $0["pageviews"] as? Int } == topPages.map { $0["pageviews"] as? Int })
        #expect(pages.map { $0["uniqueVisitors"] as? Int } == topPages.map { $0["uniqueVisitors"] as? Int })
        let refs = try #require(p["referrers"] as? [[String: Any]])
        let topRefs = try #require(d["topReferrers"] as? [[String: Any]])
        #expect(refs.map { $0["source"] as? String } == topRefs.map { $0["domain"] as? String })
        #expect(refs.map { $0["visits"] as? Int } == topRefs.map { $0["visits"] as? Int })
        let daily = try #require(p["daily"] as? [[String: Any]])
        let series = try #require(d["timeseries"] as? [[String: Any]])
        #expect(daily.map { $0["date"] as? String } == series.map { $0["date"] as? String })
        #expect(daily.map { $0["pageviews"] as? Int } == series.map { $0["pageviews"] as? Int })
        #expect(daily.map { $0["uniqueVisitors"] as? Int } == series.map { $0["uniqueVisitors"] as? Int })
        #expect(daily.count == 7)
        #expect(daily.first?["date"] as? String == "2026-03-01")

        // Against a naive computation from the seeded events (all pageviews; one session and one
        // device/browser/country per visitor).
        #expect(p["pageviews"] as? Int == inWindow.count)
        let visitors = Set(inWindow.map(\.visitor))
        #expect(p["uniqueVisitors"] as? Int == visitors.count)
        let perSession = Dictionary(grouping: inWindow, by: \.session)
        let bounces = perSession.values.filter { $0.count == 1 }.count
        let tenths = (Double(bounces) * 1000 / Double(perSession.count)).rounded(.toNearestOrAwayFromZero)
        #expect(p["bounceRate"] as? Double == tenths / 10)
        let durations = perSession.values.map { Double(($0.map(\.ts).max() ?? 0) - ($0.map(\.ts).min() ?? 0)) / 1000 }
        #expect(p["avgSessionDuration"] as? Int == Int((durations.reduce(0, +) / Double(durations.count)).rounded(.toNearestOrAwayFromZero)))

        let byPath = Dictionary(grouping: inWindow, by: \.path)
        struct PageRow { var path: String; var views: Int; var visitors: Int }
        var naiveAll: [PageRow] = []
        for (path, rows) in byPath {
            naiveAll.append(PageRow(path: path, views: rows.count, visitors: Set(rows.map { $0.visitor }).count))
        }
        naiveAll.sort { (a: PageRow, b: PageRow) -> Bool in
            if a.views != b.views { return a.views > b.views }
            return Array(a.path.utf8).lexicographicallyPrecedes(Array(b.path.utf8))
        }
        let naivePages = Array(naiveAll.prefix(10))
        #expect(pages.map { $0["path"] as? String ?? "" } == naivePages.map { (r: PageRow) in r.path })
        #expect(pages.map { $0["pageviews"] as? Int ?? -1 } == naivePages.map { (r: PageRow) in r.views })
        #expect(pages.map { $0["uniqueVisitors"] as? Int ?? -1 } == naivePages.map { (r: PageRow) in r.visitors })

        func visitorCounts(_ key: (Seed) -> String) -> [String: Int] {
            Dictionary(grouping: inWindow, by: key).mapValues { Set($0.map(\.visitor)).count }
        }
        let devices = try #require(p["devices"] as? [[String: Any]])
        let naiveDevices = visitorCounts(\.device)
        #expect(devices.count == 3)
        for row in devices {
            let type = try #require(row["type"] as? String)
            #expect(row["count"] as? Int == naiveDevices[type] ?? 0, "\(type)")
        }
        #expect(devices.map { $0["count"] as? Int ?? 0 } == devices.map { $0["count"] as? Int ?? 0 }.sorted(by: >))
        let browsers = try #require(p["browsers"] as? [[String: Any]])
        let naiveBrowsers = visitorCounts(\.browser)
        #expect(Dictionary(uniqueKeysWithValues: browsers.map { ($0["name"] as? String ?? "", $0["count"] as? Int ?? -1) }) == naiveBrowsers)
        let countries = try #require(p["countries"] as? [[String: Any]])
        let naiveCountries = visitorCounts(\.country).filter { !$0.key.isEmpty }
        #expect(Dictionary(uniqueKeysWithValues: countries.map { ($0["code"] as? String ?? "", $0["count"] as? Int ?? -1) }) == naiveCountries)
        #expect(countries.map { $0["count"] as? Int ?? 0 } == countries.map { $0["count"] as? Int ?? 0 }.sorted(by: >))
        #expect(countries.first { $0["code"] as? String == "DE" }?["name"] as? String == "Germany")
        #expect(!countries.contains { $0["code"] as? String == "JP" })  // only outside the window
        // Percentages on the dashboard are shares of the same visitor counts.
        let dashDevices = try #require(d["devices"] as? [String: Any])
        let deviceTotal = naiveDevices.values.reduce(0, +)
        for (name, v) in naiveDevices {
            let pct = (Double(v) * 1000 / Double(deviceTotal)).rounded(.toNearestOrAwayFromZero) / 10
            #expect(dashDevices[name] as? Double == pct, "\(name)")
        }

        // The 24h period is the dashboard's 24h (hourly buckets) at the same reference.
        let pub24 = try await s.call("GET", "/api/public/stats?siteId=\(f.site)&period=24h&date=2026-03-07T12:00:00Z")
        #expect(pub24.status == 404)  // private site, no token
        let share24 = try #require(try await Self.share(s, f.owner, ["siteId": f.site, "allowedPeriods": ["24h"]])["token"] as? String)
        let p24 = try await s.call("GET", "/api/public/stats?token=\(share24)&period=24h&date=2026-03-07T12:00:00Z")
        let d24 = try await s.call("GET", "/api/stats?siteId=\(f.site)&period=24h&date=2026-03-07T12:00:00Z", token: f.owner)
        #expect(p24.status == 200)
        #expect((p24.json["daily"] as? [[String: Any]])?.count == 24)
        #expect(p24.json["pageviews"] as? Int == (d24.json["summary"] as? [String: Any])?["pageviews"] as? Int)
        #expect((p24.json["daily"] as? [[String: Any]])?.map { $0["pageviews"] as? Int } ==
                (d24.json["timeseries"] as? [[String: Any]])?.map { $0["pageviews"] as? Int })
        try await s.stop()
    }
}

extension ShareTests {
    /// The share URL opens the dashboard page, which renders the link's public stats itself.
    @Test func sharedPageIsServed() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "page.example.com")
        let share = try await Self.share(s, f.owner, ["siteId": f.site])
        let url = try #require(share["url"] as? String)
        let path = String(url.dropFirst("http://127.0.0.1".count))
        #expect(path.hasPrefix("/shared/share_"))
        let page = try await s.call("GET", path)
        #expect(page.status == 200)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        let root = try await s.call("GET", "/")
        #expect(page.body == root.body)
        try await s.stop()
    }
}
