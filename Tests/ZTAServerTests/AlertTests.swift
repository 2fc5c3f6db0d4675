import Foundation
import Synchronization
import Testing
@testable import ZTAServer

/// api.md §7.7 alerts: CRUD, validation, roles, and the evaluator walked through simulated days
/// over imported events (no sleeps: `evaluateAlerts(at:)` is the 5-minute job with an injected clock).
@Suite("Alerts", .serialized)
struct AlertTests {
    /// 2026-03-01T00:00:00Z, ms.
    static let t0: Int64 = 1_772_323_200_000
    static let minute: Int64 = 60_000, hour: Int64 = 3_600_000, day: Int64 = 86_400_000

    /// The server without its own evaluator loop (the tests drive it).
    static func start() async throws -> TestServer {
        try await TestServer.start { $0.alertInterval = 0 }
    }

    static func threshold(_ site: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var b: [String: Any] = ["siteId": site, "name": "Traffic spike", "type": "threshold", "metric": "pageviews",
                                "notifications": ["email"], "operator": ">", "threshold": 1000, "period": "1h"]
        for (k, v) in extra { b[k] = v }
        return b
    }

    @Test func crudAndValidation() async throws {
        let s = try await Self.start()
        let t = try await s.register("owner@example.com")
        let site = try await s.createSite(t, domain: "alerts.example.com")

        let created = try await s.call("POST", "/api/alerts", token: t, json: Self.threshold(site))
        #expect(created.status == 201)
        let alert = try #require(created.json["alert"] as? [String: Any])
        let id = try #require(alert["id"] as? String)
        #expect(id.hasPrefix("alert_"))
        #expect(alert["siteId"] as? String == site)
        #expect(alert["condition"] as? String == "pageviews > 1000")
        #expect(alert["enabled"] as? Bool == true)
        #expect(alert["triggerCount"] as? Int == 0)
        #expect(alert["lastTriggered"] is NSNull)
        #expect(alert["compareWith"] as? String == "previous_period")
        #expect(alert["sensitivity"] as? String == "medium")
        #expect(alert["notifications"] as? [String] == ["email"])

        let cmp = try await s.call("POST", "/api/alerts", token: t, json: [
            "siteId": site, "name": "Conversions down", "type": "comparison", "metric": "conversionRate",
            "notifications": ["email", "webhook", "email"], "operator": "<", "threshold": -20, "period": "7d",
            "compareWith": "previous_week"])
        #expect(cmp.status == 201)
        let cmpAlert = try #require(cmp.json["alert"] as? [String: Any])
        #expect(cmpAlert["condition"] as? String == "conversionRate < -20%")
        #expect(cmpAlert["notifications"] as? [String] == ["email", "webhook"])
        let anomaly = try await s.call("POST", "/api/alerts", token: t, json: [
            "siteId": site, "name": "Odd", "type": "anomaly", "metric": "sessions", "notifications": ["email"],
            "operator": "nonsense", "period": "7d", "sensitivity": "high"])
        #expect(anomaly.status == 201)
        let an = try #require(anomaly.json["alert"] as? [String: Any])
        #expect(an["period"] as? String == "1h")
        #expect(an["operator"] is NSNull)
        #expect(an["threshold"] is NSNull)
        #expect(an["condition"] as? String == "sessions anomaly (high sensitivity)")
        let decimal = try await s.call("POST", "/api/alerts", token: t, json: Self.threshold(site, ["metric": "bounceRate", "operator": "<=", "threshold": 42.5]))
        #expect((decimal.json["alert"] as? [String: Any])?["condition"] as? String == "bounceRate <= 42.5")

        // Every 400 of §7.7, first failure wins in the order the fields are listed.
        let cases: [([String: Any], String)] = [
            (["name": "x"], "Site ID required"),
            (["siteId": site, "type": "threshold"], "Alert name is required"),
            (["siteId": site, "name": "   "], "Alert name is required"),
            (["siteId": site, "name": String(repeating: "a", count: 101)], "name must be at most 100 characters"),
            (["siteId": site, "name": "a", "type": "sometimes"], "Invalid alert type. Must be: threshold, comparison, or anomaly"),
            (["siteId": site, "name": "a", "type": "threshold", "metric": "revenue"], "Invalid metric"),
            (["siteId": site, "name": "a", "type": "threshold", "metric": "goal..completions"], "Invalid metric"),
            (["siteId": site, "name": "a", "type": "threshold", "metric": "funnel.f.completions"], "Invalid metric"),
            (["siteId": site, "name": "a", "type": "threshold"], "metric is required"),
            (["siteId": site, "name": "a", "type": "threshold", "metric": "pageviews"], "At least one notification channel is required"),
            (["siteId": site, "name": "a", "type": "threshold", "metric": "pageviews", "notifications": []],
             "At least one notification channel is required"),
            (["siteId": site, "name": "a", "type": "threshold", "metric": "pageviews", "notifications": ["email", "slack"]],
             "Invalid notification channel: slack"),
            (Self.threshold(site, ["operator": "=="]), "Invalid operator"),
            (Self.threshold(site, ["type": "comparison", "operator": ">="]), "Invalid operator"),
            (Self.threshold(site, ["threshold": NSNull()]), "Threshold is required"),
            (Self.threshold(site, ["threshold": "high"]), "Invalid threshold"),
            (Self.threshold(site, ["period": "30d"]), "Invalid period. Must be: 1h, 24h, or 7d"),
            (Self.threshold(site, ["compareWith": "yesterday"]), "Invalid compareWith"),
            (Self.threshold(site, ["sensitivity": "extreme"]), "Invalid sensitivity"),
        ]
        for (body, message) in cases {
            let r = try await s.call("POST", "/api/alerts", token: t, json: body)
            #expect(r.status == 400, "\(message)")
            #expect(r.error == message)
        }
        var noThreshold = Self.threshold(site)
        noThreshold.removeValue(forKey: "threshold")
        #expect(try await s.call("POST", "/api/alerts", token: t, json: noThreshold).error == "Threshold is required")
        // Goals and funnels are looked up after the role check: none exists here.
        let goal = try await s.call("POST", "/api/alerts", token: t, json: Self.threshold(site, ["metric": "goal.goal_x1.completions"]))
        #expect(goal.status == 404)
        #expect(goal.error == "Goal not found: goal_x1")
        let funnel = try await s.call("POST", "/api/alerts", token: t, json: Self.threshold(site, ["metric": "funnel.fun_9.conversionRate"]))
        #expect(funnel.error == "Funnel not found: fun_9")

        let list = try await s.call("GET", "/api/alerts?siteId=\(site)", token: t)
        let alerts = try #require(list.json["alerts"] as? [[String: Any]])
        #expect(alerts.count == 4)
        #expect(alerts.last?["id"] as? String == id, "newest first")
        let detail = try await s.call("GET", "/api/sites/\(site)", token: t)
        #expect(((detail.json["site"] as? [String: Any])?["alerts"] as? [[String: Any]])?.count == 4)

        let patched = try await s.call("PATCH", "/api/alerts", token: t, json: ["id": id, "enabled": false, "threshold": 250,
                                                                                 "operator": ">=", "name": "Renamed"])
        #expect(patched.status == 200)
        let p = try #require(patched.json["alert"] as? [String: Any])
        #expect(p["enabled"] as? Bool == false)
        #expect(p["name"] as? String == "Renamed")
        #expect(p["condition"] as? String == "pageviews >= 250")
        #expect(p["type"] as? String == "threshold")
        let cmpId = try #require(cmpAlert["id"] as? String)
        #expect(try await s.call("PATCH", "/api/alerts", token: t, json: ["id": cmpId, "operator": "<="]).error == "Invalid operator")
        #expect(try await s.call("PATCH", "/api/alerts", token: t, json: ["id": id, "period": "2h"]).error == "Invalid period. Must be: 1h, 24h, or 7d")
        #expect(try await s.call("PATCH", "/api/alerts", token: t, json: ["id": id, "notifications": []]).error
                == "At least one notification channel is required")
        #expect(try await s.call("PATCH", "/api/alerts", token: t, json: ["enabled": true]).error == "Alert ID required")
        let unknown = try await s.call("PATCH", "/api/alerts", token: t, json: ["id": "alert_nope", "enabled": true])
        #expect(unknown.status == 404)
        #expect(unknown.error == "Alert not found")

