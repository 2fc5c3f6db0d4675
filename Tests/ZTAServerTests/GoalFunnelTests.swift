import Foundation
import Testing
@testable import ZTAServer

/// api.md §7.5 goals and §7.6 funnels over HTTP: CRUD, every validation message, the 404/409
/// answers, roles and key scopes of §3, and stats computed from imported events.
@Suite("Goals and funnels", .serialized)
struct GoalFunnelTests {
    /// Three visitors on 2026-03-01 (UTC):
    /// - a: `/` 10:00, `/pricing` 10:01, event Signup (label hero, value 5) 10:02, heartbeat 10:05;
    /// - b: `/` 11:00 from google.com, `/pricing` 11:30 (29 min later, same session);
    /// - c: `/blog/x` 12:00.
    static func lines(_ site: String) -> String {
        func line(_ ts: String, _ type: String, _ v: String, _ path: String, _ extra: String = "") -> String {
            #"{"ts":"2026-03-01T\#(ts):00.000Z","site":"\#(site)","type":"\#(type)","visitor":"\#(v)","session":"s\#(v)","path":"\#(path)"\#(extra)}"# + "\n"
        }
        return line("10:00", "pageview", "a", "/") + line("10:01", "pageview", "a", "/pricing")
            + line("10:02", "event", "a", "/pricing", #","name":"Signup","label":"hero","value":5"#)
            + line("10:05", "heartbeat", "a", "/pricing")
            + line("11:00", "pageview", "b", "/", #","referrer":"google.com""#) + line("11:30", "pageview", "b", "/pricing")
            + line("12:00", "pageview", "c", "/blog/x")
    }

    static let period = "startDate=2026-03-01&endDate=2026-03-01"

    func setUp(_ s: TestServer) async throws -> (String, String) {
        let t = try await s.register("owner@example.com")
        let site = try await s.createSite(t, domain: "goals.example.com")
        let r = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(Self.lines(site).utf8),
                                 headers: [("Content-Type", "application/x-ndjson")])
        #expect(r.status == 201)
        #expect(r.json["accepted"] as? Int == 7)
        return (t, site)
    }

    @Test func goalCRUDAndValidation() async throws {
        let s = try await TestServer.start()
        let (t, site) = try await setUp(s)
        for (body, message) in [
            (["name": "x", "type": "pageview", "path": "/"], "Site ID required"),
            (["siteId": site, "type": "pageview", "path": "/"], "Goal name is required"),
            (["siteId": site, "name": "  ", "type": "pageview", "path": "/"], "Goal name is required"),
            (["siteId": site, "name": String(repeating: "n", count: 101), "type": "pageview", "path": "/"], "name must be at most 100 characters"),
            (["siteId": site, "name": "x", "type": "click"], "Invalid goal type. Must be: pageview, event, or duration"),
            (["siteId": site, "name": "x"], "Invalid goal type. Must be: pageview, event, or duration"),
            (["siteId": site, "name": "x", "type": "pageview", "value": -1, "path": "/"], "Invalid value"),
            (["siteId": site, "name": "x", "type": "pageview"], "Path is required for pageview goals"),
            (["siteId": site, "name": "x", "type": "pageview", "path": "/", "matchType": "glob"], "Invalid matchType"),
            (["siteId": site, "name": "x", "type": "pageview", "path": "(a)\\1", "matchType": "regex"], "Invalid regular expression"),
            (["siteId": site, "name": "x", "type": "pageview", "path": "(?=a)", "matchType": "regex"], "Invalid regular expression"),
            (["siteId": site, "name": "x", "type": "event"], "Event action is required for event goals"),
            (["siteId": site, "name": "x", "type": "duration"], "Duration is required for duration goals"),
            (["siteId": site, "name": "x", "type": "duration", "durationSeconds": 0], "Invalid durationSeconds"),
            (["siteId": site, "name": "x", "type": "duration", "durationSeconds": 86_401], "Invalid durationSeconds"),
        ] as [([String: Any], String)] {
            let r = try await s.call("POST", "/api/goals", token: t, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body)")
        }
        // Parameters are checked before visibility: a bad body on an unknown site is still a 400.
        #expect(try await s.call("POST", "/api/goals", token: t, json: ["siteId": "site_nope", "name": "x", "type": "event"]).error
                == "Event action is required for event goals")
        #expect(try await s.call("POST", "/api/goals", token: t, json: ["siteId": "site_nope", "name": "x", "type": "event", "eventAction": "a"]).error
                == "Access denied")

