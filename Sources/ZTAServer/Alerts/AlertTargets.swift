import ZTAEngine
import ZTAQuery

/// Where alerts get the figures of goals and funnels (`conversionRate`, `goal.<id>.completions`,
/// `goal.<id>.conversionRate`, `funnel.<id>.conversionRate`): the goals feature supplies them.
/// The traffic metrics (`pageviews` … `avgSessionDuration`) come from `QueryEngine.summary`.
protocol AlertTargetMetrics: Sendable {
    /// Whether `id` is one of the site's goals (404 `Goal not found: <id>` otherwise).
    func goalExists(site: String, id: String, meta: MetaStore) async throws -> Bool
    /// Whether `id` is one of the site's funnels.
    func funnelExists(site: String, id: String, meta: MetaStore) async throws -> Bool
    /// A blocking function computing `metric` over a window (run inside the query gate), or
    /// nil when the goal or funnel it names is gone (the alert is skipped).
    func valueFunction(_ metric: AlertMetric, site: SiteRecord, db: Database,
                       meta: MetaStore) async throws -> (@Sendable (TimeWindow) throws -> Double)?
}

/// The stand-in while the server has no goals or funnels: none exists, so `goal.*`/`funnel.*`
/// metrics are refused with 404 at creation, and `conversionRate` over "any goal" is 0.
struct NoGoalTargets: AlertTargetMetrics {
    func goalExists(site: String, id: String, meta: MetaStore) async throws -> Bool { false }
    func funnelExists(site: String, id: String, meta: MetaStore) async throws -> Bool { false }
    func valueFunction(_ metric: AlertMetric, site: SiteRecord, db: Database,
                       meta: MetaStore) async throws -> (@Sendable (TimeWindow) throws -> Double)? {
        guard metric == .conversionRate else { return nil }
        return { _ in 0 }
    }
}