        let history = try await s.call("GET", "/api/alerts/\(id)/history", token: t)
        #expect(history.status == 200)
        #expect((history.json["alert"] as? [String: Any])?["name"] as? String == "Renamed")
        #expect((history.json["history"] as? [Any])?.isEmpty == true)
        let page = try #require(history.json["pagination"] as? [String: Any])
        #expect(page["total"] as? Int == 0 && page["limit"] as? Int == 50 && page["offset"] as? Int == 0 && page["hasMore"] as? Bool == false)
        #expect(try await s.call("GET", "/api/alerts/\(id)/history?limit=101", token: t).error == "Limit must be between 1 and 100")
        #expect(try await s.call("GET", "/api/alerts/alert_nope/history", token: t).error == "Alert not found")
        let ack = try await s.call("POST", "/api/alerts/\(id)/acknowledge", token: t, json: ["triggerId": "trigger_nope"])
        #expect(ack.status == 404)
        #expect(ack.error == "Trigger not found")
        #expect(try await s.call("POST", "/api/alerts/\(id)/acknowledge", token: t, json: [:]).error == "Trigger ID required")

        let del = try await s.call("DELETE", "/api/alerts?id=\(id)", token: t)
        #expect(del.json["message"] as? String == "Alert deleted successfully")
        #expect(try await s.call("DELETE", "/api/alerts?id=\(id)", token: t).status == 404)
        #expect(try await s.call("DELETE", "/api/alerts", token: t).error == "Alert ID required")
        #expect((try await s.call("GET", "/api/alerts?siteId=\(site)", token: t).json["alerts"] as? [Any])?.count == 3)
        #expect(try await s.call("GET", "/api/alerts", token: t).error == "Site ID required")

