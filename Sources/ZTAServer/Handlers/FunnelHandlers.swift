import Foundation
import GRDB
import ZTAEngine
import ZTAQuery

/// `/api/funnels` (api.md §7.6), with the check order of api.md §1.
extension ServerCore {
    /// `steps` of a create or update body, validated in the order of api.md §7.6.
    static func funnelSteps(_ v: JSONValue?) throws(APIError) -> [FunnelStepRecord] {
        guard let v, !v.isNull else { throw APIError.badRequest("Funnel must have at least 2 steps") }
        guard let arr = v.arrayValue else { throw APIError.invalid("steps") }
        if arr.count < 2 { throw APIError.badRequest("Funnel must have at least 2 steps") }
        if arr.count > 10 { throw APIError.badRequest("Funnel cannot have more than 10 steps") }
        var out: [FunnelStepRecord] = []
        for (k, s) in arr.enumerated() {
            guard s.isObject else { throw APIError.invalid("steps") }
            guard let type = s["type"]?.stringValue.flatMap(FunnelStepType.init(rawValue:)) else {
                throw APIError.badRequest("Invalid step type. Must be: pageview, event, or goal")
            }
            var name = "Step \(k + 1)"
            if let n = try optionalString(s, "name") {
                if n.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
                let t = n.trimmingCharacters(" ")
                if !t.isEmpty { name = t }
            }
            var step = FunnelStepRecord(name: name, type: type, path: nil, matchType: nil, eventAction: nil, eventCategory: nil, goalId: nil)
            switch type {
            case .pageview:
                guard let p = try optionalString(s, "path"), !p.isEmpty else { throw APIError.badRequest("Path is required for pageview steps") }
                if p.unicodeScalars.count > 500 { throw APIError.badRequest("path must be at most 500 characters") }
                let m = try parseMatchType(s) ?? .exact
                try checkPath(p, m)
                step.path = p; step.matchType = m
            case .event:
                guard let a = try optionalString(s, "eventAction"), !a.isEmpty else {
                    throw APIError.badRequest("Event action is required for event steps")
                }
                step.eventAction = a
                step.eventCategory = try optionalString(s, "eventCategory").flatMap { $0.isEmpty ? nil : $0 }
            case .goal:
                guard let g = try optionalString(s, "goalId"), !g.isEmpty else { throw APIError.badRequest("goalId is required for goal steps") }
                step.goalId = g
            }
            out.append(step)
        }
        return out
    }

    static func timeWindow(_ body: JSONValue) throws(APIError) -> Int? {
        guard let v = body["timeWindow"], !v.isNull else { return nil }
        guard let t = v.intValue, (60...2_592_000).contains(t) else { throw APIError.invalid("timeWindow") }
        return t
    }

    /// 404 `Goal not found: <id>` unless every goal step names a goal of the site; run inside
    /// the write transaction that stores the funnel (a goal deleted meanwhile can't slip through).
    static func checkStepGoals(_ db: GRDB.Database, _ steps: [FunnelStepRecord], siteId: String) throws {
        for s in steps {
            guard let g = s.goalId else { continue }
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM goals WHERE id = ? AND site_id = ?", arguments: [g, siteId]) ?? 0
            if n == 0 { throw APIError(404, "Goal not found: \(g)") }
        }
    }

    func createFunnel(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let siteId = try Self.optionalString(body, "siteId"), !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        guard let name = try Self.resourceName(body, required: "Funnel name is required") else { throw APIError.badRequest("Funnel name is required") }
        let steps = try Self.funnelSteps(body["steps"])
        let window = try Self.timeWindow(body) ?? 3600
        _ = try await authorizedSite(call, siteId, minRole: .admin)
        let f = FunnelRecord(id: Secrets.id("funnel"), siteId: siteId, name: name, steps: steps, timeWindow: window,
                             createdAt: call.nowMs, updatedAt: call.nowMs)
        try await meta.pool.write { db in
            try Self.checkStepGoals(db, f.steps, siteId: f.siteId)
            try MetaStore.insertFunnel(db, f)
        }
        await recordActivity(call, .funnelCreated, target: ActivityTarget(type: "funnel", id: f.id, name: f.name), siteId: f.siteId)
        return .json(.object([("funnel", f.json())]), status: .created)
    }

