import Crypto
import Foundation
import GRDB
import Synchronization
import Testing
import ZTAFormat
@testable import ZTAServer

/// A resolver whose answers the test sets (and changes, to move a name to a private address).
final class StaticResolver: WebhookHostResolver {
    let table: Mutex<[String: [String]]>
    init(_ t: [String: [String]] = [:]) { table = Mutex(t) }
    func set(_ host: String, _ addresses: [String]) { table.withLock { $0[host] = addresses } }
    func resolve(host: String) async throws -> [String] { table.withLock { $0[host] } ?? [] }
}

/// Records the retry waits instead of sleeping through them.
final class SleepRecorder: Sendable {
    let waits = Mutex<[Duration]>([])
    var sleep: @Sendable (Duration) async throws -> Void {
        { [self] d in waits.withLock { $0.append(d) } }
    }
}

/// api.md §7.8 end to end: CRUD, roles, the SSRF guard, and deliveries to a real loopback
/// receiver (signature, headers, retries, auto-disable, redirects, payloads, queue bound).
@Suite("Webhooks", .serialized)
struct WebhookTests {
    static let origin = [("Origin", "https://shop.example.com")]
    static let publicIP = "93.184.216.34"

    /// A server allowing http and private addresses (the receiver is on 127.0.0.1), a
    /// registered owner and a site.
    static func setUp(_ configure: @escaping (inout ServerConfig) -> Void = { _ in }) async throws -> (TestServer, String, String) {
        let s = try await TestServer.start { c in
            c.webhookAllowHTTP = true
            c.webhookAllowPrivate = true
            // The tests poll the API while they wait.
            c.rateLimits.userMinute = RateLimit(1_000_000, per: 60)
            c.rateLimits.userHour = RateLimit(1_000_000, per: 3600)
            configure(&c)
        }
        let token = try await s.register("owner@example.com")
        let site = try await s.createSite(token, domain: "shop.example.com")
        return (s, token, site)
    }

    static func create(_ s: TestServer, _ token: String, site: String, url: String, events: [String]) async throws -> (id: String, secret: String) {
        let r = try await s.call("POST", "/api/webhooks", token: token, json: ["siteId": site, "url": url, "events": events])
        guard r.status == 201, let w = r.json["webhook"] as? [String: Any], let id = w["id"] as? String,
              let secret = w["secret"] as? String else {
            throw HTTPClient.Failure(description: "create webhook: \(r.status) \(r.text)")
        }
        return (id, secret)
    }

    static func webhook(_ s: TestServer, _ token: String, site: String, id: String) async throws -> [String: Any] {
        let list = try await s.call("GET", "/api/webhooks?siteId=\(site)", token: token).json["webhooks"] as? [[String: Any]] ?? []
        return list.first { $0["id"] as? String == id } ?? [:]
    }

    static func metric(_ s: TestServer, _ line: String) async throws -> Double? {
        let text = try await s.call("GET", "/metrics").text
        for l in text.split(separator: "\n") where l.hasPrefix(line + " ") {
            return Double(l.dropFirst(line.count + 1))
        }
        return nil
    }

    static func hmac(_ secret: String, _ body: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: CRUD, messages, limits

    @Test func crudMessagesAndLimit() async throws {
        let resolver = StaticResolver(["hooks.example.com": [Self.publicIP], "inside.example.com": [Self.publicIP, "10.0.0.7"]])
        let s = try await TestServer.start { $0.webhookResolver = resolver }
        let t = try await s.register("owner@example.com")
        let site = try await s.createSite(t, domain: "shop.example.com")
        let good = "https://hooks.example.com/zta"

        for (body, message) in [
            (["url": good, "events": ["pageview"]], "Site ID and URL required"),
            (["siteId": site, "events": ["pageview"]], "Site ID and URL required"),
            (["siteId": site, "url": "", "events": ["pageview"]], "Site ID and URL required"),
            (["siteId": site, "url": "ftp://hooks.example.com/", "events": ["pageview"]], "Invalid webhook URL"),
            (["siteId": site, "url": "not a url", "events": ["pageview"]], "Invalid webhook URL"),
            (["siteId": site, "url": "http://hooks.example.com/", "events": ["pageview"]], "URL must use HTTPS"),
            (["siteId": site, "url": good], "events is required"),
            (["siteId": site, "url": good, "events": []], "Invalid events"),
            (["siteId": site, "url": good, "events": ["pageview", "pageview"]], "Invalid events"),
            (["siteId": site, "url": good, "events": ["pageview", "purchase"]], "Invalid event type: purchase"),
            (["siteId": site, "url": good, "events": ["test"]], "Invalid event type: test"),
            (["siteId": site, "url": good, "events": ["event"], "description": String(repeating: "d", count: 201)],
             "description must be at most 200 characters"),
            (["siteId": site, "url": "https://10.1.2.3/", "events": ["event"]], "URL must not point to a private network address"),
            (["siteId": site, "url": "https://inside.example.com/", "events": ["event"]], "URL must not point to a private network address"),
            (["siteId": site, "url": "https://unknown.example.com/", "events": ["event"]], "Invalid webhook URL"),
        ] as [([String: Any], String)] {
            let r = try await s.call("POST", "/api/webhooks", token: t, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body)")
        }
        #expect(try await s.call("POST", "/api/webhooks", token: t,
                                 json: ["siteId": "site_nope", "url": good, "events": ["event"]]).error == "Access denied")

