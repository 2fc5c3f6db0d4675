import Foundation
import GRDB
import ZTAEngine
import ZTAQuery

/// `/api/goals` (api.md §7.5). Checks in the order of api.md §1: parameters (as listed in
/// §7.5), then site visibility, role (admin+ for writes), resource lookup, business rules.
extension ServerCore {
    /// A string member: nil when absent or null; 400 `Invalid <key>` when not a string.
    static func optionalString(_ body: JSONValue, _ key: String) throws(APIError) -> String? {
        guard let v = body[key], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw APIError.invalid(key) }
        return s
    }

    /// `name` (1–100 after trimming), with the resource's own "required" message.
    static func resourceName(_ body: JSONValue, required: String) throws(APIError) -> String? {
        guard let v = body["name"], !v.isNull else { return nil }
        guard let raw = v.stringValue else { throw APIError.invalid("name") }
        let t = raw.trimmingCharacters(" ")
        if t.isEmpty { throw APIError.badRequest(required) }
        // Unicode scalars as sent, as JSON Schema's maxLength counts.
        if raw.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
        return t
    }

    static func parseMatchType(_ body: JSONValue) throws(APIError) -> MatchType? {
        guard let v = body["matchType"], !v.isNull else { return nil }
        guard let m = v.stringValue.flatMap(MatchType.init(rawValue:)) else { throw APIError.badRequest("Invalid matchType") }
        return m
    }

    /// 400 `Invalid regular expression` for a pattern RE2 rejects.
    static func checkPath(_ path: String, _ m: MatchType) throws(APIError) {
        do { _ = try PathMatcher(path: path, matchType: m) } catch { throw APIError(error) }
    }

    /// The goal fields of a create or update body, validated in the order of api.md §7.5;
    /// `base` = the stored goal (update) whose values stand for absent fields.
    static func goalFields(_ body: JSONValue, base: GoalRecord) throws(APIError) -> GoalRecord {
        var g = base
        if let n = try resourceName(body, required: "Goal name is required") { g.name = n }
        if let v = body["value"], !v.isNull {
            guard let d = v.doubleValue, d >= 0, d.isFinite else { throw APIError.invalid("value") }
            g.value = d
        }
        let path = try optionalString(body, "path")
        let match = try parseMatchType(body)
        if let p = path { g.path = p }
        if let m = match { g.matchType = m }
        if g.type == .pageview {
            guard let p = g.path, !p.isEmpty else { throw APIError.badRequest("Path is required for pageview goals") }
            if p.unicodeScalars.count > 500 { throw APIError.badRequest("path must be at most 500 characters") }
            try checkPath(p, g.matchType)
        }
        if let a = try optionalString(body, "eventAction") { g.eventAction = a }
        if body["eventCategory"] != nil { g.eventCategory = try optionalString(body, "eventCategory") }
        if body["eventLabel"] != nil { g.eventLabel = try optionalString(body, "eventLabel") }
        if g.type == .event {
            guard let a = g.eventAction, !a.isEmpty else { throw APIError.badRequest("Event action is required for event goals") }
        }
        for (k, s) in [("eventAction", g.eventAction), ("eventCategory", g.eventCategory), ("eventLabel", g.eventLabel)] {
            if let s, s.unicodeScalars.count > 200 { throw APIError.badRequest("\(k) must be at most 200 characters") }
        }
        if let v = body["durationSeconds"], !v.isNull {
            guard let d = v.intValue, (1...86_400).contains(d) else { throw APIError.invalid("durationSeconds") }
            g.durationSeconds = d
        }
        if g.type == .duration, g.durationSeconds == nil { throw APIError.badRequest("Duration is required for duration goals") }
        return g
    }

    /// The checks of `goalFields` that do not depend on the stored goal, so an update reports a
    /// malformed field (400) before the goal is looked up (api.md §1: parameters first).
    static func goalFieldShapes(_ body: JSONValue) throws(APIError) {
        if let v = body["value"], !v.isNull {
            guard let d = v.doubleValue, d >= 0, d.isFinite else { throw APIError.invalid("value") }
        }
        _ = try optionalString(body, "path")
        _ = try parseMatchType(body)
        for k in ["eventAction", "eventCategory", "eventLabel"] { _ = try optionalString(body, k) }
        if let v = body["durationSeconds"], !v.isNull {
            guard let d = v.intValue, (1...86_400).contains(d) else { throw APIError.invalid("durationSeconds") }
        }
    }

    static func parseGoalType(_ body: JSONValue) throws(APIError) -> GoalType? {
        guard let v = body["type"], !v.isNull else { return nil }
        guard let t = v.stringValue.flatMap(GoalType.init(rawValue:)) else {
            throw APIError.badRequest("Invalid goal type. Must be: pageview, event, or duration")
        }
        return t
    }

    func createGoal(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let siteId = try Self.optionalString(body, "siteId"), !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        guard try Self.resourceName(body, required: "Goal name is required") != nil else { throw APIError.badRequest("Goal name is required") }
        guard let type = try Self.parseGoalType(body) else { throw APIError.badRequest("Invalid goal type. Must be: pageview, event, or duration") }
        let now = call.nowMs
        let blank = GoalRecord(id: Secrets.id("goal"), siteId: siteId, name: "", type: type, path: nil, matchType: .exact,
                               eventAction: nil, eventCategory: nil, eventLabel: nil, durationSeconds: nil, value: 0,
                               createdAt: now, updatedAt: now)
        var goal = try Self.goalFields(body, base: blank)
        // Only the fields of the goal's kind are kept.
        if type != .pageview { goal.path = nil; goal.matchType = .exact }
        if type != .event { goal.eventAction = nil; goal.eventCategory = nil; goal.eventLabel = nil }
        if type != .duration { goal.durationSeconds = nil }
        _ = try await authorizedSite(call, siteId, minRole: .admin)
        let g = goal
        try await meta.pool.write { db in try MetaStore.insertGoal(db, g) }
        await recordActivity(call, .goalCreated, target: ActivityTarget(type: "goal", id: g.id, name: g.name), siteId: g.siteId)
        return .json(.object([("goal", g.json())]), status: .created)
    }

    /// The goal `id` names, if the caller sees its site with at least `minRole`.
    func visibleGoal(_ call: Call, _ id: String?, minRole: SiteRole) async throws -> (GoalRecord, SiteRecord) {
        guard let id, !id.isEmpty else { throw APIError.badRequest("Goal ID required") }
        guard let goal = try await meta.goal(id: id) else { throw APIError(404, "Goal not found") }
        let (site, role) = try await authorizedSite(call, goal.siteId, minRole: .viewer, denied: APIError(404, "Goal not found"))
        guard role >= minRole else { throw APIError(403, "Insufficient permissions") }
        return (goal, site)
    }

    func updateGoal(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let id = try Self.optionalString(body, "id"), !id.isEmpty else { throw APIError.badRequest("Goal ID required") }
        let newType = try Self.parseGoalType(body)
        _ = try Self.resourceName(body, required: "Goal name is required")
        try Self.goalFieldShapes(body)
        let (old, _) = try await visibleGoal(call, id, minRole: .admin)
        if let t = newType, t != old.type { throw APIError.badRequest("Goal type cannot be changed") }
        var goal = try Self.goalFields(body, base: old)
        goal.updatedAt = call.nowMs
        let g = goal
        let found = try await meta.pool.write { db -> Bool in
            try MetaStore.updateGoal(db, g)
            return db.changesCount > 0
        }
        guard found else { throw APIError(404, "Goal not found") }
        await recordActivity(call, .goalUpdated, target: ActivityTarget(type: "goal", id: g.id, name: g.name), siteId: g.siteId,
                             metadata: Self.activityFields(body))
        return .json(.object([("goal", g.json())]))
    }

    func deleteGoal(_ call: Call) async throws -> Reply.Out {
        let (goal, _) = try await visibleGoal(call, call.query["id"], minRole: .admin)
        // The funnel check and the delete in one transaction: a funnel created meanwhile can't
        // end up pointing at a deleted goal.
        let user: String? = try await meta.pool.write { db -> String? in
            for f in try Row.fetchAll(db, sql: "SELECT * FROM funnels WHERE site_id = ? ORDER BY created_at, id",
                                      arguments: [goal.siteId]).map(FunnelRecord.init(row:)) where f.goalIds.contains(goal.id) {
                return f.name
            }
            try db.execute(sql: "DELETE FROM goals WHERE id = ?", arguments: [goal.id])
            return nil
        }
        if let user { throw APIError(409, "Goal is used by funnel: \(user)") }
        await recordActivity(call, .goalDeleted, target: ActivityTarget(type: "goal", id: goal.id, name: goal.name), siteId: goal.siteId)
        return .ok("Goal deleted successfully")
    }

    func listGoals(_ call: Call) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        do { _ = try ConversionRequest.parse(call.query, timezone: "UTC", now: call.nowMs) } catch { throw APIError(error) }
        let (site, _) = try await authorizedSite(call, siteId, minRole: .viewer)
        let req: ConversionRequest
        do { req = try ConversionRequest.parse(call.query, timezone: site.timezone, now: call.nowMs) } catch { throw APIError(error) }
        let goals = try await meta.goals(siteId: site.id)
        let defs = goals.map(\.definition)
        let events = self.events
        let sums = goals.isEmpty ? [] : try await queryGate.run {
            try events.queries.goalSummaries(site: site.id, window: req.window, filters: req.filters, goals: defs)
        }
        return .json(.object([("goals", .array(zip(goals, sums.count == goals.count ? sums.map(Optional.some) : goals.map { _ in nil })
            .map { $0.json(summary: $1) }))]))
    }

    func goalStats(_ call: Call) async throws -> Reply.Out {
        do { _ = try ConversionRequest.parse(call.query, timezone: "UTC", now: call.nowMs) } catch { throw APIError(error) }
        let (goal, site) = try await visibleGoal(call, call.pathParams["id"], minRole: .viewer)
        let req: ConversionRequest
        do { req = try ConversionRequest.parse(call.query, timezone: site.timezone, now: call.nowMs) } catch { throw APIError(error) }
        let events = self.events
        let def = goal.definition
        let bytes = try await queryGate.run {
            let s = try events.queries.goalStats(site: site.id, window: req.window, filters: req.filters, goal: def)
            return QueryEngine.renderGoalStats(goal: def, s)
        }
        return Reply.bytes(bytes)
    }
}
