import Foundation
import GRDB
import Testing
@testable import ZTAServer

/// api.md §7.10 end to end: every action the server can perform today leaves an entry with the
/// right type, action, actor and target (done through the real server), the filters and
/// pagination, the CSV export, retention with an injected clock, `user/export`, deletion, the
/// `activity` webhook event, and that no raw IP or User-Agent reaches the disk.
@Suite("Activity log", .serialized)
struct ActivityLogTests {
    static let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"

    static func start(_ configure: @escaping (inout ServerConfig) -> Void = { _ in }) async throws -> TestServer {
        try await TestServer.start { c in
            c.rateLimits.userMinute = RateLimit(1_000_000, per: 60)
            c.rateLimits.userHour = RateLimit(1_000_000, per: 3600)
            c.alertInterval = 0
            // Retention runs only when a test asks (with its clock).
            c.maintenanceInterval = 86_400
            configure(&c)
        }
    }

    /// `GET /api/activity-log?<query>`'s entries (fails the test on another status).
    static func entries(_ s: TestServer, _ token: String, _ query: String = "") async throws -> [[String: Any]] {
        let r = try await s.call("GET", "/api/activity-log?\(query)", token: token)
        guard r.status == 200 else { throw HTTPClient.Failure(description: "activity-log?\(query): \(r.status) \(r.text)") }
        return r.json["activities"] as? [[String: Any]] ?? []
    }

    static func login(_ s: TestServer, _ email: String, password: String = TestServer.password) async throws -> String {
        let r = try await s.call("POST", "/api/auth/login", json: ["email": email, "password": password])
        return try #require(r.json["token"] as? String, "login \(email): \(r.status) \(r.text)")
    }

    static func made(_ s: TestServer, _ token: String, _ path: String, _ key: String, _ body: [String: Any]) async throws -> String {
        let r = try await s.call("POST", path, token: token, json: body)
        guard r.status == 201, let obj = r.json[key] as? [String: Any], let id = obj["id"] as? String else {
            throw HTTPClient.Failure(description: "POST \(path): \(r.status) \(r.text)")
        }
        return id
    }

    /// What an entry must say: action (and so type), actor, target, site.
    struct Expected: CustomStringConvertible {
        var action: String
        var type: String
        var actor: String?
        var targetType: String
        var targetId: String?
        var siteId: String?
        var description: String { "\(action) on \(targetType) \(targetId ?? "-")" }
    }