        let created = try await s.call("POST", "/api/webhooks", token: t,
                                       json: ["siteId": site, "url": good, "events": ["pageview", "session_end"], "description": "CRM"])
        #expect(created.status == 201)
        let w = try #require(created.json["webhook"] as? [String: Any])
        let id = try #require(w["id"] as? String)
        let secret = try #require(w["secret"] as? String)
        #expect(secret.range(of: "^whsec_[0-9a-f]{32}$", options: .regularExpression) != nil)
        #expect(w["siteId"] as? String == site)
        #expect(w["url"] as? String == good)
        #expect(w["events"] as? [String] == ["pageview", "session_end"])
        #expect(w["description"] as? String == "CRM")
        #expect(w["active"] as? Bool == true)
        #expect(w["failureCount"] as? Int == 0)
        #expect(w["disabledReason"] is NSNull)
        #expect(w["lastTriggered"] is NSNull)

        let list = try await s.call("GET", "/api/webhooks?siteId=\(site)", token: t)
        #expect(list.status == 200)
        #expect(list.json["availableEvents"] as? [String] == ["pageview", "event", "goal", "alert", "session_end", "activity"])
        let listed = try #require((list.json["webhooks"] as? [[String: Any]])?.first)
        #expect(listed["secret"] == nil)
        #expect(!list.text.contains(secret))
        #expect(try await s.call("GET", "/api/webhooks", token: t).error == "Site ID required")

        // 10 per site: nine more, then 409.
        for k in 2...10 {
            let r = try await s.call("POST", "/api/webhooks", token: t, json: ["siteId": site, "url": good + "/\(k)", "events": ["event"]])
            #expect(r.status == 201)
        }
        let over = try await s.call("POST", "/api/webhooks", token: t, json: ["siteId": site, "url": good, "events": ["event"]])
        #expect(over.status == 409)
        #expect(over.error == "Webhook limit reached (10 per site)")

