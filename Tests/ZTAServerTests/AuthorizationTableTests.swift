import Foundation
import Testing
@testable import ZTAServer

/// api.md §3's authorization matrix as data: one row per endpoint of the route table, one
/// expected status per kind of caller, walked against the real server on loopback. A route
/// without a row fails `everyRouteHasARow`, so a new endpoint can't skip the table.
///
/// The callers (columns, in this order):
/// `none` no credentials · `owner` · `admin` · `editor` · `viewer` (JWTs of members of site A) ·
/// `member` a JWT of an admin of site B only · `stranger` a JWT of a user with no site ·
/// `read`/`write`/`admin` keys of the owner (no site binding) · `boundB` the owner's admin key
/// bound to site B.
///
/// Each cell gets the request its row builds (fresh resources where the action consumes them),
/// so cells don't depend on each other's order. The expected codes are written from the
/// spec's words (§1's check order: credentials → rate limit → parameters → visibility →
/// role/scope; §3's table; "existence is never revealed"), never read back from the server.
@Suite("Authorization table", .serialized)
struct AuthorizationTableTests {
    enum Who: String, CaseIterable, Sendable {
        case none, owner, admin, editor, viewer, member, stranger, read, write, adminKey, boundB
        var isKey: Bool { [.read, .write, .adminKey, .boundB].contains(self) }
    }

    /// One request of a cell.
    struct Request {
        var method: String
        var path: String
        var json: Any? = nil
        var body: [UInt8]? = nil
        var headers: [(String, String)] = []
    }

    /// The world every cell runs in.
    final class World: @unchecked Sendable {
        let s: TestServer
        var tokens: [Who: String] = [:]
        var emails: [Who: String] = [:]
        var siteA = "", siteB = ""
        var goal = "", funnel = "", alert = ""
        /// User ids of the JWT columns, and a user outside every column who hosts sites.
        var userIds: [Who: String] = [:]
        var host = ""
        var shareToken = ""
        var counter = 0

        init(_ s: TestServer) { self.s = s }

        var owner: String { tokens[.owner] ?? "" }

        func unique(_ prefix: String) -> String {
            counter += 1
            return "\(prefix)\(counter)"
        }

        /// `POST` as the owner; the created object's id under `key`.
        func create(_ path: String, _ body: [String: Any], _ key: String) async throws -> String {
            let r = try await s.call("POST", path, token: owner, json: body)
            guard r.status == 201, let o = r.json[key] as? [String: Any], let id = o["id"] as? String else {
                throw HTTPClient.Failure(description: "setup POST \(path): \(r.status) \(r.text)")
            }
            return id
        }

        /// A site of the owner with admin, editor and viewer members (site A's shape).
        func memberSite() async throws -> String {
            let id = try await s.createSite(owner, domain: "\(unique("auth-site-")).example.com")
            for (who, role) in [(Who.admin, "admin"), (.editor, "editor"), (.viewer, "viewer")] {
                try await s.addMember(emails[who] ?? "", id, role: role)
            }
            return id
        }

        func goalBody(_ site: String) -> [String: Any] {
            ["siteId": site, "name": unique("goal-"), "type": "pageview", "path": "/pricing"]
        }

        func funnelBody(_ site: String) -> [String: Any] {
            ["siteId": site, "name": unique("funnel-"), "steps": [["type": "pageview", "path": "/"], ["type": "pageview", "path": "/pricing"]]]
        }

        func alertBody(_ site: String) -> [String: Any] {
            ["siteId": site, "name": unique("alert-"), "type": "threshold", "metric": "pageviews", "notifications": ["email"],
             "operator": ">", "threshold": 1000, "period": "1h"]
        }

        func webhookBody(_ site: String) -> [String: Any] {
            ["siteId": site, "url": "http://127.0.0.1:9/\(unique("hook-"))", "events": ["pageview"]]
        }