    /// Each expected entry appears exactly as described in `list`.
    static func check(_ list: [[String: Any]], _ expected: [Expected], sourceLocation: SourceLocation = #_sourceLocation) {
        for e in expected {
            let match = list.first { a in
                let target = a["target"] as? [String: Any] ?? [:]
                return a["action"] as? String == e.action && (e.targetId == nil || target["id"] as? String == e.targetId)
            }
            guard let a = match else {
                Issue.record("no entry for \(e)", sourceLocation: sourceLocation)
                continue
            }
            let target = a["target"] as? [String: Any] ?? [:]
            let actor = a["actor"] as? [String: Any]
            #expect(a["type"] as? String == e.type, "\(e): type", sourceLocation: sourceLocation)
            #expect(actor?["id"] as? String == e.actor, "\(e): actor \(String(describing: actor))", sourceLocation: sourceLocation)
            if e.actor == nil { #expect(a["actor"] is NSNull, "\(e): actor must be null", sourceLocation: sourceLocation) }
            #expect(target["type"] as? String == e.targetType, "\(e): target type", sourceLocation: sourceLocation)
            #expect(a["siteId"] as? String == e.siteId, "\(e): siteId", sourceLocation: sourceLocation)
            if e.siteId == nil { #expect(a["siteId"] is NSNull, "\(e): siteId must be null", sourceLocation: sourceLocation) }
            #expect(a["metadata"] is [String: Any], "\(e): metadata object", sourceLocation: sourceLocation)
            #expect(a["timestamp"] as? String != nil && a["id"] as? String != nil, sourceLocation: sourceLocation)
        }
    }

    // MARK: Actions

    @Test func authActionsAreLogged() async throws {
        let s = try await Self.start()
        let email = "ann@example.com"
        let first = try await s.register(email)
        let uid = try await s.userId(first)
        let login = try await Self.login(s, email)

        // Failed logins: a known account (actor = it), an unknown address (nothing stored of it).
        let wrong = try await s.call("POST", "/api/auth/login", json: ["email": email, "password": "Wrong-Password-1!"])
        #expect(wrong.status == 401)
        let unknown = try await s.call("POST", "/api/auth/login", json: ["email": "nobody@example.com", "password": "Whatever-123!"])
        #expect(unknown.status == 401)

        // Password change (revokes the other sessions; `login` stays).
        let newPassword = "Another-Horse-43!"
        let changed = try await s.call("PATCH", "/api/user/password", token: login,
                                       json: ["currentPassword": TestServer.password, "newPassword": newPassword])
        #expect(changed.status == 200)

        // One session revoked, then all others.
        _ = try await Self.login(s, email, password: newPassword)
        let sessions = try await s.call("GET", "/api/user/sessions", token: login).json["sessions"] as? [[String: Any]] ?? []
        let other = try #require(sessions.first { $0["isCurrent"] as? Bool == false }?["id"] as? String)
        #expect(try await s.call("DELETE", "/api/user/sessions?sessionId=\(other)", token: login).status == 200)
        _ = try await Self.login(s, email, password: newPassword)
        _ = try await Self.login(s, email, password: newPassword)
        let bulk = try await s.call("DELETE", "/api/user/sessions?all=true", token: login)
        #expect(bulk.json["revoked"] as? Int == 2)

        // Password reset (no caller: the account is the actor); every session ends.
        #expect(try await s.call("POST", "/api/auth/forgot", json: ["email": email]).status == 200)
        let resetToken = try #require(s.logs.lastResetToken)
        let third = "Third-Horse-44!"
        let reset = try await s.call("POST", "/api/auth/reset", json: ["token": resetToken, "password": third])
        #expect(reset.status == 200)
        let session = try await Self.login(s, email, password: third)

        // 2FA on, off, on again. Codes of now's step and the next are both accepted while the
        // server's clock is on either (a step boundary may pass meanwhile).
        let setup = try await s.call("POST", "/api/auth/2fa/setup", token: session)
        let secret = try #require(setup.json["secret"] as? String)
        let step = Int64(Date().timeIntervalSince1970) / 30
        #expect(try await s.call("POST", "/api/auth/2fa/verify", token: session, json: ["code": AuthTests.code(secret, step: step)]).status == 200)
        #expect(try await s.call("POST", "/api/auth/2fa/disable", token: session, json: ["code": AuthTests.code(secret, step: step + 1)]).status == 200)
        let setup2 = try await s.call("POST", "/api/auth/2fa/setup", token: session)
        let secret2 = try #require(setup2.json["secret"] as? String)
        #expect(try await s.call("POST", "/api/auth/2fa/verify", token: session, json: ["code": AuthTests.code(secret2, step: step)]).status == 200)

        // Logout, then a login through 2FA.
        #expect(try await s.call("POST", "/api/auth/logout", token: session).status == 200)
        let challenge = try await s.call("POST", "/api/auth/login", json: ["email": email, "password": third])
        let temp = try #require(challenge.json["tempToken"] as? String)
        let validated = try await s.call("POST", "/api/auth/2fa/validate",
                                         json: ["tempToken": temp, "code": AuthTests.code(secret2, step: step + 1)])
        #expect(validated.status == 200)
        let reader = try #require(validated.json["token"] as? String)

        let own = try await Self.entries(s, reader, "limit=100")
        let actions = ["auth.login", "auth.failed_login", "auth.password_changed", "session.revoked", "sessions.bulk_revoked",
                       "auth.2fa_enabled", "auth.2fa_disabled", "auth.logout", "auth.password_reset"]
        Self.check(own, actions.map { a in
            Expected(action: a, type: "auth", actor: uid, targetType: a.hasPrefix("session.") || a == "auth.logout" ? "session" : "user")
        })
        #expect(own.first { $0["action"] as? String == "session.revoked" }.flatMap { ($0["target"] as? [String: Any])?["id"] as? String } == other)
        let bulkMeta = own.first { $0["action"] as? String == "sessions.bulk_revoked" }?["metadata"] as? [String: Any]
        #expect(bulkMeta?["revoked"] as? Int == 2)
        let logins = own.filter { $0["action"] as? String == "auth.login" }
        #expect(logins.contains { ($0["metadata"] as? [String: Any])?["twoFactor"] as? Bool == true })
        // The same masked address and device label the login sessions show.
        for a in own {
            #expect(a["ipAddress"] as? String == "127.0.***.***")
            #expect(a["userAgent"] as? String == "Chrome on macOS")
        }
        // The unknown address: an entry without actor, target id or e-mail.
        let anonymous = try await s.server.core.meta.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM activity_log WHERE action = 'auth.failed_login' AND actor_id IS NULL")
        }
        #expect(anonymous.count == 1)
        let row = try #require(anonymous.first)
        #expect((row["target_id"] as String?) == nil && (row["target_email"] as String?) == nil)
        #expect(!(row["metadata"] as String).contains("nobody"))
        #expect((row["ip_masked"] as String?) == "127.0.***.***")
        try await s.stop()
    }

    @Test func siteAndResourceActionsAreLogged() async throws {
        let receiver = try await WebhookReceiver.start()
        let s = try await Self.start { c in
            c.webhookAllowHTTP = true
            c.webhookAllowPrivate = true
            c.webhookRetryDelays = []
        }
        let t = try await s.register("owner@example.com")
        let uid = try await s.userId(t)
        let site = try await s.createSite(t, domain: "shop.example.com")
        var expected: [Expected] = [Expected(action: "site.created", type: "site", actor: uid, targetType: "site", targetId: site, siteId: site)]
        func want(_ action: String, _ targetType: String, _ id: String?, site siteId: String? = site, actor: String? = uid) {
            expected.append(Expected(action: action, type: String(action.split(separator: ".")[0]), actor: actor,
                                     targetType: targetType, targetId: id, siteId: siteId))
        }

        // Webhooks first, so that they see the rest: one receiving `activity`, one failing.
        let ok = try await Self.made(s, t, "/api/webhooks", "webhook", ["siteId": site, "url": receiver.url("/ok"), "events": ["activity"]])
        receiver.plan("/broken", Array(repeating: 500, count: 50))
        let broken = try await Self.made(s, t, "/api/webhooks", "webhook",
                                         ["siteId": site, "url": receiver.url("/broken"), "events": ["activity"], "description": "Broken"])
        want("webhook.created", "webhook", ok)
        want("webhook.created", "webhook", broken)
        #expect(try await s.call("PATCH", "/api/webhooks", token: t, json: ["id": ok, "description": "Main"]).status == 200)
        want("webhook.updated", "webhook", ok)

        #expect(try await s.call("PATCH", "/api/sites", token: t, json: ["id": site, "name": "Shop"]).status == 200)
        want("site.updated", "site", site)

        let key = try await s.call("POST", "/api/api-keys", token: t, json: ["name": "ci", "scope": "read"])
        let keyId = try #require((key.json["apiKey"] as? [String: Any])?["id"] as? String)
        #expect(try await s.call("DELETE", "/api/api-keys?id=\(keyId)", token: t).status == 200)
        want("api_key.created", "api_key", keyId, site: nil)
        want("api_key.revoked", "api_key", keyId, site: nil)

        let goal = try await Self.made(s, t, "/api/goals", "goal", ["siteId": site, "name": "Signup", "type": "pageview", "path": "/signup"])
        #expect(try await s.call("PATCH", "/api/goals", token: t, json: ["id": goal, "name": "Sign-up"]).status == 200)
        want("goal.created", "goal", goal)
        want("goal.updated", "goal", goal)
        let funnel = try await Self.made(s, t, "/api/funnels", "funnel", ["siteId": site, "name": "Checkout", "steps": [
            ["type": "pageview", "path": "/"], ["type": "pageview", "path": "/buy"]]])
        #expect(try await s.call("PATCH", "/api/funnels", token: t, json: ["id": funnel, "name": "Buy"]).status == 200)
        #expect(try await s.call("DELETE", "/api/funnels?id=\(funnel)", token: t).status == 200)
        #expect(try await s.call("DELETE", "/api/goals?id=\(goal)", token: t).status == 200)
        want("funnel.created", "funnel", funnel)
        want("funnel.updated", "funnel", funnel)
        want("funnel.deleted", "funnel", funnel)
        want("goal.deleted", "goal", goal)

        // An alert that fires on an empty site (0 pageviews < 1), acknowledged, deleted.
        let alert = try await Self.made(s, t, "/api/alerts", "alert", AlertTests.threshold(site, ["operator": "<", "threshold": 1]))
        #expect(try await s.call("PATCH", "/api/alerts", token: t, json: ["id": alert, "name": "Quiet"]).status == 200)
        #expect(await s.server.evaluateAlerts(at: Clock.nowMs()) == 1)
        let history = try await s.call("GET", "/api/alerts/\(alert)/history", token: t).json["history"] as? [[String: Any]] ?? []
        let trigger = try #require(history.first?["id"] as? String)
        #expect(try await s.call("POST", "/api/alerts/\(alert)/acknowledge", token: t, json: ["triggerId": trigger]).status == 200)
        #expect(try await s.call("DELETE", "/api/alerts?id=\(alert)", token: t).status == 200)
        want("alert.created", "alert", alert)
        want("alert.updated", "alert", alert)
        want("alert.triggered", "alert", alert, actor: nil)
        want("alert.acknowledged", "alert", alert)
        want("alert.deleted", "alert", alert)

        // Export (json and the streamed csv) and an import, then its deletion.
        #expect(try await s.call("GET", "/api/export?siteId=\(site)&format=json", token: t).status == 200)
        #expect(try await s.call("GET", "/api/export?siteId=\(site)&format=csv&type=pageviews", token: t).status == 200)
        want("export.requested", "site", site)
        let line = #"{"ts":"2026-03-01T10:00:00.000Z","site":"\#(site)","type":"pageview","visitor":"v1","session":"s1","path":"/"}"# + "\n"
        let imported = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(line.utf8),
                                        headers: [("Content-Type", "application/x-ndjson")])
        let importId = try #require(imported.json["importId"] as? String, "\(imported.text)")
        #expect(try await s.call("DELETE", "/api/import?importId=\(importId)", token: t).status == 200)
        want("import.completed", "import", importId)
        want("import.deleted", "import", importId)

        // The failing webhook: every `activity` delivery fails (logged, not sent on), the 10th
        // disables it.
        try await eventually("webhook disabled") {
            let list = try await Self.entries(s, t, "siteId=\(site)&type=webhook&limit=100")
            return list.contains { $0["action"] as? String == "webhook.disabled" }
        }
        want("webhook.failed", "webhook", broken, actor: nil)
        want("webhook.disabled", "webhook", broken, actor: nil)

        #expect(try await s.call("DELETE", "/api/webhooks?id=\(ok)", token: t).status == 200)
        want("webhook.deleted", "webhook", ok)

        // A second site, deleted: its entries go with it, `site.deleted` stays in the own log.
        let gone = try await s.createSite(t, domain: "gone.example.com")
        #expect(try await s.call("DELETE", "/api/sites?id=\(gone)", token: t).status == 200)
        want("site.deleted", "site", gone, site: nil)

        let siteLog = try await Self.entries(s, t, "siteId=\(site)&limit=100")
        let ownLog = try await Self.entries(s, t, "limit=100")
        Self.check(siteLog + ownLog.filter { $0["siteId"] is NSNull }, expected)
        #expect(!ownLog.contains { $0["siteId"] as? String == gone })
        let goneRows = try await s.server.core.meta.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM activity_log WHERE site_id = ?", arguments: [gone]) ?? -1
        }
        #expect(goneRows == 0)
        // Names of sent fields, not their values.
        let updated = siteLog.first { $0["action"] as? String == "site.updated" }?["metadata"] as? [String: Any]
        #expect(updated?["fields"] as? [String] == ["name"])
        // Every failure of the broken webhook was an `activity` delivery: none of the
        // `webhook.failed` entries was itself delivered (no feedback loop).
        let failed = siteLog.filter { $0["action"] as? String == "webhook.failed" }
        // Ten in a row disable it (a delivery already under way may still fail after that).
        #expect(failed.count >= 10)
        #expect(failed.allSatisfy { ($0["metadata"] as? [String: Any])?["event"] as? String == "activity" })
        let failedIds = Set(failed.compactMap { $0["id"] as? String })