        // Deleting the site takes its alerts along (cascade).
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: t).status == 200)
        let left = try await s.server.core.meta.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alerts") }
        #expect(left == 0)
        try await s.stop()
    }

    @Test func rolesAndScopes() async throws {
        let s = try await Self.start()
        let owner = try await s.register("owner@example.com")
        let viewer = try await s.register("viewer@example.com")
        let admin = try await s.register("admin@example.com")
        let stranger = try await s.register("stranger@example.com")
        let site = try await s.createSite(owner, domain: "roles.example.com")
        try await s.addMember(userId: try await s.userId(viewer), site, role: "viewer")
        try await s.addMember(userId: try await s.userId(admin), site, role: "admin")

        // Admins write; viewers read only; strangers see nothing.
        let byAdmin = try await s.call("POST", "/api/alerts", token: admin, json: Self.threshold(site))
        #expect(byAdmin.status == 201)
        let id = try #require((byAdmin.json["alert"] as? [String: Any])?["id"] as? String)
        let byViewer = try await s.call("POST", "/api/alerts", token: viewer, json: Self.threshold(site))
        #expect(byViewer.status == 403)
        #expect(byViewer.error == "Insufficient permissions")
        #expect(try await s.call("GET", "/api/alerts?siteId=\(site)", token: viewer).status == 200)
        #expect(try await s.call("GET", "/api/alerts/\(id)/history", token: viewer).status == 200)
        #expect(try await s.call("PATCH", "/api/alerts", token: viewer, json: ["id": id, "enabled": false]).error == "Insufficient permissions")
        #expect(try await s.call("DELETE", "/api/alerts?id=\(id)", token: viewer).error == "Insufficient permissions")
        #expect(try await s.call("POST", "/api/alerts/\(id)/acknowledge", token: viewer, json: ["triggerId": "x"]).error
                == "Insufficient permissions")
        let strangerPost = try await s.call("POST", "/api/alerts", token: stranger, json: Self.threshold(site))
        #expect(strangerPost.status == 403)
        #expect(strangerPost.error == "Access denied")
        #expect(try await s.call("GET", "/api/alerts?siteId=\(site)", token: stranger).error == "Access denied")
        #expect(try await s.call("GET", "/api/alerts/\(id)/history", token: stranger).error == "Alert not found")
        #expect(try await s.call("DELETE", "/api/alerts?id=\(id)", token: stranger).error == "Alert not found")
        // Parameters come before visibility (api.md §1): a stranger's bad body is a 400.
        #expect(try await s.call("POST", "/api/alerts", token: stranger, json: Self.threshold(site, ["type": "x"])).status == 400)

        // Keys: reads need `read`, writes `write` (a read key is refused before anything else).
        let readKey = try #require((try await s.call("POST", "/api/api-keys", token: owner, json: ["name": "r", "scope": "read"])
            .json["apiKey"] as? [String: Any])?["key"] as? String)
        let writeKey = try #require((try await s.call("POST", "/api/api-keys", token: owner, json: ["name": "w", "scope": "write"])
            .json["apiKey"] as? [String: Any])?["key"] as? String)
        #expect(try await s.call("GET", "/api/alerts?siteId=\(site)", token: readKey).status == 200)
        let readWrite = try await s.call("POST", "/api/alerts", token: readKey, json: Self.threshold(site))
        #expect(readWrite.status == 403)
        #expect(readWrite.error == "API key does not allow this operation")
        #expect(try await s.call("POST", "/api/alerts", token: writeKey, json: Self.threshold(site)).status == 201)
        #expect(try await s.call("DELETE", "/api/alerts?id=\(id)", token: readKey).error == "API key does not allow this operation")
        #expect(try await s.call("DELETE", "/api/alerts?id=\(id)", token: writeKey).status == 200)
        try await s.stop()
    }

    /// Webhook deliveries of `alert` events, recorded instead of sent.
    final class RecordingWebhooks: AlertWebhookSink {
        let events = Mutex<[(String, JSONValue)]>([])
        func wantsAlert(site: String) async -> Bool { true }
        func emitAlert(site: String, data: JSONValue) async { events.withLock { $0.append((site, data)) } }
    }

    /// NDJSON of the walk's data: on day d (1 = 2026-03-01, UTC) n(d) pageviews from 10:10 every
    /// 30 s, one visitor and session each; n = 10 + d % 3, except spikes of 60 on days 5 and 9.
    static func walkData(site: String) -> (String, [Int: Int]) {
        var text = ""
        var counts: [Int: Int] = [:]
        for d in 1...9 {
            let n = d == 5 || d == 9 ? 60 : 10 + d % 3
            counts[d] = n
            for j in 0..<n {
                let ts = t0 + Int64(d - 1) * day + 10 * hour + 10 * minute + Int64(j) * 30_000
                text += #"{"ts":\#(ts),"site":"\#(site)","type":"pageview","visitor":"v\#(d)-\#(j)","session":"s\#(d)-\#(j)","path":"/"}"# + "\n"
            }
        }
        return (text, counts)
    }

    /// The time of day `d` at `h:m` (UTC).
    static func at(_ d: Int, _ h: Int64, _ m: Int64) -> Int64 { t0 + Int64(d - 1) * day + h * hour + m * minute }

    @Test func evaluatorWalksSimulatedDays() async throws {
        let s = try await Self.start()
        let t = try await s.register("watcher@example.com")
        let site = try await s.createSite(t, domain: "walk.example.com")
        let (ndjson, _) = Self.walkData(site: site)
        let imported = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(ndjson.utf8),
                                        headers: [("Content-Type", "application/x-ndjson")])
        #expect(imported.status == 201)
        #expect(imported.json["accepted"] as? Int == 11 + 12 + 10 + 11 + 60 + 10 + 11 + 12 + 60)
        let hooks = RecordingWebhooks()
        s.server.core.alertWebhooks.withLock { $0 = hooks }

        func create(_ body: [String: Any]) async throws -> String {
            var b = body
            b["siteId"] = site
            let r = try await s.call("POST", "/api/alerts", token: t, json: b)
            #expect(r.status == 201, "\(r.text)")
            return try #require((r.json["alert"] as? [String: Any])?["id"] as? String)
        }
        let thresholdId = try await create(["name": "Spike", "type": "threshold", "metric": "pageviews", "operator": ">",
                                            "threshold": 50, "period": "1h", "notifications": ["email", "webhook"]])
        let neverId = try await create(["name": "Never", "type": "threshold", "metric": "pageviews", "operator": ">",
                                        "threshold": 1000, "period": "24h", "notifications": ["email"]])
        let comparisonId = try await create(["name": "Tripled", "type": "comparison", "metric": "pageviews", "operator": ">",
                                             "threshold": 200, "period": "24h", "notifications": ["email"]])
        let anomalyId = try await create(["name": "Odd hour", "type": "anomaly", "metric": "pageviews",
                                          "sensitivity": "medium", "notifications": ["email"]])

        // Nine days in 5-minute steps, as the service would run them.
        var firings: [Int64: Int] = [:]
        var now = Self.t0
        while now <= Self.at(9, 24, 0) {
            let n = await s.server.evaluateAlerts(at: now)
            if n > 0 { firings[now] = n }
            now += 5 * Self.minute
        }

        func history(_ id: String) async throws -> [[String: Any]] {
            let r = try await s.call("GET", "/api/alerts/\(id)/history", token: t)
            return try #require(r.json["history"] as? [[String: Any]])
        }
        func times(_ h: [[String: Any]]) -> [String] { h.compactMap { $0["triggeredAt"] as? String } }

        // Threshold > 50 in the last hour: all 60 of a spike are in the window from 10:40 (the
        // 51st pageview is at 10:35:00, inside [9:40, 10:40)). The cool-down (1 h) keeps it from
        // firing again at 10:45 … 11:10, while the window still holds 60.
        let th = try await history(thresholdId)
        #expect(times(th) == ["2026-03-09T10:40:00.000Z", "2026-03-05T10:40:00.000Z"])
        #expect(th.first?["value"] as? Double == 60)
        #expect(th.first?["threshold"] as? Double == 50)
        #expect(th.first?["condition"] as? String == "pageviews > 50")
        #expect(th.first?["notificationsSent"] as? [String] == ["email", "webhook"])
        #expect(th.first?["acknowledged"] as? Bool == false)

        // Comparison: +200 % over the previous 24 h. Day 1 has a zero baseline (skipped: it would
        // be an infinite increase); day 5 at 10:30 compares 40 with day 4's 11 (+263.64 %), day 9
        // 40 with day 8's 12 (+233.33 %). At 10:25 (30 vs 11, +172.7 %) it does not fire yet.
        let cmp = try await history(comparisonId)
        #expect(times(cmp) == ["2026-03-09T10:30:00.000Z", "2026-03-05T10:30:00.000Z"])
        #expect(cmp.map { $0["value"] as? Double } == [233.33, 263.64])

        // Anomaly: day 5's spike has only 4 earlier days of data (< 7): no firing. On day 9 at
        // 10:20 the hour holds 20 against 11, 12, 10, 11, 20, 10, 11, 12 (mean 12.125, σ 3.06,
        // k = 2 → 6.12 < 7.875).
        let an = try await history(anomalyId)
        #expect(times(an) == ["2026-03-09T10:20:00.000Z"])
        #expect(an.first?["value"] as? Double == 20)
        #expect(an.first?["threshold"] is NSNull)
        #expect(an.first?["condition"] as? String == "pageviews anomaly (medium sensitivity)")

        #expect(try await history(neverId).isEmpty)
        #expect(firings.values.reduce(0, +) == 5)

        // lastTriggered and triggerCount on the alert.
        let list = try await s.call("GET", "/api/alerts?siteId=\(site)", token: t)
        let thAlert = try #require((list.json["alerts"] as? [[String: Any]])?.first { $0["id"] as? String == thresholdId })
        #expect(thAlert["triggerCount"] as? Int == 2)
        #expect(thAlert["lastTriggered"] as? String == "2026-03-09T10:40:00.000Z")

        // The creator's e-mail (logged, no SMTP) and the `alert` webhook event.
        let mails = s.logs.lines.withLock { $0.filter { $0.0 == "alert e-mail (no SMTP configured)" } }
        #expect(mails.count == 5)
        #expect(mails.allSatisfy { $0.1["to"] == "watcher@example.com" })
        #expect(mails.contains { $0.1["subject"] == "Alert: Spike" && $0.1["alert"] == thresholdId })
        let events = hooks.events.withLock { $0 }
        #expect(events.count == 2, "only the threshold alert asked for webhooks")
        let data = try #require(events.first?.1)
        #expect(events.first?.0 == site)
        #expect(data["alertId"]?.stringValue == thresholdId)
        #expect(data["alertName"]?.stringValue == "Spike")
        #expect(data["condition"]?.stringValue == "pageviews > 50")
        #expect(data["metric"]?.stringValue == "pageviews")
        #expect(data["currentValue"]?.doubleValue == 60)
        #expect(data["threshold"]?.doubleValue == 50)
        #expect(data["operator"]?.stringValue == ">")
        #expect(data["siteId"]?.stringValue == site)

        // Acknowledge one firing; history shows who and when, page by page.
        let triggerId = try #require(th.last?["id"] as? String)
        let ack = try await s.call("POST", "/api/alerts/\(thresholdId)/acknowledge", token: t, json: ["triggerId": triggerId])
        #expect(ack.status == 200)
        #expect(ack.json["success"] as? Bool == true)
        // A trigger of another alert is not this alert's.
        #expect(try await s.call("POST", "/api/alerts/\(comparisonId)/acknowledge", token: t, json: ["triggerId": triggerId]).error
                == "Trigger not found")
        let page1 = try await s.call("GET", "/api/alerts/\(thresholdId)/history?limit=1", token: t)
        #expect((page1.json["history"] as? [[String: Any]])?.first?["acknowledged"] as? Bool == false)
        let pg = try #require(page1.json["pagination"] as? [String: Any])
        #expect(pg["total"] as? Int == 2 && pg["hasMore"] as? Bool == true && pg["limit"] as? Int == 1)
        let page2 = try await s.call("GET", "/api/alerts/\(thresholdId)/history?limit=1&offset=1", token: t)
        let acked = try #require((page2.json["history"] as? [[String: Any]])?.first)
        #expect(acked["id"] as? String == triggerId)
        #expect(acked["acknowledged"] as? Bool == true)
        #expect(acked["acknowledgedBy"] as? String == (try await s.userId(t)))
        #expect(acked["acknowledgedAt"] is String)
        #expect((page2.json["pagination"] as? [String: Any])?["hasMore"] as? Bool == false)

        // A disabled alert is not evaluated: walk day 9's spike again.
        _ = try await s.call("PATCH", "/api/alerts", token: t, json: ["id": thresholdId, "enabled": false])
        #expect(await s.server.evaluateAlerts(at: Self.at(9, 10, 40) + 2 * Self.day) == 0)
        try await s.stop()
    }

    /// Goal and funnel metrics: 404s at creation, values from the engine's conversion results.
    /// The walk's data: every pageview is of `/`, one per visitor.
    @Test func goalAndFunnelMetrics() async throws {
        let s = try await Self.start()
        let t = try await s.register("goals@example.com")
        let site = try await s.createSite(t, domain: "goals.example.com")
        let other = try await s.createSite(t, domain: "other.example.com")
        let (ndjson, _) = Self.walkData(site: site)
        #expect(try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(ndjson.utf8),
                                 headers: [("Content-Type", "application/x-ndjson")]).status == 201)
        func made(_ path: String, _ key: String, _ body: [String: Any]) async throws -> String {
            let r = try await s.call("POST", path, token: t, json: body)
            #expect(r.status == 201, "\(r.text)")
            return try #require((r.json[key] as? [String: Any])?["id"] as? String)
        }
        let home = try await made("/api/goals", "goal", ["siteId": site, "name": "Home", "type": "pageview", "path": "/"])
        let foreign = try await made("/api/goals", "goal", ["siteId": other, "name": "Elsewhere", "type": "pageview", "path": "/"])
        let funnel = try await made("/api/funnels", "funnel", ["siteId": site, "name": "Home then nowhere", "steps": [
            ["type": "pageview", "path": "/"], ["type": "pageview", "path": "/never"]]])

        // Only the site's own goals and funnels.
        let wrongSite = try await s.call("POST", "/api/alerts", token: t, json: Self.threshold(site, ["metric": "goal.\(foreign).completions"]))
        #expect(wrongSite.status == 404)
        #expect(wrongSite.error == "Goal not found: \(foreign)")

        func alert(_ metric: String, _ op: String, _ threshold: Double, _ period: String) async throws -> String {
            try await made("/api/alerts", "alert", Self.threshold(site, ["name": metric, "metric": metric, "operator": op,
                                                                       "threshold": threshold, "period": period]))
        }
        let completions = try await alert("goal.\(home).completions", ">", 50, "1h")
        let goalRate = try await alert("goal.\(home).conversionRate", ">=", 100, "24h")
        let anyRate = try await alert("conversionRate", ">", 99.9, "1h")
        let funnelRate = try await alert("funnel.\(funnel).conversionRate", "<", 1, "24h")

        // Day 5, 10:35: 50 completions in the last hour, not > 50; the rates fire.
        #expect(await s.server.evaluateAlerts(at: Self.at(5, 10, 35)) == 3)
        // 10:40: all 60 of the spike (the rates are in their 1 h / 24 h cool-downs).
        #expect(await s.server.evaluateAlerts(at: Self.at(5, 10, 40)) == 1)
        func values(_ id: String) async throws -> [Double] {
            let h = try await s.call("GET", "/api/alerts/\(id)/history", token: t).json["history"] as? [[String: Any]] ?? []
            return h.compactMap { $0["value"] as? Double }
        }
        #expect(try await values(completions) == [60])
        #expect(try await values(goalRate) == [100])
        #expect(try await values(anyRate) == [100])
        #expect(try await values(funnelRate) == [0])

        // A deleted goal's alerts are skipped; "any goal" then has no goal (0 %); the funnel
        // (pageview steps only) still answers.
        #expect(try await s.call("DELETE", "/api/goals?id=\(home)", token: t).status == 200)
        #expect(await s.server.evaluateAlerts(at: Self.at(9, 10, 40)) == 1)
        #expect(try await values(funnelRate) == [0, 0])
        #expect(try await values(completions) == [60])
        try await s.stop()
    }

    /// A firing with the `webhook` channel is delivered as the `alert` event (api.md §7.8) to the
    /// site's webhooks subscribed to it — end to end, to a loopback receiver.
    @Test func alertWebhookDelivered() async throws {
        let receiver = try await WebhookReceiver.start()
        let s = try await TestServer.start { c in
            c.alertInterval = 0
            c.webhookAllowHTTP = true
            c.webhookAllowPrivate = true
        }
        let t = try await s.register("hooked@example.com")
        let site = try await s.createSite(t, domain: "hooked.example.com")
        let (ndjson, _) = Self.walkData(site: site)
        #expect(try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(ndjson.utf8),
                                 headers: [("Content-Type", "application/x-ndjson")]).status == 201)
        let hook = try await s.call("POST", "/api/webhooks", token: t, json: ["siteId": site, "url": receiver.url("/alerts"), "events": ["alert"]])
        #expect(hook.status == 201)
        #expect(try await s.call("POST", "/api/webhooks", token: t, json: ["siteId": site, "url": receiver.url("/pages"), "events": ["pageview"]]).status == 201)
        let created = try await s.call("POST", "/api/alerts", token: t, json: Self.threshold(site, [
            "name": "Spike", "threshold": 50, "notifications": ["webhook"]]))
        let alertId = try #require((created.json["alert"] as? [String: Any])?["id"] as? String)

        #expect(await s.server.evaluateAlerts(at: Self.at(5, 10, 40)) == 1)
        try await eventually("the alert delivery") { receiver.hits("/alerts").count == 1 }
        let hit = try #require(receiver.hits("/alerts").first)
        #expect(hit.headers["x-zta-event"] == "alert")
        #expect(hit.json["event"] as? String == "alert")
        #expect(hit.data["siteId"] as? String == site)
        #expect(hit.data["alertId"] as? String == alertId)
        #expect(hit.data["alertName"] as? String == "Spike")
        #expect(hit.data["condition"] as? String == "pageviews > 50")
        #expect(hit.data["metric"] as? String == "pageviews")
        #expect(hit.data["currentValue"] as? Double == 60)
        #expect(hit.data["threshold"] as? Double == 50)
        #expect(hit.data["operator"] as? String == ">")
        #expect(receiver.hits("/pages").isEmpty, "a webhook not subscribed to alert gets nothing")
        let h = try await s.call("GET", "/api/alerts/\(alertId)/history", token: t).json["history"] as? [[String: Any]]
        #expect(h?.first?["notificationsSent"] as? [String] == ["webhook"])
        // No e-mail was asked for.
        #expect(s.logs.lines.withLock { $0.filter { $0.0.hasPrefix("alert e-mail") }.isEmpty })
        try await s.stop()
        await receiver.stop()
    }

    /// The anomaly rule of api.md §7.7 in isolation.
    @Test func anomalyRule() {
        let flat = [Double](repeating: 10, count: 7)
        #expect(!AnomalyRule.fires(value: 10, history: flat, k: 3))
        #expect(AnomalyRule.fires(value: 11, history: flat, k: 3), "any change from a flat history")
        #expect(!AnomalyRule.fires(value: 500, history: Array(flat.prefix(6)), k: 1.5), "fewer than 7 days")
        let h: [Double] = [8, 12, 8, 12, 8, 12, 8, 12]  // mean 10, σ 2
        #expect(AnomalyRule.fires(value: 14, history: h, k: 2))
        #expect(!AnomalyRule.fires(value: 13.9, history: h, k: 2))
        #expect(AnomalyRule.fires(value: 6, history: h, k: 2), "drops count too")
        #expect(!AnomalyRule.fires(value: 15.9, history: h, k: 3))
        #expect(AnomalyRule.fires(value: 13, history: h, k: 1.5))
    }
}
