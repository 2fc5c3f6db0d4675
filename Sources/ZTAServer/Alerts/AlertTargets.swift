import ZTAEngine
import ZTAQuery

/// Where alerts get the figures of goals and funnels (`conversionRate`, `goal.<id>.completions`,
/// `goal.<id>.conversionRate`, `funnel.<id>.conversionRate`). The traffic metrics (`pageviews` …
/// `avgSessionDuration`) come from `QueryEngine.summary`.
protocol AlertTargetMetrics: Sendable {
    /// Whether `id` is one of the site's goals (404 `Goal not found: <id>` otherwise).
    func goalExists(site: String, id: String, meta: MetaStore) async throws -> Bool
    /// Whether `id` is one of the site's funnels.
    func funnelExists(site: String, id: String, meta: MetaStore) async throws -> Bool
    /// A blocking function computing `metric` over a window (run inside the query gate), or
    /// nil when the goal or funnel it names is gone (the alert is skipped).
    func valueFunction(_ metric: AlertMetric, site: SiteRecord, db: any EventBackend,
                       meta: MetaStore) async throws -> (@Sendable (TimeWindow) throws -> Double)?
}

/// Goal and funnel metrics from the engine's typed conversion results (api.md §7.5, §7.6): the
/// definitions are read from the metadata store once per evaluation, the numbers come from
/// `goalSummaries` / `goalStats` / `funnelStats` — never from rendered JSON.
struct GoalAlertTargets: AlertTargetMetrics {
    func goalExists(site: String, id: String, meta: MetaStore) async throws -> Bool {
        try await meta.goal(id: id)?.siteId == site
    }

    func funnelExists(site: String, id: String, meta: MetaStore) async throws -> Bool {
        try await meta.funnel(id: id)?.siteId == site
    }

    func valueFunction(_ metric: AlertMetric, site: SiteRecord, db: any EventBackend,
                       meta: MetaStore) async throws -> (@Sendable (TimeWindow) throws -> Double)? {
        let siteId = site.id
        switch metric {
        case .conversionRate:
            // Any goal: visitors completing at least one of the site's goals / visitors, % (1 dp);
            // no goals, nothing converts. The engine takes up to 64 goals per scan.
            let defs = try await meta.goals(siteId: siteId).map(\.definition)
            if defs.isEmpty { return { _ in 0 } }
            return { w in try db.queries.goalStats(site: siteId, window: w, filters: [], goals: defs).conversionRate }
        case .goalCompletions(let id), .goalConversionRate(let id):
            guard let goal = try await meta.goal(id: id), goal.siteId == siteId else { return nil }
            let def = goal.definition
            let completions = metric == .goalCompletions(id)
            return { w in
                guard let s = try db.queries.goalSummaries(site: siteId, window: w, filters: [], goals: [def]).first else { return 0 }
                return completions ? Double(s.completions) : s.conversionRate
            }
        case .funnelConversionRate(let id):
            guard let funnel = try await meta.funnel(id: id), funnel.siteId == siteId else { return nil }
            let goals = try await meta.goals(siteId: siteId)
            let def = funnel.definition(goals: Dictionary(goals.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
            return { w in try db.queries.funnelStats(site: siteId, window: w, filters: [], funnel: def).overallConversionRate }
        default:
            return nil
        }
    }
}