        // The `activity` webhook event: a site Activity as `data`.
        try await eventually("goal.created delivered") {
            receiver.hits("/ok").contains { $0.data["action"] as? String == "goal.deleted" }
        }
        let delivered = receiver.hits("/ok").filter { $0.json["event"] as? String == "activity" }.map(\.data)
        let goalCreated = try #require(delivered.first { $0["action"] as? String == "goal.created" })
        #expect(goalCreated["siteId"] as? String == site)
        #expect((goalCreated["actor"] as? [String: Any])?["id"] as? String == uid)
        #expect((goalCreated["target"] as? [String: Any])?["id"] as? String == goal)
        #expect(goalCreated["ipAddress"] as? String == "127.0.***.***")
        #expect(goalCreated["type"] as? String == "goal")
        #expect(siteLog.contains { $0["id"] as? String == goalCreated["id"] as? String })
        #expect(!delivered.contains { failedIds.contains($0["id"] as? String ?? "") })
        #expect(!delivered.contains { $0["siteId"] is NSNull }, "only site entries are delivered")
        try await s.stop()
        await receiver.stop()
    }

    // MARK: Reading

    @Test func filtersPaginationAndValidation() async throws {
        let s = try await Self.start()
        let t = try await s.register("owner@example.com")
        let site = try await s.createSite(t, domain: "shop.example.com")
        var goals: [String] = []
        for name in ["A", "B", "C"] {
            goals.append(try await Self.made(s, t, "/api/goals", "goal", ["siteId": site, "name": name, "type": "pageview", "path": "/\(name)"]))
        }
        let editorToken = try await s.register("ed@example.com")
        let editor = try await s.userId(editorToken)
        try await s.addMember(userId: editor, site, role: "admin")
        let edGoal = try await Self.made(s, editorToken, "/api/goals", "goal", ["siteId": site, "name": "E", "type": "pageview", "path": "/e"])

        // Newest first, paginated.
        let page1 = try await s.call("GET", "/api/activity-log?siteId=\(site)&limit=2", token: t)
        #expect(page1.status == 200)
        let p1 = page1.json["activities"] as? [[String: Any]] ?? []
        let pagination = page1.json["pagination"] as? [String: Any] ?? [:]
        #expect(pagination["total"] as? Int == 5)
        #expect(pagination["limit"] as? Int == 2 && pagination["offset"] as? Int == 0 && pagination["hasMore"] as? Bool == true)
        #expect(p1.compactMap { ($0["target"] as? [String: Any])?["id"] as? String } == [edGoal, goals[2]])
        let page3 = try await s.call("GET", "/api/activity-log?siteId=\(site)&limit=2&offset=4", token: t)
        #expect((page3.json["activities"] as? [[String: Any]])?.count == 1)
        #expect((page3.json["pagination"] as? [String: Any])?["hasMore"] as? Bool == false)
        #expect(((page3.json["activities"] as? [[String: Any]])?.first)?["action"] as? String == "site.created")
        let all = try await Self.entries(s, t, "siteId=\(site)")
        let stamps = all.compactMap { $0["timestamp"] as? String }
        #expect(stamps == stamps.sorted(by: >))

        // type, action, userId.
        #expect(try await Self.entries(s, t, "siteId=\(site)&type=goal").count == 4)
        #expect(try await Self.entries(s, t, "siteId=\(site)&type=site").count == 1)
        #expect(try await Self.entries(s, t, "siteId=\(site)&action=site.created").count == 1)
        #expect(try await Self.entries(s, t, "siteId=\(site)&type=goal&action=site.created").isEmpty)
        let byEditor = try await Self.entries(s, t, "siteId=\(site)&userId=\(editor)")
        #expect(byEditor.count == 1 && (byEditor.first?["actor"] as? [String: Any])?["email"] as? String == "ed@example.com")
        // Without siteId: the caller's own actions only (userId is no way into another's log).
        let ownerId = try await s.userId(t)
        let edOwn = try await Self.entries(s, editorToken, "userId=\(ownerId)")
        #expect(edOwn.count == 1 && (edOwn.first?["actor"] as? [String: Any])?["id"] as? String == editor)

        // Periods and custom dates: an entry of 2024-03-10 (site in UTC).
        let old = ActivityEntry(id: "act_old", timestamp: 1_710_072_000_000, type: "goal", action: "goal.created", actorId: nil,
                                actorEmail: nil, actorName: nil, target: ActivityTarget(type: "goal", id: "goal_old"),
                                metadata: "{}", siteId: site, ipMasked: "", device: "")
        await s.server.core.recordActivity(old, sendWebhook: false)
        #expect(!(try await Self.entries(s, t, "siteId=\(site)&period=365d")).contains { $0["id"] as? String == "act_old" })
        let custom = try await Self.entries(s, t, "siteId=\(site)&startDate=2024-03-10&endDate=2024-03-10")
        #expect(custom.compactMap { $0["id"] as? String } == ["act_old"])
        #expect(try await Self.entries(s, t, "siteId=\(site)&startDate=2024-03-11&endDate=2024-03-12").isEmpty)
        #expect(try await Self.entries(s, t, "siteId=\(site)&period=24h").count == 5)

        // Validation messages (api.md §1, §7.10).
        func error(_ query: String, _ token: String? = nil) async throws -> (Int, String?) {
            let r = try await s.call("GET", "/api/activity-log?\(query)", token: token ?? t)
            return (r.status, r.error)
        }
        #expect(try await error("siteId=\(site)&period=1y") == (400, "Invalid time period"))
        #expect(try await error("period=day") == (400, "Invalid time period"))
        #expect(try await error("siteId=\(site)&type=bogus") == (400, "Invalid activity type"))
        #expect(try await error("siteId=\(site)&action=goal.exploded") == (400, "Invalid action"))
        #expect(try await error("siteId=\(site)&limit=0") == (400, "Limit must be between 1 and 100"))
        #expect(try await error("siteId=\(site)&limit=101") == (400, "Limit must be between 1 and 100"))
        #expect(try await error("siteId=\(site)&offset=-1") == (400, "Invalid offset"))
        #expect(try await error("siteId=\(site)&startDate=2024-03-10") == (400, "Both startDate and endDate are required"))
        #expect(try await error("siteId=\(site)&startDate=20240310&endDate=2024-03-11") == (400, "Invalid date format. Use YYYY-MM-DD"))
        #expect(try await error("siteId=\(site)&startDate=2024-03-12&endDate=2024-03-11") == (400, "startDate must not be after endDate"))
        // A filter given blank is invalid, not absent (it would widen an audit query).
        #expect(try await error("startDate=&endDate=") == (400, "Invalid date format. Use YYYY-MM-DD"))
        #expect(try await error("type=") == (400, "Invalid activity type"))
        #expect(try await error("period=") == (400, "Invalid time period"))
        #expect(try await error("siteId=") == (403, "Access denied"))
        #expect(try await s.call("GET", "/api/activity-log/export?startDate=&type=", token: t).status == 400)
        #expect(try await error("userId=").0 == 200)
        // Parameters before visibility: a bad period on an invisible site is still a 400.
        #expect(try await error("siteId=site_nope&period=1y") == (400, "Invalid time period"))

        // Who may read (api.md §3).
        let viewerToken = try await s.register("viewer@example.com")
        try await s.addMember(userId: try await s.userId(viewerToken), site, role: "viewer")
        let strangerToken = try await s.register("stranger@example.com")
        #expect(try await error("siteId=\(site)", viewerToken) == (403, "Insufficient permissions"))
        #expect(try await error("siteId=\(site)", strangerToken) == (403, "Access denied"))
        #expect(try await error("siteId=site_nope") == (403, "Access denied"))
        #expect(try await Self.entries(s, strangerToken).isEmpty)
        func key(_ scope: String, site keySite: String? = nil) async throws -> String {
            var body: [String: Any] = ["name": scope, "scope": scope]
            if let keySite { body["siteId"] = keySite }
            let r = try await s.call("POST", "/api/api-keys", token: t, json: body)
            return try #require((r.json["apiKey"] as? [String: Any])?["key"] as? String)
        }
        let read = try await key("read"), write = try await key("write"), admin = try await key("admin")
        #expect(try await error("siteId=\(site)", read) == (403, "API key does not allow this operation"))
        #expect(try await error("siteId=\(site)", write) == (403, "API key does not allow this operation"))
        #expect(try await s.call("GET", "/api/activity-log?siteId=\(site)", token: admin).status == 200)
        #expect(try await error("", admin) == (403, "This endpoint requires a user session"))
        #expect(try await error("siteId=\(site)", try await key("admin", site: site)).0 == 200)
        let other = try await s.createSite(t, domain: "other.example.com")
        #expect(try await error("siteId=\(site)", try await key("admin", site: other)) == (403, "API key does not allow this operation"))
        #expect(try await s.call("GET", "/api/activity-log").status == 401)
        #expect(try await s.call("GET", "/api/activity-log/export?siteId=\(site)", token: viewerToken).status == 403)
        #expect(try await s.call("GET", "/api/activity-log/export", token: admin).status == 403)
        #expect(try await s.call("GET", "/api/activity-log/export?period=2d", token: t).error == "Invalid time period")
        try await s.stop()
    }

    // MARK: CSV

    @Test func csvCellsAreQuotedAndNeutralised() {
        // Formula starts get a leading apostrophe.
        #expect(ActivityCSV.cell("=1+1") == "'=1+1")
        #expect(ActivityCSV.cell("+1") == "'+1")
        #expect(ActivityCSV.cell("-1") == "'-1")
        #expect(ActivityCSV.cell("@SUM(A1)") == "'@SUM(A1)")
        #expect(ActivityCSV.cell("\tx") == "'\tx")
        #expect(ActivityCSV.cell("\rx") == "\"'\rx\"")
        // Elsewhere in the cell they are harmless.
        #expect(ActivityCSV.cell("a=b-c") == "a=b-c")
        #expect(ActivityCSV.cell("") == "")
        // RFC 4180: comma, quote, CR, LF quote the field, quotes doubled.
        #expect(ActivityCSV.cell("a,b") == "\"a,b\"")
        #expect(ActivityCSV.cell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ActivityCSV.cell("two\nlines") == "\"two\nlines\"")
        #expect(ActivityCSV.cell("=HYPERLINK(\"x\",\"y\")") == "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"")
        let e = ActivityEntry(id: "act_1", timestamp: 0, type: "auth", action: "auth.login", actorId: "usr_1",
                              actorEmail: "a@example.com", actorName: "-Ann, \"A\"", target: ActivityTarget(type: "user", id: "usr_1"),
                              metadata: "{}", siteId: nil, ipMasked: "10.1.***.***", device: "Chrome on macOS")
        #expect(ActivityCSV.row(e) == "1970-01-01T00:00:00.000Z,auth,auth.login,a@example.com,\"'-Ann, \"\"A\"\"\",user,usr_1,10.1.***.***,Chrome on macOS\r\n")
    }

    @Test func csvExport() async throws {
        let s = try await Self.start()
        let r = try await s.call("POST", "/api/auth/register",
                                 json: ["email": "csv@example.com", "password": TestServer.password, "name": "@SUM(1,2)"])
        let t = try #require(r.json["token"] as? String)
        let site = try await s.createSite(t, domain: "shop.example.com")
        _ = try await Self.made(s, t, "/api/goals", "goal", ["siteId": site, "name": "G", "type": "pageview", "path": "/g"])
        _ = try await Self.login(s, "csv@example.com")

        let own = try await s.call("GET", "/api/activity-log/export", token: t)
        #expect(own.status == 200)
        #expect(own.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(own.header("Content-Disposition")?.hasPrefix("attachment; filename=\"zta-activity-log-") == true)
        let lines = own.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == "timestamp,type,action,actor_email,actor_name,target_type,target_id,ip_address,user_agent")
        #expect(lines.count == 4)  // auth.login, goal.created, site.created, newest first
        #expect(lines.dropFirst().map { $0.split(separator: ",")[2] } == ["auth.login", "goal.created", "site.created"])
        #expect(lines[1].contains(",csv@example.com,\"'@SUM(1,2)\",user,"))
        #expect(lines[1].hasSuffix(",127.0.***.***,Chrome on macOS"))
        let siteCSV = try await s.call("GET", "/api/activity-log/export?siteId=\(site)&type=goal", token: t)
        #expect(siteCSV.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 2)
        try await s.stop()
    }

    /// The export is paged (1000 rows a read) and stops at the cap: more rows than a page, fewer
    /// than the cap, all come out in order.
    @Test func csvExportPagesThroughManyRows() async throws {
        let s = try await Self.start()
        let t = try await s.register("many@example.com")
        let uid = try await s.userId(t)
        let base = Clock.nowMs() - 3_600_000
        try await s.server.core.meta.pool.write { db in
            for k in 0..<2500 {
                try ActivityEntry(id: "act_\(k)", timestamp: base + Int64(k / 2), type: "auth", action: "auth.login", actorId: uid,
                                  actorEmail: "many@example.com", actorName: nil, target: ActivityTarget(type: "user", id: "t\(k)"),
                                  metadata: "{}", siteId: nil, ipMasked: "", device: "").insert(db)
            }
        }
        let r = try await s.call("GET", "/api/activity-log/export", token: t)
        let rows = r.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.dropFirst()
        #expect(rows.count == 2500)
        // Newest first, ties by insertion (the later first): t2499, t2498, …
        let ids = rows.map { String($0.split(separator: ",", omittingEmptySubsequences: false)[6]) }
        #expect(ids == (0..<2500).reversed().map { "t\($0)" })
        try await s.stop()
    }

    // MARK: Retention, account data, privacy

    @Test func retentionDeletesEntriesOlderThan365Days() async throws {
        let s = try await Self.start()
        let now: Int64 = 1_893_456_000_000  // 2030-01-01, the injected clock
        let day: Int64 = 86_400_000
        for (id, age) in [("act_366", 366 * day), ("act_365", 365 * day + 1), ("act_364", 364 * day), ("act_new", 0)] {
            await s.server.core.recordActivity(ActivityEntry(
                id: id, timestamp: now - age, type: "auth", action: "auth.login", actorId: "usr_x", actorEmail: nil, actorName: nil,
                target: ActivityTarget(type: "user"), metadata: "{}", siteId: nil, ipMasked: "", device: ""))
        }
        await s.server.core.runMaintenancePass(nowMs: now)
        let left = try await s.server.core.meta.pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM activity_log ORDER BY timestamp")
        }
        #expect(left == ["act_364", "act_new"])
        // The next day, the 364-day-old one is 365 days and a bit: gone too.
        await s.server.core.runMaintenancePass(nowMs: now + day + 1)
        let later = try await s.server.core.meta.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM activity_log") }
        #expect(later == ["act_new"])
        try await s.stop()
    }

    @Test func userExportAndAccountDeletion() async throws {
        let s = try await Self.start()
        let owner = try await s.register("owner@example.com")
        let site = try await s.createSite(owner, domain: "shop.example.com")
        _ = try await s.register("bea@example.com")
        let bea = try await Self.login(s, "bea@example.com")
        let beaId = try await s.userId(bea)
        try await s.addMember(userId: beaId, site, role: "admin")
        let goal = try await Self.made(s, bea, "/api/goals", "goal", ["siteId": site, "name": "G", "type": "pageview", "path": "/g"])

        let export = try await s.call("GET", "/api/user/export", token: bea)
        let activity = export.json["activity"] as? [[String: Any]] ?? []
        #expect(activity.compactMap { $0["action"] as? String } == ["goal.created", "auth.login"])
        #expect(activity.allSatisfy { ($0["actor"] as? [String: Any])?["id"] as? String == beaId })
        // The owner's actions are not in Bea's export.
        #expect(!activity.contains { $0["action"] as? String == "site.created" })

        let deleted = try await s.call("POST", "/api/user/delete", token: bea,
                                       json: ["password": TestServer.password, "confirmEmail": "bea@example.com",
                                              "confirmDelete": "DELETE_MY_ACCOUNT"])
        #expect(deleted.status == 200)
        let personal = try await s.server.core.meta.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM activity_log WHERE actor_id = ? AND site_id IS NULL", arguments: [beaId]) ?? -1
        }
        #expect(personal == 0)
        // The site keeps its history, with Bea's snapshot.
        let siteLog = try await Self.entries(s, owner, "siteId=\(site)")
        let kept = try #require(siteLog.first { ($0["target"] as? [String: Any])?["id"] as? String == goal })
        #expect((kept["actor"] as? [String: Any])?["email"] as? String == "bea@example.com")
        try await s.stop()
    }

    @Test func noRawAddressOrUserAgentOnDisk() async throws {
        let s = try await Self.start { c in c.trustedProxies = ["127.0.0.1"] }
        let ip = "203.0.113.77"
        let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0 ZtaMarker/4.2"
        let headers = [("X-Forwarded-For", ip), ("User-Agent", agent)]
        let reg = try await s.call("POST", "/api/auth/register", json: ["email": "p@example.com", "password": TestServer.password],
                                   headers: headers)
        let t = try #require(reg.json["token"] as? String)
        let site = try await s.call("POST", "/api/sites", token: t, json: ["domain": "shop.example.com"], headers: headers)
        #expect(site.status == 201)
        _ = try await s.call("POST", "/api/auth/login", json: ["email": "p@example.com", "password": TestServer.password], headers: headers)
        _ = try await s.call("POST", "/api/auth/login", json: ["email": "p@example.com", "password": "Nope-Nope-123!"], headers: headers)
        let own = try await Self.entries(s, t)
        #expect(own.count == 3)
        for a in own {
            #expect(a["ipAddress"] as? String == "203.0.***.***")
            #expect((a["userAgent"] as? String)?.contains("ZtaMarker") == false)
            #expect((a["userAgent"] as? String)?.isEmpty == false)
        }
        let dir = s.directory
        try await s.stop(removing: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Every file the server wrote (meta.sqlite and its WAL, the event store).
        var scanned = 0
        let files = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []
        for f in files {
            guard let data = FileManager.default.contents(atPath: dir + "/" + f) else { continue }
            scanned += 1
            #expect(data.range(of: Data(ip.utf8)) == nil, "raw IP in \(f)")
            #expect(data.range(of: Data("ZtaMarker".utf8)) == nil, "raw User-Agent in \(f)")
        }
        #expect(files.contains { $0.hasPrefix("meta.sqlite") } && scanned > 0)
    }
}