    /// The funnel `id` names, if the caller sees its site with at least `minRole`.
    func visibleFunnel(_ call: Call, _ id: String?, minRole: SiteRole) async throws -> (FunnelRecord, SiteRecord) {
        guard let id, !id.isEmpty else { throw APIError.badRequest("Funnel ID required") }
        guard let f = try await meta.funnel(id: id) else { throw APIError(404, "Funnel not found") }
        let (site, role) = try await authorizedSite(call, f.siteId, minRole: .viewer, denied: APIError(404, "Funnel not found"))
        guard role >= minRole else { throw APIError(403, "Insufficient permissions") }
        return (f, site)
    }

    func updateFunnel(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let id = try Self.optionalString(body, "id"), !id.isEmpty else { throw APIError.badRequest("Funnel ID required") }
        let name = try Self.resourceName(body, required: "Funnel name is required")
        let steps = body["steps"].map { $0.isNull ? nil : $0 } ?? nil
        let newSteps = try steps.map { v throws(APIError) in try Self.funnelSteps(v) }
        let window = try Self.timeWindow(body)
        var (f, _) = try await visibleFunnel(call, id, minRole: .admin)
        if let name { f.name = name }
        if let newSteps { f.steps = newSteps }
        if let window { f.timeWindow = window }
        f.updatedAt = call.nowMs
        let rec = f
        let found = try await meta.pool.write { db -> Bool in
            try Self.checkStepGoals(db, rec.steps, siteId: rec.siteId)
            try MetaStore.updateFunnel(db, rec)
            return db.changesCount > 0
        }
        guard found else { throw APIError(404, "Funnel not found") }
        await recordActivity(call, .funnelUpdated, target: ActivityTarget(type: "funnel", id: rec.id, name: rec.name),
                             siteId: rec.siteId, metadata: Self.activityFields(body))
        return .json(.object([("funnel", rec.json())]))
    }

    func deleteFunnel(_ call: Call) async throws -> Reply.Out {
        let (f, _) = try await visibleFunnel(call, call.query["id"], minRole: .admin)
        try await meta.pool.write { db in try db.execute(sql: "DELETE FROM funnels WHERE id = ?", arguments: [f.id]) }
        await recordActivity(call, .funnelDeleted, target: ActivityTarget(type: "funnel", id: f.id, name: f.name), siteId: f.siteId)
        return .ok("Funnel deleted successfully")
    }

    /// The site's goals by id (goal steps resolve through it).
    func goalsById(_ siteId: String) async throws -> [String: GoalRecord] {
        var m: [String: GoalRecord] = [:]
        for g in try await meta.goals(siteId: siteId) { m[g.id] = g }
        return m
    }

    func listFunnels(_ call: Call) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        do { _ = try ConversionRequest.parse(call.query, timezone: "UTC", now: call.nowMs) } catch { throw APIError(error) }
        let (site, _) = try await authorizedSite(call, siteId, minRole: .viewer)
        let req: ConversionRequest
        do { req = try ConversionRequest.parse(call.query, timezone: site.timezone, now: call.nowMs) } catch { throw APIError(error) }
        let funnels = try await meta.funnels(siteId: site.id)
        let goals = try await goalsById(site.id)
        let defs = funnels.map { $0.definition(goals: goals) }
        let events = self.events
        // One query slot for the whole list: each funnel is one scan.
        let stats = funnels.isEmpty ? [] : try await queryGate.run {
            try defs.map { try events.queries.funnelStats(site: site.id, window: req.window, filters: req.filters, funnel: $0) }
        }
        return .json(.object([("funnels", .array(zip(funnels, stats).map { $0.json(stats: $1) }))]))
    }

    func funnelStats(_ call: Call) async throws -> Reply.Out {
        do { _ = try ConversionRequest.parse(call.query, timezone: "UTC", now: call.nowMs) } catch { throw APIError(error) }
        let (f, site) = try await visibleFunnel(call, call.pathParams["id"], minRole: .viewer)
        let req: ConversionRequest
        do { req = try ConversionRequest.parse(call.query, timezone: site.timezone, now: call.nowMs) } catch { throw APIError(error) }
        let def = f.definition(goals: try await goalsById(site.id))
        let events = self.events
        let bytes = try await queryGate.run {
            let s = try events.queries.funnelStats(site: site.id, window: req.window, filters: req.filters, funnel: def)
            return QueryEngine.renderFunnelStats(funnel: def, s)
        }
        return Reply.bytes(bytes)
    }
}