        let made = try await s.call("POST", "/api/goals", token: t, json: ["siteId": site, "name": "Pricing", "type": "pageview", "path": "/pricing", "value": 2])
        #expect(made.status == 201)
        let goal = try #require(made.json["goal"] as? [String: Any])
        let gid = try #require(goal["id"] as? String)
        #expect(gid.hasPrefix("goal_"))
        #expect(goal["matchType"] as? String == "exact")
        #expect(goal["siteId"] as? String == site)
        #expect(goal["value"] as? Int == 2)
        #expect(goal["createdAt"] is String && goal["updatedAt"] is String)

        #expect(try await s.call("PATCH", "/api/goals", token: t, json: ["name": "x"]).error == "Goal ID required")
        // A malformed field is a 400 even for an unknown goal (parameters before lookup).
        #expect(try await s.call("PATCH", "/api/goals", token: t, json: ["id": "goal_nope", "value": "high"]).error == "Invalid value")
        let nf = try await s.call("PATCH", "/api/goals", token: t, json: ["id": "goal_nope", "name": "x"])
        #expect(nf.status == 404 && nf.error == "Goal not found")
        #expect(try await s.call("PATCH", "/api/goals", token: t, json: ["id": gid, "type": "event"]).error == "Goal type cannot be changed")
        #expect(try await s.call("PATCH", "/api/goals", token: t, json: ["id": gid, "matchType": "regex", "path": "("]).error == "Invalid regular expression")
        let renamed = try await s.call("PATCH", "/api/goals", token: t, json: ["id": gid, "name": "Pricing page", "type": "pageview"])
        #expect(renamed.status == 200)
        #expect((renamed.json["goal"] as? [String: Any])?["name"] as? String == "Pricing page")
        #expect((renamed.json["goal"] as? [String: Any])?["path"] as? String == "/pricing")