        func ndjson(_ site: String) -> [UInt8] {
            Array(#"{"ts":"2026-03-01T10:00:00.000Z","site":"\#(site)","type":"pageview","visitor":"v","session":"s","path":"/"}"#.utf8) + [10]
        }

        /// An import of one event into `site`, as the owner.
        func importOne(_ site: String) async throws -> String {
            let r = try await s.call("POST", "/api/import?siteId=\(site)", token: owner, body: ndjson(site),
                                     headers: [("Content-Type", "application/x-ndjson")])
            guard r.status == 201, let id = r.json["importId"] as? String else {
                throw HTTPClient.Failure(description: "setup import: \(r.status) \(r.text)")
            }
            return id
        }

        /// A fired, unacknowledged trigger of a fresh alert on site A (written as the evaluator
        /// writes it: the table tests authorization, not evaluation).
        func trigger() async throws -> (alert: String, trigger: String) {
            let alert = try await create("/api/alerts", alertBody(siteA), "alert")
            let trigger = unique("trig_")
            let site = siteA
            try await s.server.core.meta.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO alert_history (id, alert_id, site_id, triggered_at, metric, value, threshold, condition, notifications_sent)
                    VALUES (?, ?, ?, 0, 'pageviews', 2000, 1000, 'pageviews > 1000', '[]')
                    """, arguments: [trigger, alert, site])
            }
            return (alert, trigger)
        }

        /// An invitation of `email` to a fresh site of the host (so every caller, the owner
        /// included, can be invited); its token.
        func invitation(for email: String) async throws -> String {
            let site = try await s.createSite(host, domain: "\(unique("host-")).example.com")
            let r = try await s.call("POST", "/api/teams", token: host, json: ["siteId": site, "email": email, "role": "viewer"])
            guard r.status == 201, let url = (r.json["invitation"] as? [String: Any])?["inviteUrl"] as? String,
                  let token = url.components(separatedBy: "token=").last else {
                throw HTTPClient.Failure(description: "setup invitation: \(r.status) \(r.text)")
            }
            return token
        }

        /// A share of site A, as the owner; its token.
        func share() async throws -> String {
            let r = try await s.call("POST", "/api/sites/share", token: owner, json: ["siteId": siteA])
            guard r.status == 201, let t = (r.json["share"] as? [String: Any])?["token"] as? String else {
                throw HTTPClient.Failure(description: "setup share: \(r.status) \(r.text)")
            }
            return t
        }

        /// The e-mail a caller acts as: keys act as the owner.
        func email(of who: Who) -> String { emails[who.isKey ? .owner : who] ?? "nobody@example.com" }

        /// A new login session of `who` (for rows that end the caller's session).
        func freshToken(_ who: Who) async throws -> String {
            let r = try await s.call("POST", "/api/auth/login", json: ["email": emails[who] ?? "", "password": TestServer.password])
            guard r.status == 200, let t = r.json["token"] as? String else {
                throw HTTPClient.Failure(description: "login \(who): \(r.status) \(r.text)")
            }
            return t
        }
    }

    /// One endpoint: its route, the expected status per caller, and the request of a cell.
    struct Row: Sendable {
        let method: String
        let route: String
        /// Tells two rows of one route apart (e.g. with and without `siteId`).
        var variant = ""
        /// Eleven codes in `Who.allCases` order.
        let expect: String
        /// Rows whose action ends the caller's session get a fresh login per JWT cell.
        var freshSession = false
        let build: @Sendable (World, Who) async throws -> Request
    }

    static func row(_ method: String, _ route: String, _ expect: String, freshSession: Bool = false,
                    _ build: @escaping @Sendable (World, Who) async throws -> Request) -> Row {
        Row(method: method, route: route, expect: expect, freshSession: freshSession, build: build)
    }

    /// A second row of a route already in the table, told apart by `variant`.
    static func variant(_ variant: String, _ row: Row) -> Row {
        var r = row
        r.variant = variant
        return r
    }

    static func get(_ route: String, _ expect: String, _ path: @escaping @Sendable (World) async throws -> String) -> Row {
        row("GET", route, expect) { w, _ in Request(method: "GET", path: try await path(w)) }
    }

    static func delete(_ route: String, _ expect: String, _ path: @escaping @Sendable (World) async throws -> String) -> Row {
        row("DELETE", route, expect) { w, _ in Request(method: "DELETE", path: try await path(w)) }
    }

    static func json(_ method: String, _ route: String, _ expect: String, freshSession: Bool = false,
                     _ body: @escaping @Sendable (World, Who) async throws -> (String, Any)) -> Row {
        row(method, route, expect, freshSession: freshSession) { w, who in
            let (path, json) = try await body(w, who)
            return Request(method: method, path: path, json: json)
        }
    }

    //                                 none own adm edi vie mem str rd  wr  adk bdB
    static let anyone =               "200 200 200 200 200 200 200 200 200 200 200"
    static let readers =              "401 200 200 200 200 403 403 200 200 200 403"
    static let siteReaders =          "401 200 200 200 200 404 404 200 200 200 403"
    static let exporters =            "401 200 200 200 403 403 403 200 200 200 403"
    static let writers =              "401 200 200 403 403 403 403 403 200 200 403"
    static let creators =             "401 201 201 403 403 403 403 403 201 201 403"
    static let anyUserJWT =           "401 200 200 200 200 200 200 403 403 403 403"
    static let anyUserRead =          "401 200 200 200 200 200 200 200 200 200 200"

    /// POST, PATCH (rename) and DELETE of a site object that admins and owners manage with a
    /// write-scope key (§3: writes on goals, funnels, alerts). Objects of an invisible site are
    /// not found; a visible one with too weak a role is forbidden.
    /// Annotations follow the same shape with their own id field, and editors may create them
    /// (an editor may change only their own: the object here is the owner's).
    static func managed(_ path: String, _ key: String, idKey: String = "id", creators: String = creators,
                        _ body: @escaping @Sendable (World) -> [String: Any]) -> [Row] {
        let managers = "401 200 200 403 403 404 404 403 200 200 403"
        return [
            json("POST", path, creators) { w, _ in (path, body(w)) },
            json("PATCH", path, managers) { w, _ in (path, [idKey: try await w.create(path, body(w), key), "name": "Renamed", "title": "Renamed"]) },
            delete(path, managers) { w in "\(path)?\(idKey)=\(try await w.create(path, body(w), key))" },
        ]
    }

    /// GETs anyone may make, credentials or not.
    static func open(_ paths: [String]) -> [Row] { paths.map { path in get(path, anyone) { _ in path } } }

    static let rows: [Row] = managed("/api/goals", "goal") { $0.goalBody($0.siteA) }
        + managed("/api/funnels", "funnel") { $0.funnelBody($0.siteA) }
        + managed("/api/alerts", "alert") { $0.alertBody($0.siteA) }
        + managed("/api/annotations", "annotation", idKey: "annotationId", creators: "401 201 201 201 403 403 403 403 201 201 403") {
            ["siteId": $0.siteA, "date": "2026-03-01", "title": $0.unique("note-")]
        }
        + open(["/health", "/api/health", "/metrics", "/api/openapi.json", "/js/analytics.js", "/js/heatmap.js",
                "/", "/login", "/register", "/forgot-password", "/reset-password", "/account"])
        + otherRows

    static let otherRows: [Row] = [
        // Operational (§9), the document and the web front end's fixed paths are under open(_:).

        // Authentication (§2): no credentials read, so every column answers alike.
        json("POST", "/api/auth/register", "201 201 201 201 201 201 201 201 201 201 201") { w, _ in
            ("/api/auth/register", ["email": "\(w.unique("new"))@example.com", "password": TestServer.password])
        },
        json("POST", "/api/auth/login", anyone) { w, _ in
            ("/api/auth/login", ["email": w.emails[.stranger] ?? "", "password": TestServer.password])
        },
        json("POST", "/api/auth/forgot", anyone) { w, _ in ("/api/auth/forgot", ["email": w.emails[.stranger] ?? ""]) },
        get("/api/auth/verify-reset-token", "400 400 400 400 400 400 400 400 400 400 400") { _ in "/api/auth/verify-reset-token" },
        json("POST", "/api/auth/reset", "400 400 400 400 400 400 400 400 400 400 400") { _, _ in
            ("/api/auth/reset", ["password": TestServer.password])
        },
        json("POST", "/api/auth/2fa/validate", "400 400 400 400 400 400 400 400 400 400 400") { _, _ in
            ("/api/auth/2fa/validate", ["code": "123456"])
        },
        // JWT only (§3 "✗"): keys refused whatever the body.
        json("POST", "/api/auth/logout", anyUserJWT, freshSession: true) { _, _ in ("/api/auth/logout", [String: Any]()) },
        json("POST", "/api/auth/2fa/setup", anyUserJWT) { _, _ in ("/api/auth/2fa/setup", [String: Any]()) },
        // No setup was started for these users: a business-rule 400 once the caller is let in.
        json("POST", "/api/auth/2fa/verify", "401 400 400 400 400 400 400 403 403 403 403") { _, _ in
            ("/api/auth/2fa/verify", ["code": "123456"])
        },
        json("POST", "/api/auth/2fa/disable", "401 400 400 400 400 400 400 403 403 403 403") { _, _ in
            ("/api/auth/2fa/disable", ["password": TestServer.password, "code": "123456"])
        },

        // Account (§2).
        get("/api/user/status", anyUserRead) { _ in "/api/user/status" },
        json("PATCH", "/api/user/password", "401 400 400 400 400 400 400 403 403 403 403") { _, _ in
            ("/api/user/password", ["currentPassword": "not-the-password", "newPassword": "Another-Horse-43!"])
        },
        get("/api/user/sessions", anyUserJWT) { _ in "/api/user/sessions" },
        delete("/api/user/sessions", anyUserJWT) { _ in "/api/user/sessions?all=true" },
        get("/api/user/export", anyUserJWT) { _ in "/api/user/export" },
        json("POST", "/api/user/delete", "401 400 400 400 400 400 400 403 403 403 403") { _, _ in
            ("/api/user/delete", ["password": "not-the-password"])
        },

        // API keys (§7.3), JWT only; a key id of another user is not found.
        get("/api/api-keys", anyUserJWT) { _ in "/api/api-keys" },
        json("POST", "/api/api-keys", "401 201 201 201 201 201 201 403 403 403 403") { w, _ in
            ("/api/api-keys", ["name": w.unique("key-"), "scope": "read"])
        },
        json("PATCH", "/api/api-keys", "401 200 404 404 404 404 404 403 403 403 403") { w, _ in
            let r = try await w.s.call("POST", "/api/api-keys", token: w.owner, json: ["name": w.unique("key-"), "scope": "read"])
            let id = (r.json["apiKey"] as? [String: Any])?["id"] as? String ?? ""
            return ("/api/api-keys", ["id": id, "name": "renamed"])
        },
        row("DELETE", "/api/api-keys", "401 200 404 404 404 404 404 403 403 403 403") { w, _ in
            let r = try await w.s.call("POST", "/api/api-keys", token: w.owner, json: ["name": w.unique("key-"), "scope": "read"])
            let id = (r.json["apiKey"] as? [String: Any])?["id"] as? String ?? ""
            return Request(method: "DELETE", path: "/api/api-keys?id=\(id)")
        },

        // Sites (§7.1): invisible sites are "not found" on /api/sites… (existence never revealed).
        get("/api/sites", anyUserRead) { _ in "/api/sites" },
        json("POST", "/api/sites", "401 201 201 201 201 201 201 403 403 201 403") { w, _ in
            ("/api/sites", ["domain": "\(w.unique("made-")).example.com"])
        },
        json("PATCH", "/api/sites", "401 200 200 403 403 404 404 403 403 200 403") { w, _ in
            ("/api/sites", ["id": w.siteA, "name": "Renamed"])
        },
        delete("/api/sites", "401 200 403 403 403 404 404 403 403 200 403") { w in "/api/sites?id=\(try await w.memberSite())" },
        get("/api/sites/{id}", siteReaders) { w in "/api/sites/\(w.siteA)" },

        // Goals (§7.5) and funnels (§7.6).
        get("/api/goals", readers) { w in "/api/goals?siteId=\(w.siteA)" },
        get("/api/goals/{id}/stats", "401 200 200 200 200 404 404 200 200 200 403") { w in
            "/api/goals/\(w.goal)/stats?period=7d"
        },
        get("/api/funnels", readers) { w in "/api/funnels?siteId=\(w.siteA)" },
        get("/api/funnels/{id}/stats", "401 200 200 200 200 404 404 200 200 200 403") { w in
            "/api/funnels/\(w.funnel)/stats?period=7d"
        },

        // Alerts (§7.7).
        get("/api/alerts", readers) { w in "/api/alerts?siteId=\(w.siteA)" },
        get("/api/alerts/{id}/history", "401 200 200 200 200 404 404 200 200 200 403") { w in "/api/alerts/\(w.alert)/history" },
        json("POST", "/api/alerts/{id}/acknowledge", "401 200 200 403 403 404 404 403 200 200 403") { w, _ in
            let (alert, trigger) = try await w.trigger()
            return ("/api/alerts/\(alert)/acknowledge", ["triggerId": trigger])
        },

        // Webhooks (§7.8): admin/owner and an admin-scope key, even to read (secrets' targets).
        // Each cell on its own site: at most 10 webhooks per site.
        get("/api/webhooks", "401 200 200 403 403 403 403 403 403 200 403") { w in "/api/webhooks?siteId=\(w.siteA)" },
        json("POST", "/api/webhooks", "401 201 201 403 403 403 403 403 403 201 403") { w, _ in
            ("/api/webhooks", w.webhookBody(try await w.memberSite()))
        },
        json("PATCH", "/api/webhooks", "401 200 200 403 403 404 404 403 403 200 403") { w, _ in
            let site = try await w.memberSite()
            return ("/api/webhooks", ["id": try await w.create("/api/webhooks", w.webhookBody(site), "webhook"), "active": false])
        },
        delete("/api/webhooks", "401 200 200 403 403 404 404 403 403 200 403") { w in
            let site = try await w.memberSite()
            return "/api/webhooks?id=\(try await w.create("/api/webhooks", w.webhookBody(site), "webhook"))"
        },
        json("POST", "/api/webhooks/{id}/test", "401 200 200 403 403 404 404 403 403 200 403") { w, _ in
            let site = try await w.memberSite()
            return ("/api/webhooks/\(try await w.create("/api/webhooks", w.webhookBody(site), "webhook"))/test", [String: Any]())
        },

        // Teams and invitations (§7.4). Listing a site's members is a read; inviting needs an
        // admin (editors and viewers only) or the owner with an admin-scope key.
        get("/api/teams", readers) { w in "/api/teams?siteId=\(w.siteA)" },
        variant("own sites", get("/api/teams", anyUserRead) { _ in "/api/teams" }),
        json("POST", "/api/teams", "401 201 201 403 403 403 403 403 403 201 403") { w, _ in
            ("/api/teams", ["siteId": w.siteA, "email": "\(w.unique("invitee-"))@example.com", "role": "viewer"])
        },
        // Role changes are the owner's; each cell changes the viewer of a fresh member site.
        json("PATCH", "/api/teams", "401 200 403 403 403 403 403 403 403 200 403") { w, _ in
            ("/api/teams", ["siteId": try await w.memberSite(), "userId": w.userIds[.viewer] ?? "", "role": "editor"])
        },
        // Removing the viewer: the owner and admins may; the viewer may leave; an editor may not.
        delete("/api/teams", "401 200 200 403 200 403 403 403 403 200 403") { w in
            "/api/teams?siteId=\(try await w.memberSite())&userId=\(w.userIds[.viewer] ?? "")"
        },
        // An invitation is read without credentials and answered with the invited user's JWT.
        get("/api/invite", anyone) { w in "/api/invite?token=\(try await w.invitation(for: "someone@example.com"))" },
        json("POST", "/api/invite", anyUserJWT) { w, who in
            ("/api/invite", ["token": try await w.invitation(for: w.email(of: who))])
        },

        // Shares (§7.2): admin/owner with an admin-scope key; under /api/sites an invisible site
        // is "not found" (§1), and a share of one is too. Public stats and the shared page need
        // nothing but the token.
        get("/api/sites/share", "401 200 200 403 403 404 404 403 403 200 403") { w in "/api/sites/share?siteId=\(w.siteA)" },
        json("POST", "/api/sites/share", "401 201 201 403 403 404 404 403 403 201 403") { w, _ in
            ("/api/sites/share", ["siteId": w.siteA])
        },
        delete("/api/sites/share", "401 200 200 403 403 404 404 403 403 200 403") { w in
            "/api/sites/share?token=\(try await w.share())"
        },
        get("/api/public/stats", anyone) { w in "/api/public/stats?token=\(w.shareToken)" },
        get("/shared/{token}", anyone) { w in "/shared/\(w.shareToken)" },

        // Annotations (§7.9): reads for every member; writes under managed(_:).
        get("/api/annotations", readers) { w in "/api/annotations?siteId=\(w.siteA)" },

        // Activity log (§7.10): a site's log is for admins and owners (admin scope); without
        // siteId every user reads their own actions, with a JWT only.
        get("/api/activity-log", "401 200 200 403 403 403 403 403 403 200 403") { w in "/api/activity-log?siteId=\(w.siteA)" },
        variant("own actions", get("/api/activity-log", anyUserJWT) { _ in "/api/activity-log" }),
        get("/api/activity-log/export", "401 200 200 403 403 403 403 403 403 200 403") { w in
            "/api/activity-log/export?siteId=\(w.siteA)"
        },
        variant("own actions", get("/api/activity-log/export", anyUserJWT) { _ in "/api/activity-log/export" }),

        // Ingest (§5): no credentials read.
        json("POST", "/api/track", anyone) { w, _ in
            ("/api/track", ["siteId": w.siteA, "type": "pageview", "path": "/"])
        },

        // Queries (§6).
        get("/api/stats", readers) { w in "/api/stats?siteId=\(w.siteA)&period=7d" },
        get("/api/stats-api", readers) { w in "/api/stats-api?site_id=\(w.siteA)&period=7d" },
        get("/api/realtime", readers) { w in "/api/realtime?siteId=\(w.siteA)" },
        get("/api/export", exporters) { w in "/api/export?siteId=\(w.siteA)&period=7d" },
        get("/api/heatmaps", readers) { w in "/api/heatmaps?siteId=\(w.siteA)&path=/&type=click&period=7d" },
        get("/api/heatmaps/elements", readers) { w in "/api/heatmaps/elements?siteId=\(w.siteA)&path=/&period=7d" },
        get("/api/heatmaps/rage-clicks", readers) { w in "/api/heatmaps/rage-clicks?siteId=\(w.siteA)&path=/&period=7d" },
        get("/api/heatmaps/dead-clicks", readers) { w in "/api/heatmaps/dead-clicks?siteId=\(w.siteA)&path=/&period=7d" },
        get("/api/heatmaps/pages", readers) { w in "/api/heatmaps/pages?siteId=\(w.siteA)&period=7d" },

        // Import (§8): admin/owner with a write-scope key.
        row("POST", "/api/import", "401 201 201 403 403 403 403 403 201 201 403") { w, _ in
            Request(method: "POST", path: "/api/import?siteId=\(w.siteA)", body: w.ndjson(w.siteA),
                    headers: [("Content-Type", "application/x-ndjson")])
        },
        get("/api/import", writers) { w in "/api/import?siteId=\(w.siteA)" },
        delete("/api/import", "401 200 200 403 403 404 404 403 200 200 403") { w in
            "/api/import?importId=\(try await w.importOne(w.siteA))"
        },

        // The web front end: public files and pages.
        get("/assets/{file}", anyone) { w in
            let page = try await w.s.call("GET", "/")
            guard let r = page.text.range(of: #"/assets/[^"']+"#, options: .regularExpression) else {
                throw HTTPClient.Failure(description: "no /assets/ link on the dashboard page")
            }
            return String(page.text[r])
        },
        get("/sites/{id}", anyone) { w in "/sites/\(w.siteA)" },
        get("/sites/{id}/{view}", anyone) { w in "/sites/\(w.siteA)/goals" },
    ]

    /// Users, memberships and keys of the columns.
    static func world(_ s: TestServer) async throws -> World {
        let w = World(s)
        for who in [Who.owner, .admin, .editor, .viewer, .member, .stranger] {
            let email = "\(who.rawValue)@authz.example.com"
            w.emails[who] = email
            w.tokens[who] = try await s.register(email)
        }
        for who in [Who.owner, .admin, .editor, .viewer, .member, .stranger] {
            let r = try await s.call("GET", "/api/user/status", token: w.tokens[who])
            w.userIds[who] = try #require(r.json["id"] as? String, "\(r.text)")
        }
        w.host = try await s.register("host@authz.example.com")
        w.siteA = try await w.memberSite()
        w.siteB = try await s.createSite(w.owner, domain: "site-b.example.com")
        try await s.addMember(w.emails[.member] ?? "", w.siteB, role: "admin")
        for (who, scope, site) in [(Who.read, "read", nil), (.write, "write", nil), (.adminKey, "admin", nil), (.boundB, "admin", w.siteB)] {
            var body: [String: Any] = ["name": who.rawValue, "scope": scope]
            if let site { body["siteId"] = site }
            let r = try await s.call("POST", "/api/api-keys", token: w.owner, json: body)
            w.tokens[who] = try #require((r.json["apiKey"] as? [String: Any])?["key"] as? String, "\(r.text)")
        }
        // A click an hour ago, so the heatmap has a page to answer for.
        let ts = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        let click = #"{"ts":"\#(ts)","site":"\#(w.siteA)","type":"click","visitor":"v","session":"s","path":"/","x":10,"y":20,"element":"a.cta"}"#
        let imported = try await s.call("POST", "/api/import?siteId=\(w.siteA)", token: w.owner, body: Array(click.utf8) + [10],
                                        headers: [("Content-Type", "application/x-ndjson")])
        #expect(imported.json["accepted"] as? Int == 1, "\(imported.text)")
        w.goal = try await w.create("/api/goals", w.goalBody(w.siteA), "goal")
        w.funnel = try await w.create("/api/funnels", w.funnelBody(w.siteA), "funnel")
        w.alert = try await w.create("/api/alerts", w.alertBody(w.siteA), "alert")
        w.shareToken = try await w.share()
        return w
    }

    static func start() async throws -> TestServer {
        try await TestServer.start { c in
            c.rateLimits.scale(by: 1000)
            c.webhookAllowHTTP = true
            c.webhookAllowPrivate = true
            c.alertInterval = 0
        }
    }

    @Test func everyRouteHasARow() async throws {
        let s = try await TestServer.start()
        let table = s.server.core.makeRoutes()
        try await s.stop()
        var routes = Set<String>()
        for route in table.routes {
            for method in route.methods.keys { routes.insert("\(method.rawValue) \(route.template)") }
        }
        let rows = Set(Self.rows.map { "\($0.method) \($0.route)" })
        let distinct = Set(Self.rows.map { "\($0.method) \($0.route) \($0.variant)" })
        #expect(distinct.count == Self.rows.count, "a route has two rows of the same variant")
        let missing = routes.subtracting(rows).sorted()
        let stale = rows.subtracting(routes).sorted()
        #expect(missing.isEmpty, "routes without a row in the authorization table: \(missing)")
        #expect(stale.isEmpty, "rows for routes that don't exist: \(stale)")
    }

    @Test func everyCellAnswersAsSpecified() async throws {
        let s = try await Self.start()
        let w = try await Self.world(s)
        var mismatches: [String] = []
        for row in Self.rows {
            let codes = row.expect.split(separator: " ").compactMap { Int($0) }
            #expect(codes.count == Who.allCases.count, "\(row.method) \(row.route): \(codes.count) codes")
            for (who, expected) in zip(Who.allCases, codes) {
                let req = try await row.build(w, who)
                var token = w.tokens[who]
                if row.freshSession && !who.isKey && who != .none { token = try await w.freshToken(who) }
                let r = try await s.call(req.method, req.path, token: token, json: req.json, body: req.body, headers: req.headers)
                if r.status != expected {
                    mismatches.append("\(row.method) \(row.route) \(row.variant) as \(who.rawValue): \(r.status) (expected \(expected)) \(r.text.prefix(120))")
                }
            }
        }
        let report = "\(mismatches.count) cells differ:\n" + mismatches.joined(separator: "\n")
        #expect(mismatches.isEmpty, Comment(rawValue: report))
        // No handler returned past a key's too-weak scope without checking it.
        let metrics = try await s.call("GET", "/metrics")
        #expect(!metrics.text.contains("zta_scope_check_skipped_total 1"), "a handler skipped the scope check")
        try await s.stop()
    }

    /// §1's order for keys: parameters are checked before the key's scope, so a read key with a
    /// bad body learns about the body first (the issue's example: `POST /api/sites`).
    @Test func parametersComeBeforeScope() async throws {
        let s = try await Self.start()
        let w = try await Self.world(s)
        let read = w.tokens[.read]
        let badSite = try await s.call("POST", "/api/sites", token: read, json: ["name": "no domain"])
        #expect(badSite.status == 400)
        #expect(badSite.error == "Domain is required")
        let badPatch = try await s.call("PATCH", "/api/sites", token: read, json: ["id": w.siteA, "timezone": "Mars/Base"])
        #expect(badPatch.error == "Invalid timezone")
        // PATCH validates the body before the role: a viewer with a bad body gets the 400.
        let viewerPatch = try await s.call("PATCH", "/api/sites", token: w.tokens[.viewer], json: ["id": w.siteA, "timezone": "Mars/Base"])
        #expect(viewerPatch.error == "Invalid timezone")
        let badGoal = try await s.call("POST", "/api/goals", token: read, json: ["siteId": w.siteA, "name": "x", "type": "event"])
        #expect(badGoal.error == "Event action is required for event goals")
        let badHook = try await s.call("POST", "/api/webhooks", token: w.tokens[.write], json: ["siteId": w.siteA, "url": "nope", "events": ["pageview"]])
        #expect(badHook.error == "Invalid webhook URL")
        // An import's content type and encoding are parameters: 415 before the site check.
        let br = try await s.call("POST", "/api/import?siteId=site_unknown", token: w.owner, body: [1],
                                  headers: [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "br")])
        #expect(br.status == 415)
        let xml = try await s.call("POST", "/api/import?siteId=site_unknown", token: w.owner, body: [1],
                                   headers: [("Content-Type", "application/xml")])
        #expect(xml.status == 415)
        // With a valid body the scope decides.
        let ok = try await s.call("POST", "/api/sites", token: read, json: ["domain": "scope.example.com"])
        #expect(ok.status == 403)
        #expect(ok.error == "API key does not allow this operation")
        try await s.stop()
    }
}