        // PATCH: validation, deactivate, reactivate resets the failure count.
        #expect(try await s.call("PATCH", "/api/webhooks", token: t, json: ["events": ["event"]]).error == "Webhook ID required")
        #expect(try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": "wh_nope"]).error == "Webhook not found")
        #expect(try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": id, "events": ["nope"]]).error == "Invalid event type: nope")
        #expect(try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": id, "url": "https://127.0.0.1/"]).error
                == "URL must not point to a private network address")
        #expect(try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": id, "active": "yes"]).error == "Invalid active")
        let off = try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": id, "active": false, "events": ["event"]])
        #expect(off.status == 200)
        #expect((off.json["webhook"] as? [String: Any])?["active"] as? Bool == false)
        #expect((off.json["webhook"] as? [String: Any])?["events"] as? [String] == ["event"])
        #expect((off.json["webhook"] as? [String: Any])?["secret"] == nil)
        try await s.server.core.meta.pool.write { db in
            try db.execute(sql: "UPDATE webhooks SET failure_count = 7, disabled_reason = 'x' WHERE id = ?", arguments: [id])
        }
        let on = try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": id, "active": true, "description": NSNull()])
        let onW = try #require(on.json["webhook"] as? [String: Any])
        #expect(onW["active"] as? Bool == true)
        #expect(onW["failureCount"] as? Int == 0)
        #expect(onW["disabledReason"] is NSNull)
        #expect(onW["description"] is NSNull)

        // DELETE.
        #expect(try await s.call("DELETE", "/api/webhooks", token: t).error == "Webhook ID required")
        let del = try await s.call("DELETE", "/api/webhooks?id=\(id)", token: t)
        #expect(del.status == 200)
        #expect(del.json["message"] as? String == "Webhook deleted successfully")
        #expect(try await s.call("DELETE", "/api/webhooks?id=\(id)", token: t).error == "Webhook not found")
        #expect(try await s.call("POST", "/api/webhooks/\(id)/test", token: t).error == "Webhook not found")
        // Room for one again.
        #expect(try await s.call("POST", "/api/webhooks", token: t, json: ["siteId": site, "url": good, "events": ["event"]]).status == 201)

        // Deleting the site removes its webhooks (cascade).
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: t).status == 200)
        let left = try await s.server.core.meta.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhooks") }
        #expect(left == 0)
        #expect(s.server.core.webhooks.hooks(siteId: site).isEmpty)
        try await s.stop()
    }

    @Test func rolesAndKeyScopes() async throws {
        let s = try await TestServer.start { $0.webhookResolver = StaticResolver(["hooks.example.com": [Self.publicIP]]) }
        let owner = try await s.register("owner@example.com")
        let other = try await s.register("other@example.com")
        let site = try await s.createSite(owner, domain: "shop.example.com")
        let hook = try await Self.create(s, owner, site: site, url: "https://hooks.example.com/", events: ["event"])
        let body: [String: Any] = ["siteId": site, "url": "https://hooks.example.com/2", "events": ["event"]]

        // No role: the site is invisible.
        #expect(try await s.call("GET", "/api/webhooks?siteId=\(site)", token: other).error == "Access denied")
        #expect(try await s.call("POST", "/api/webhooks", token: other, json: body).error == "Access denied")
        #expect(try await s.call("PATCH", "/api/webhooks", token: other, json: ["id": hook.id, "active": false]).error == "Webhook not found")
        #expect(try await s.call("DELETE", "/api/webhooks?id=\(hook.id)", token: other).error == "Webhook not found")
        #expect(try await s.call("POST", "/api/webhooks/\(hook.id)/test", token: other).error == "Webhook not found")

        // Viewer and editor: visible, not allowed; admin: allowed.
        let otherId = try await s.server.core.meta.pool.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM users WHERE email = 'other@example.com'")
        }
        for role in ["viewer", "editor", "admin"] {
            try await s.server.core.meta.pool.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO site_members (site_id, user_id, role, joined_at) VALUES (?, ?, ?, 0)",
                               arguments: [site, otherId, role])
            }
            let get = try await s.call("GET", "/api/webhooks?siteId=\(site)", token: other)
            let patch = try await s.call("PATCH", "/api/webhooks", token: other, json: ["id": hook.id, "description": role])
            if role == "admin" {
                #expect(get.status == 200)
                #expect(patch.status == 200)
            } else {
                #expect(get.error == "Insufficient permissions", "\(role)")
                #expect(patch.error == "Insufficient permissions", "\(role)")
                #expect(try await s.call("POST", "/api/webhooks", token: other, json: body).error == "Insufficient permissions")
                #expect(try await s.call("DELETE", "/api/webhooks?id=\(hook.id)", token: other).error == "Insufficient permissions")
            }
        }

        // Keys: write scope is not enough, admin scope is; a key bound to another site is refused.
        func key(_ scope: String, site: String? = nil) async throws -> String {
            var b: [String: Any] = ["name": scope, "scope": scope]
            if let site { b["siteId"] = site }
            let r = try await s.call("POST", "/api/api-keys", token: owner, json: b)
            return try #require((r.json["apiKey"] as? [String: Any])?["key"] as? String)
        }
        let write = try await key("write"), admin = try await key("admin")
        #expect(try await s.call("GET", "/api/webhooks?siteId=\(site)", token: write).error == "API key does not allow this operation")
        #expect(try await s.call("POST", "/api/webhooks", token: write, json: body).error == "API key does not allow this operation")
        #expect(try await s.call("GET", "/api/webhooks?siteId=\(site)", token: admin).status == 200)
        let site2 = try await s.createSite(owner, domain: "other.example.com")
        let bound = try await key("admin", site: site2)
        #expect(try await s.call("GET", "/api/webhooks?siteId=\(site)", token: bound).error == "API key does not allow this operation")
        #expect(try await s.call("GET", "/api/webhooks?siteId=\(site2)", token: bound).status == 200)
        // Parameters come before visibility and role.
        #expect(try await s.call("POST", "/api/webhooks", token: other, json: ["siteId": site]).error == "Site ID and URL required")
        try await s.stop()
    }

    // MARK: SSRF guard

    /// Every private range is refused at creation without `WEBHOOK_ALLOW_PRIVATE`, whether the
    /// URL names the address or a host resolving to it; allowed with it.
    @Test func privateAddressesRefusedAtCreation() async throws {
        let privateAddresses = ["127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1",
                                "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3",
                                "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd00:ec2::254", "fe80::1",
                                "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "ff02::1", "64:ff9b::a9fe:a9fe"]
        let resolver = StaticResolver()
        for (k, a) in privateAddresses.enumerated() { resolver.set("h\(k).example.com", [a]) }
        resolver.set("mixed.example.com", [Self.publicIP, "192.168.0.10"])
        resolver.set("public.example.com", [Self.publicIP])
        for allow in [false, true] {
            let s = try await TestServer.start { c in
                c.webhookResolver = resolver
                c.webhookAllowPrivate = allow
            }
            let t = try await s.register("owner@example.com")
            let site = try await s.createSite(t, domain: "shop.example.com")
            var urls = privateAddresses.map { $0.contains(":") ? "https://[\($0)]/hook" : "https://\($0)/hook" }
            urls += privateAddresses.indices.map { "https://h\($0).example.com/hook" }
            urls.append("https://mixed.example.com/")
            var created = 0
            for u in urls {
                let r = try await s.call("POST", "/api/webhooks", token: t, json: ["siteId": site, "url": u, "events": ["event"]])
                if allow {
                    #expect(r.status == 201, "\(u): \(r.text)")
                    if r.status == 201 { created += 1 }
                    // Stay under the limit of 10.
                    if created == 9, let id = (r.json["webhook"] as? [String: Any])?["id"] as? String {
                        _ = try await s.call("DELETE", "/api/webhooks?id=\(id)", token: t)
                        created -= 1
                    }
                } else {
                    #expect(r.status == 400, "\(u)")
                    #expect(r.error == "URL must not point to a private network address", "\(u)")
                }
            }
            #expect(try await s.call("POST", "/api/webhooks", token: t,
                                     json: ["siteId": site, "url": "https://public.example.com/", "events": ["event"]]).status == 201)
            try await s.stop()
        }
    }

    /// A name that resolved to a public address at creation but resolves to a private one at
    /// delivery is refused at delivery (no request reaches the receiver); with
    /// `WEBHOOK_ALLOW_PRIVATE` the same delivery goes to the address the resolver gave, which
    /// the system resolver knows nothing about — the connection uses the checked address.
    @Test func privateAddressRefusedAtDelivery() async throws {
        let receiver = try await WebhookReceiver.start()
        for allowPrivate in [false, true] {
            let resolver = StaticResolver(["hook.invalid": [Self.publicIP]])
            let (s, t, site) = try await Self.setUp { c in
                c.webhookResolver = resolver
                c.webhookAllowPrivate = allowPrivate
            }
            let path = "/moved-\(allowPrivate)"
            let hook = try await Self.create(s, t, site: site, url: receiver.url(path, host: "hook.invalid"), events: ["event"])
            resolver.set("hook.invalid", ["127.0.0.1"])
            _ = try await s.call("POST", "/api/track", json: ["type": "event", "siteId": site, "action": "signup"], headers: Self.origin)
            if allowPrivate {
                try await eventually("delivery to the pinned address") { receiver.hits(path).count == 1 }
                #expect(receiver.hits(path).first?.headers["host"]?.hasPrefix("hook.invalid") == true)
            } else {
                try await eventually("refused delivery counted") {
                    try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 1
                }
                #expect(receiver.hits(path).isEmpty)
                #expect(try await Self.metric(s, #"zta_webhook_deliveries_total{result="failed"}"#) == 1)
                let test = try await s.call("POST", "/api/webhooks/\(hook.id)/test", token: t)
                #expect(test.json["success"] as? Bool == false)
                #expect(test.json["message"] as? String == "URL must not point to a private network address")
                #expect(receiver.hits(path).isEmpty)
            }
            try await s.stop()
        }
        await receiver.stop()
    }

    // MARK: Delivery

    @Test func pageviewAndEventDeliveriesAreSigned() async throws {
        let receiver = try await WebhookReceiver.start()
        let (s, t, site) = try await Self.setUp()
        let hook = try await Self.create(s, t, site: site, url: receiver.url("/hook"), events: ["pageview", "event"])
        let pv = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/pricing",
                                                               "referrer": "https://news.example.org/story?id=1"], headers: Self.origin)
        #expect(pv.status == 200)
        _ = try await s.call("POST", "/api/track", json: ["type": "event", "siteId": site, "path": "/pricing", "action": "signup",
                                                          "category": "cta", "label": "hero", "value": 12.5], headers: Self.origin)
        // Not subscribed, not sent.
        _ = try await s.call("POST", "/api/track", json: ["type": "heartbeat", "siteId": site], headers: Self.origin)
        try await eventually("two deliveries") { receiver.hits("/hook").count == 2 }

        let hits = receiver.hits("/hook")
        var byEvent: [String: WebhookReceiver.Hit] = [:]
        for h in hits {
            #expect(h.headers["x-zta-signature"] == "sha256=" + Self.hmac(hook.secret, h.body), "signature over the raw bytes")
            #expect(h.headers["content-type"] == "application/json")
            #expect(h.headers["user-agent"] == "ZTA-Webhooks/1")
            #expect(h.headers["x-zta-webhook-id"] == hook.id)
            #expect(h.headers["x-zta-delivery"] == h.json["id"] as? String)
            #expect((h.json["id"] as? String)?.isEmpty == false)
            #expect(h.headers["x-zta-event"] == h.json["event"] as? String)
            #expect((h.json["timestamp"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
            #expect(Set(h.json.keys) == ["id", "event", "timestamp", "data"])
            byEvent[h.json["event"] as? String ?? ""] = h
        }
        let p = try #require(byEvent["pageview"]).data
        #expect(Set(p.keys) == ["siteId", "path", "referrer", "country", "device", "browser"])
        #expect(p["siteId"] as? String == site)
        #expect(p["path"] as? String == "/pricing")
        #expect(p["referrer"] as? String == "news.example.org")
        #expect(p["device"] as? String == "desktop")
        #expect(p["browser"] as? String == "Chrome")
        let e = try #require(byEvent["event"]).data
        #expect(Set(e.keys) == ["siteId", "action", "category", "label", "value", "path"])
        #expect(e["action"] as? String == "signup")
        #expect(e["category"] as? String == "cta")
        #expect(e["label"] as? String == "hero")
        #expect(e["value"] as? Double == 12.5)
        #expect(e["path"] as? String == "/pricing")
        // A tampered body does not verify.
        var tampered = hits[0].body
        tampered[tampered.count - 2] ^= 1
        #expect(hits[0].headers["x-zta-signature"] != "sha256=" + Self.hmac(hook.secret, tampered))

        try await eventually("success counted") {
            try await Self.metric(s, #"zta_webhook_deliveries_total{result="success"}"#) == 2
        }
        try await eventually("lastTriggered stamped") {
            try await Self.webhook(s, t, site: site, id: hook.id)["lastTriggered"] is String
        }

        // Imported events trigger nothing.
        let line = #"{"ts":"2026-01-02T03:04:05.000Z","site":"\#(site)","type":"pageview","path":"/imported","visitor":"v1","session":"s1"}"# + "\n"
        let imp = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(line.utf8))
        #expect(imp.status == 200 || imp.status == 201, "\(imp.text)")
        // The test endpoint goes through the same queue-free path and shows the import sent nothing.
        let test = try await s.call("POST", "/api/webhooks/\(hook.id)/test", token: t)
        #expect(test.json["success"] as? Bool == true)
        #expect(test.json["status"] as? Int == 200)
        #expect(test.json["message"] as? String == "Test webhook delivered successfully")
        let all = receiver.hits("/hook")
        #expect(all.count == 3)
        let testHit = try #require(all.last)
        #expect(testHit.json["event"] as? String == "test")
        #expect(testHit.data["webhookId"] as? String == hook.id)
        #expect(testHit.data["message"] is String)
        #expect(testHit.headers["x-zta-signature"] == "sha256=" + Self.hmac(hook.secret, testHit.body))
        try await s.stop()
        await receiver.stop()
    }

    /// 503, 503, 200: three attempts, waits of exactly 5 s and 25 s (recorded, not slept), the
    /// same delivery id; 429 and 5xx retry, other statuses fail at once.
    @Test func retriesAtTheSpecifiedOffsets() async throws {
        let receiver = try await WebhookReceiver.start()
        let sleeps = SleepRecorder()
        let (s, t, site) = try await Self.setUp { $0.webhookSleep = sleeps.sleep }
        #expect(s.server.core.config.webhookRetryDelays == [.seconds(5), .seconds(25)])
        let hook = try await Self.create(s, t, site: site, url: receiver.url("/flaky"), events: ["event"])
        receiver.plan("/flaky", [503, 429, 200])
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["siteId": .string(site), "action": "a"])
        try await eventually("three attempts") { receiver.hits("/flaky").count == 3 }
        try await eventually("success counted") {
            try await Self.metric(s, #"zta_webhook_deliveries_total{result="success"}"#) == 1
        }
        #expect(sleeps.waits.withLock { $0 } == [.seconds(5), .seconds(25)])
        let ids = Set(receiver.hits("/flaky").map { $0.headers["x-zta-delivery"] ?? "" })
        #expect(ids.count == 1)
        #expect(Set(receiver.hits("/flaky").map(\.body)).count == 1, "the same bytes on every attempt")
        #expect(try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 0)

        // Three 500s: all attempts used, one failure.
        receiver.plan("/flaky", [500])
        sleeps.waits.withLock { $0 = [] }
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": 2])
        try await eventually("failure counted") { try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 1 }
        #expect(receiver.hits("/flaky").count == 6)
        #expect(sleeps.waits.withLock { $0 } == [.seconds(5), .seconds(25)])
        // The failure count is written before the line is logged: wait for the line too.
        try await eventually("failure logged") {
            s.logs.lines.withLock { l in l.contains { $0.0 == "webhook.failed" && $0.1["webhookId"] == hook.id } }
        }

        // 404: no retry. A success afterwards resets the count.
        receiver.plan("/flaky", [404, 200])
        sleeps.waits.withLock { $0 = [] }
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": 3])
        try await eventually("second failure") { try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 2 }
        #expect(receiver.hits("/flaky").count == 7)
        #expect(sleeps.waits.withLock { $0 }.isEmpty)
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": 4])
        try await eventually("reset by a success") { try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 0 }

        // Not subscribed: nothing queued.
        s.server.core.emitWebhook(siteId: site, event: .alert, data: ["n": 5])
        #expect(s.server.core.webhooks.pendingCount == 0)
        try await s.stop()
        await receiver.stop()
    }

    /// A network error (nothing listening) retries too.
    @Test func networkErrorsRetry() async throws {
        let sleeps = SleepRecorder()
        let (s, t, site) = try await Self.setUp { c in
            c.webhookSleep = sleeps.sleep
            #expect(c.webhookTimeout == .seconds(5))
            // The client keeps trying a refused connection until the attempt's time is up.
            c.webhookTimeout = .milliseconds(300)
        }
        // A port bound but not listening: every connection refused, for the whole test.
        let closed = try ClosedPort()
        let dead = closed.url("/gone")
        let hook = try await Self.create(s, t, site: site, url: dead, events: ["event"])
        s.server.core.emitWebhook(siteId: site, event: .event, data: [:])
        try await eventually("failure counted") { try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 1 }
        #expect(sleeps.waits.withLock { $0 } == [.seconds(5), .seconds(25)])
        let test = try await s.call("POST", "/api/webhooks/\(hook.id)/test", token: t)
        #expect(test.json["success"] as? Bool == false)
        #expect(test.json["status"] == nil)
        #expect((test.json["message"] as? String)?.hasPrefix("Webhook delivery failed") == true)
        try await s.stop()
        withExtendedLifetime(closed) {}
    }

    @Test func tenthConsecutiveFailureDisables() async throws {
        let receiver = try await WebhookReceiver.start()
        let (s, t, site) = try await Self.setUp()
        let hook = try await Self.create(s, t, site: site, url: receiver.url("/broken"), events: ["event"])
        receiver.plan("/broken", [400])
        for n in 1...9 {
            s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": .int(n)])
            try await eventually("failure \(n)") { try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == n }
        }
        var w = try await Self.webhook(s, t, site: site, id: hook.id)
        #expect(w["active"] as? Bool == true)
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": 10])
        try await eventually("disabled") { try await Self.webhook(s, t, site: site, id: hook.id)["active"] as? Bool == false }
        w = try await Self.webhook(s, t, site: site, id: hook.id)
        #expect(w["failureCount"] as? Int == 10)
        #expect(w["disabledReason"] as? String == "Too many consecutive failures")
        #expect(receiver.hits("/broken").count == 10)
        // Disabled: nothing more is queued or sent.
        try await eventually("unregistered") { s.server.core.webhooks.hooks(siteId: site).isEmpty }
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": 11])
        #expect(s.server.core.webhooks.pendingCount == 0)
        // Reactivated: the count starts again.
        receiver.plan("/broken", [200])
        let on = try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": hook.id, "active": true])
        #expect((on.json["webhook"] as? [String: Any])?["failureCount"] as? Int == 0)
        s.server.core.emitWebhook(siteId: site, event: .event, data: ["n": 12])
        try await eventually("delivered after reactivation") { receiver.hits("/broken").count == 11 }
        try await s.stop()
        await receiver.stop()
    }

    @Test func redirectsAreNotFollowed() async throws {
        let receiver = try await WebhookReceiver.start()
        let sleeps = SleepRecorder()
        let (s, t, site) = try await Self.setUp { $0.webhookSleep = sleeps.sleep }
        let hook = try await Self.create(s, t, site: site, url: receiver.url("/redirect"), events: ["event"])
        s.server.core.emitWebhook(siteId: site, event: .event, data: [:])
        try await eventually("failure counted") { try await Self.webhook(s, t, site: site, id: hook.id)["failureCount"] as? Int == 1 }
        #expect(receiver.hits("/redirect").count == 1)
        #expect(receiver.hits("/target").isEmpty)
        #expect(sleeps.waits.withLock { $0 }.isEmpty, "a 3xx is not retried")
        let test = try await s.call("POST", "/api/webhooks/\(hook.id)/test", token: t)
        #expect(test.json["success"] as? Bool == false)
        #expect(test.json["status"] as? Int == 302)
        #expect(receiver.hits("/target").isEmpty)
        try await s.stop()
        await receiver.stop()
    }

    /// `session_end` 30 minutes after a session's last event, from the sweep (driven here with
    /// an explicit "now" instead of waiting).
    @Test func sessionEndAfterThirtyIdleMinutes() async throws {
        let receiver = try await WebhookReceiver.start()
        let (s, t, site) = try await Self.setUp()
        _ = try await Self.create(s, t, site: site, url: receiver.url("/sessions"), events: ["session_end"])
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        for body: [String: Any] in [
            ["type": "pageview", "siteId": site, "path": "/landing", "sessionId": "s-1"],
            ["type": "event", "siteId": site, "path": "/landing", "action": "click", "sessionId": "s-1"],
            ["type": "pageview", "siteId": site, "path": "/checkout", "sessionId": "s-1"],
            ["type": "heartbeat", "siteId": site, "path": "/checkout", "sessionId": "s-1"],
            ["type": "pageview", "siteId": site, "path": "/other", "sessionId": "s-2"],
        ] {
            #expect(try await s.call("POST", "/api/track", json: body, headers: Self.origin).status == 200)
        }
        let ended = Int64(Date().timeIntervalSince1970 * 1000)
        let webhooks = s.server.core.webhooks
        #expect(webhooks.sessions.count == 2)
        #expect(webhooks.sweepSessions(nowMs: started + 29 * 60_000) == 0, "not idle for 30 minutes yet")
        #expect(webhooks.sweepSessions(nowMs: ended + 30 * 60_000) == 2)
        #expect(webhooks.sessions.count == 0)
        try await eventually("two session_end deliveries") { receiver.hits("/sessions").count == 2 }
        let byEntry = Dictionary(receiver.hits("/sessions").map { ($0.data["entryPage"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let first = try #require(byEntry["/landing"])
        #expect(first.json["event"] as? String == "session_end")
        #expect(Set(first.data.keys) == ["siteId", "entryPage", "exitPage", "pageviews", "events", "duration"])
        #expect(first.data["siteId"] as? String == site)
        #expect(first.data["exitPage"] as? String == "/checkout")
        #expect(first.data["pageviews"] as? Int == 2)
        #expect(first.data["events"] as? Int == 1)
        let duration = try #require(first.data["duration"] as? Int)
        #expect(duration >= 0 && Int64(duration) <= (ended - started) / 1000 + 1)
        let second = try #require(byEntry["/other"])
        #expect(second.data["pageviews"] as? Int == 1)
        #expect(second.data["events"] as? Int == 0)
        #expect(second.data["exitPage"] as? String == "/other")
        // Sites without a session_end subscriber are not followed.
        let t2 = try await s.register("b@example.com")
        let site2 = try await s.createSite(t2, domain: "b.example.com")
        _ = try await Self.create(s, t2, site: site2, url: receiver.url("/b"), events: ["pageview"])
        _ = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site2], headers: [("Origin", "https://b.example.com")])
        #expect(webhooks.sessions.count == 0)
        try await s.stop()
        await receiver.stop()
    }

    /// `goal` at a goal's first completion in a session (pageview, event and duration goals);
    /// goal changes reach the matchers without a restart.
    @Test func goalEventsAtFirstCompletionPerSession() async throws {
        let receiver = try await WebhookReceiver.start()
        let (s, t, site) = try await Self.setUp()
        func goal(_ body: [String: Any]) async throws -> String {
            var b = body
            b["siteId"] = site
            let r = try await s.call("POST", "/api/goals", token: t, json: b)
            return try #require((r.json["goal"] as? [String: Any])?["id"] as? String, "\(r.text)")
        }
        let checkout = try await goal(["name": "Checkout", "type": "pageview", "path": "/checkout", "matchType": "contains", "value": 3])
        _ = try await Self.create(s, t, site: site, url: receiver.url("/goals"), events: ["goal"])
        // Created after the webhook: picked up through the goal route.
        let signup = try await goal(["name": "Signup", "type": "event", "eventAction": "signup", "value": 1])
        func track(_ body: [String: Any]) async throws {
            var b = body
            b["siteId"] = site
            #expect(try await s.call("POST", "/api/track", json: b, headers: Self.origin).status == 200)
        }
        try await track(["type": "pageview", "path": "/cart/checkout", "sessionId": "g-1"])
        try await track(["type": "pageview", "path": "/checkout/done", "sessionId": "g-1"])  // same session: not again
        try await track(["type": "pageview", "path": "/home", "sessionId": "g-1"])
        try await track(["type": "event", "action": "signup", "value": 9, "path": "/home", "sessionId": "g-1"])
        try await track(["type": "pageview", "path": "/checkout", "sessionId": "g-2"])  // another session: again
        try await eventually("three goal deliveries") { receiver.hits("/goals").count == 3 }
        let hits = receiver.hits("/goals")
        #expect(hits.allSatisfy { $0.json["event"] as? String == "goal" && $0.headers["x-zta-event"] == "goal" })
        for h in hits { #expect(Set(h.data.keys) == ["siteId", "goalId", "goalName", "path", "value"]) }
        let checkouts = hits.filter { $0.data["goalId"] as? String == checkout }
        #expect(checkouts.map { $0.data["path"] as? String } == ["/cart/checkout", "/checkout"])
        #expect(checkouts.allSatisfy { $0.data["goalName"] as? String == "Checkout" && $0.data["value"] as? Double == 3 })
        let signups = hits.filter { $0.data["goalId"] as? String == signup }
        #expect(signups.count == 1)
        #expect(signups.first?.data["value"] as? Double == 9, "an event's non-zero value wins")
        #expect(signups.first?.data["siteId"] as? String == site)

        // A deleted goal no longer fires.
        #expect(try await s.call("DELETE", "/api/goals?id=\(signup)", token: t).status == 200)
        try await track(["type": "event", "action": "signup", "sessionId": "g-3"])
        try await track(["type": "pageview", "path": "/checkout", "sessionId": "g-3"])
        try await eventually("the checkout of g-3") { receiver.hits("/goals").count == 4 }
        #expect(receiver.hits("/goals").last?.data["goalId"] as? String == checkout)
        #expect(receiver.hits("/goals").count == 4)

        // A duration goal completes once, with the event that makes the session last long enough
        // (records handed in directly, with chosen times).
        let long = try await goal(["name": "Long visit", "type": "duration", "durationSeconds": 60])
        let t0: Int64 = 1_800_000_000_000
        var records: [EventRecord] = []
        for (offset, path) in [(0, "/a"), (30_000, "/b"), (61_000, "/c"), (120_000, "/d")] as [(Int64, String)] {
            var r = EventRecord()
            r.ts = t0 + offset
            r.site = site
            r.type = .heartbeat
            r.session = 42
            r.path = path
            records.append(r)
        }
        s.server.core.webhooks.tracked(siteId: site, records: records)
        try await eventually("the duration goal") { receiver.hits("/goals").count == 5 }
        let durationHit = try #require(receiver.hits("/goals").last)
        #expect(durationHit.data["goalId"] as? String == long)
        #expect(durationHit.data["path"] as? String == "/c")
        #expect(durationHit.json["timestamp"] as? String == "2027-01-15T08:01:01.000Z")
        try await s.stop()
        #expect(receiver.hits("/goals").count == 5)
        await receiver.stop()
    }

    /// ≤ N pending per webhook: the oldest are dropped and counted in /metrics.
    @Test func queueDropsTheOldest() async throws {
        let receiver = try await WebhookReceiver.start()
        let (s, t, site) = try await Self.setUp { c in
            c.webhookQueueLimit = 3
            c.webhookSendersPerHook = 1
        }
        _ = try await Self.create(s, t, site: site, url: receiver.url("/gate"), events: ["event"])
        let core = s.server.core
        core.emitWebhook(siteId: site, event: .event, data: ["n": 0])
        try await eventually("first delivery in flight") { receiver.hits("/gate").count == 1 }
        for n in 1...9 { core.emitWebhook(siteId: site, event: .event, data: ["n": .int(n)]) }
        #expect(core.webhooks.pendingCount == 3)
        #expect(try await Self.metric(s, "zta_webhook_dropped_total") == 6)
        #expect(try await Self.metric(s, #"zta_webhook_deliveries_total{result="dropped"}"#) == 6)
        receiver.openGate()
        try await eventually("the newest three delivered") { receiver.hits("/gate").count == 4 }
        #expect(receiver.hits("/gate").map { $0.data["n"] as? Int ?? -1 } == [0, 7, 8, 9])
        try await s.stop()
        await receiver.stop()
    }
}