        #expect(try await s.call("DELETE", "/api/goals", token: t).error == "Goal ID required")
        #expect(try await s.call("DELETE", "/api/goals?id=goal_nope", token: t).status == 404)
        let del = try await s.call("DELETE", "/api/goals?id=\(gid)", token: t)
        #expect(del.json["message"] as? String == "Goal deleted successfully")
        #expect(try await s.call("GET", "/api/goals/\(gid)/stats", token: t).error == "Goal not found")
        try await s.stop()
    }

    @Test func goalStatsAndList() async throws {
        let s = try await TestServer.start()
        let (t, site) = try await setUp(s)
        let pricing = try await s.call("POST", "/api/goals", token: t, json: ["siteId": site, "name": "Pricing", "type": "pageview", "path": "^/pri", "matchType": "regex", "value": 2])
        let pid = try #require((pricing.json["goal"] as? [String: Any])?["id"] as? String)
        let signup = try await s.call("POST", "/api/goals", token: t, json: ["siteId": site, "name": "Signup", "type": "event", "eventAction": "Signup", "eventLabel": "hero", "value": 1])
        let sid = try #require((signup.json["goal"] as? [String: Any])?["id"] as? String)
        _ = try await s.call("POST", "/api/goals", token: t, json: ["siteId": site, "name": "Stay", "type": "duration", "durationSeconds": 240])

        let st = try await s.call("GET", "/api/goals/\(pid)/stats?\(Self.period)", token: t)
        #expect(st.status == 200)
        let stats = try #require(st.json["stats"] as? [String: Any])
        #expect(stats["completions"] as? Int == 2)
        #expect(stats["uniqueCompletions"] as? Int == 2)
        #expect(stats["conversionRate"] as? Double == 66.7)
        #expect(stats["totalValue"] as? Double == 4)
        #expect(stats["avgValue"] as? Double == 2)
        let series = st.json["timeseries"] as? [[String: Any]] ?? []
        #expect(series.count == 1 && series.first?["date"] as? String == "2026-03-01")
        let sources = st.json["topSources"] as? [[String: Any]] ?? []
        #expect(sources.map { $0["source"] as? String } == ["(direct)", "google.com"])
        #expect(sources.first?["conversionRate"] as? Double == 50)  // a converts; a and c are direct
        #expect((st.json["topPages"] as? [[String: Any]])?.first?["path"] as? String == "/pricing")
        #expect((st.json["goal"] as? [String: Any])?["path"] as? String == "^/pri")

        // Event goal: the event's own value wins; a filter keeps only google.com sessions.
        let ev = try await s.call("GET", "/api/goals/\(sid)/stats?\(Self.period)", token: t)
        #expect((ev.json["stats"] as? [String: Any])?["totalValue"] as? Double == 5)
        let filtered = try await s.call("GET", "/api/goals/\(pid)/stats?\(Self.period)&filters=\(q("source==google.com"))", token: t)
        #expect((filtered.json["stats"] as? [String: Any])?["conversionRate"] as? Double == 100)
        #expect(try await s.call("GET", "/api/goals/\(pid)/stats?period=2y", token: t).error?.hasPrefix("Invalid period") == true)
        #expect(try await s.call("GET", "/api/goals/\(pid)/stats?filters=nope==1", token: t).error == "Invalid filter property: nope")

        let list = try await s.call("GET", "/api/goals?siteId=\(site)&\(Self.period)", token: t)
        let goals = list.json["goals"] as? [[String: Any]] ?? []
        #expect(goals.map { $0["name"] as? String } == ["Stay", "Signup", "Pricing"])  // newest first
        // Stay (240 s): a's heartbeat at 5 min and b's pageview at 30 min complete it; c's session is one event.
        #expect(goals.map { $0["completions"] as? Int } == [2, 1, 2])
        #expect(goals.map { $0["conversionRate"] as? Double } == [66.7, 33.3, 66.7])
        #expect(try await s.call("GET", "/api/goals", token: t).error == "Site ID required")

        let detail = try await s.call("GET", "/api/sites/\(site)", token: t)
        #expect(((detail.json["site"] as? [String: Any])?["goals"] as? [Any])?.count == 3)
        try await s.stop()
    }

    @Test func funnelCRUDStatsAndGoalInUse() async throws {
        let s = try await TestServer.start()
        let (t, site) = try await setUp(s)
        let g = try await s.call("POST", "/api/goals", token: t, json: ["siteId": site, "name": "Signup", "type": "event", "eventAction": "Signup"])
        let gid = try #require((g.json["goal"] as? [String: Any])?["id"] as? String)
        let home: [String: Any] = ["type": "pageview", "path": "/"]
        for (body, message) in [
            (["siteId": site, "steps": [home, home]], "Funnel name is required"),
            (["siteId": site, "name": "F"], "Funnel must have at least 2 steps"),
            (["siteId": site, "name": "F", "steps": [home]], "Funnel must have at least 2 steps"),
            (["siteId": site, "name": "F", "steps": Array(repeating: home, count: 11)], "Funnel cannot have more than 10 steps"),
            (["siteId": site, "name": "F", "steps": [home, ["type": "click"]]], "Invalid step type. Must be: pageview, event, or goal"),
            (["siteId": site, "name": "F", "steps": [home, ["type": "pageview"]]], "Path is required for pageview steps"),
            (["siteId": site, "name": "F", "steps": [home, ["type": "event"]]], "Event action is required for event steps"),
            (["siteId": site, "name": "F", "steps": [home, ["type": "goal"]]], "goalId is required for goal steps"),
            (["siteId": site, "name": "F", "steps": [home, ["type": "pageview", "path": "/", "matchType": "x"]]], "Invalid matchType"),
            (["siteId": site, "name": "F", "steps": [home, ["type": "pageview", "path": "a{1001}", "matchType": "regex"]]], "Invalid regular expression"),
            (["siteId": site, "name": "F", "steps": [home, home], "timeWindow": 59], "Invalid timeWindow"),
            (["siteId": site, "name": "F", "steps": [home, home], "timeWindow": 2_592_001], "Invalid timeWindow"),
        ] as [([String: Any], String)] {
            let r = try await s.call("POST", "/api/funnels", token: t, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body)")
        }
        let missing = try await s.call("POST", "/api/funnels", token: t, json: ["siteId": site, "name": "F", "steps": [home, ["type": "goal", "goalId": "goal_zz"]]])
        #expect(missing.status == 404 && missing.error == "Goal not found: goal_zz")

        let made = try await s.call("POST", "/api/funnels", token: t, json: ["siteId": site, "name": "Home to signup",
            "steps": [home, ["name": "Pricing", "type": "pageview", "path": "pric", "matchType": "contains"], ["type": "goal", "goalId": gid]], "timeWindow": 600])
        #expect(made.status == 201)
        let funnel = try #require(made.json["funnel"] as? [String: Any])
        let fid = try #require(funnel["id"] as? String)
        let steps = funnel["steps"] as? [[String: Any]] ?? []
        #expect(steps.map { $0["id"] as? String } == ["step_1", "step_2", "step_3"])
        #expect(steps.map { $0["name"] as? String } == ["Step 1", "Pricing", "Step 3"])
        #expect(funnel["timeWindow"] as? Int == 600)

        let inUse = try await s.call("DELETE", "/api/goals?id=\(gid)", token: t)
        #expect(inUse.status == 409 && inUse.error == "Goal is used by funnel: Home to signup")

        let st = try await s.call("GET", "/api/funnels/\(fid)/stats?\(Self.period)", token: t)
        #expect(st.status == 200)
        let stats = try #require(st.json["stats"] as? [String: Any])
        // a: / → /pricing (60 s) → Signup (60 s); b: / → /pricing 30 min later, outside 600 s.
        #expect(stats["totalVisitors"] as? Int == 2)
        #expect(stats["completions"] as? Int == 1)
        #expect(stats["overallConversionRate"] as? Double == 50)
        #expect(stats["avgTimeToComplete"] as? Int == 120)
        let rows = st.json["steps"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["visitors"] as? Int } == [2, 1, 1])
        #expect(rows.map { $0["dropOff"] as? Int } == [0, 1, 0])
        #expect(rows.map { $0["dropOffRate"] as? Double } == [0, 50, 0])
        #expect(rows.map { $0["avgTimeOnStep"] as? Int } == [60, 60, 0])
        #expect((st.json["timeseries"] as? [[String: Any]])?.first?["conversionRate"] as? Double == 50)

        let list = try await s.call("GET", "/api/funnels?siteId=\(site)&\(Self.period)", token: t)
        let lf = (list.json["funnels"] as? [[String: Any]])?.first
        #expect(lf?["totalVisitors"] as? Int == 2 && lf?["completions"] as? Int == 1 && lf?["conversionRate"] as? Double == 50)

        let patched = try await s.call("PATCH", "/api/funnels", token: t, json: ["id": fid, "timeWindow": 3600])
        #expect((patched.json["funnel"] as? [String: Any])?["timeWindow"] as? Int == 3600)
        #expect(try await s.call("PATCH", "/api/funnels", token: t, json: ["id": fid, "steps": [home]]).error == "Funnel must have at least 2 steps")
        #expect(try await s.call("PATCH", "/api/funnels", token: t, json: ["timeWindow": 60]).error == "Funnel ID required")
        #expect(try await s.call("PATCH", "/api/funnels", token: t, json: ["id": "funnel_x"]).error == "Funnel not found")
        let wide = try await s.call("GET", "/api/funnels/\(fid)/stats?\(Self.period)", token: t)
        #expect((wide.json["stats"] as? [String: Any])?["totalVisitors"] as? Int == 2)
        #expect(((wide.json["steps"] as? [[String: Any]])?[1])?["visitors"] as? Int == 2)

        #expect(try await s.call("DELETE", "/api/funnels?id=\(fid)", token: t).json["message"] as? String == "Funnel deleted successfully")
        #expect(try await s.call("DELETE", "/api/goals?id=\(gid)", token: t).status == 200)
        #expect(try await s.call("GET", "/api/funnels/\(fid)/stats", token: t).error == "Funnel not found")
        try await s.stop()
    }

    @Test func rolesAndScopes() async throws {
        let s = try await TestServer.start()
        let (t, site) = try await setUp(s)
        let g = try await s.call("POST", "/api/goals", token: t, json: ["siteId": site, "name": "Home", "type": "pageview", "path": "/"])
        let gid = try #require((g.json["goal"] as? [String: Any])?["id"] as? String)
        let f = try await s.call("POST", "/api/funnels", token: t, json: ["siteId": site, "name": "F",
            "steps": [["type": "pageview", "path": "/"], ["type": "goal", "goalId": gid]]])
        let fid = try #require((f.json["funnel"] as? [String: Any])?["id"] as? String)

        let viewer = try await s.register("viewer@example.com")
        try await s.addMember("viewer@example.com", site, role: "viewer")
        let admin = try await s.register("admin@example.com")
        try await s.addMember("admin@example.com", site, role: "admin")
        let stranger = try await s.register("stranger@example.com")
        let key = try #require((try await s.call("POST", "/api/api-keys", token: t, json: ["name": "ro", "scope": "read"]).json["apiKey"] as? [String: Any])?["key"] as? String)
        let writeKey = try #require((try await s.call("POST", "/api/api-keys", token: t, json: ["name": "rw", "scope": "write"]).json["apiKey"] as? [String: Any])?["key"] as? String)

        for reader in [viewer, key] {
            #expect(try await s.call("GET", "/api/goals?siteId=\(site)", token: reader).status == 200)
            #expect(try await s.call("GET", "/api/goals/\(gid)/stats", token: reader).status == 200)
            #expect(try await s.call("GET", "/api/funnels?siteId=\(site)", token: reader).status == 200)
            #expect(try await s.call("GET", "/api/funnels/\(fid)/stats", token: reader).status == 200)
        }
        let body: [String: Any] = ["siteId": site, "name": "x", "type": "pageview", "path": "/x"]
        let denied = try await s.call("POST", "/api/goals", token: viewer, json: body)
        #expect(denied.status == 403 && denied.error == "Insufficient permissions")
        #expect(try await s.call("PATCH", "/api/goals", token: viewer, json: ["id": gid, "name": "y"]).error == "Insufficient permissions")
        #expect(try await s.call("DELETE", "/api/funnels?id=\(fid)", token: viewer).error == "Insufficient permissions")
        let keyDenied = try await s.call("POST", "/api/goals", token: key, json: body)
        #expect(keyDenied.status == 403 && keyDenied.error == "API key does not allow this operation")
        #expect(try await s.call("DELETE", "/api/goals?id=\(gid)", token: key).error == "API key does not allow this operation")
        #expect(try await s.call("POST", "/api/goals", token: writeKey, json: body).status == 201)
        #expect(try await s.call("POST", "/api/goals", token: admin, json: ["siteId": site, "name": "a", "type": "event", "eventAction": "e"]).status == 201)

        // A stranger learns nothing: the site is "Access denied", its goal and funnel "not found".
        #expect(try await s.call("GET", "/api/goals?siteId=\(site)", token: stranger).error == "Access denied")
        #expect(try await s.call("POST", "/api/goals", token: stranger, json: body).error == "Access denied")
        #expect(try await s.call("GET", "/api/goals/\(gid)/stats", token: stranger).error == "Goal not found")
        #expect(try await s.call("PATCH", "/api/funnels", token: stranger, json: ["id": fid, "name": "z"]).error == "Funnel not found")
        #expect(try await s.call("GET", "/api/goals?siteId=\(site)").status == 401)

        // Deleting the site removes its goals and funnels.
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: t).status == 200)
        #expect(try await s.server.core.meta.goal(id: gid) == nil)
        #expect(try await s.server.core.meta.funnel(id: fid) == nil)
        try await s.stop()
    }
}
