import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTAStorage

/// The figures a site list shows: the dashboard summary over `30d` (decided in api.md §7.1),
/// the engine's typed `SummaryMetrics` (no JSON parsed back), and the all-time last pageview.
struct SiteSummary: Sendable {
    var metrics = SummaryMetrics.zero
    var lastPageview: Int64?

    var pageviews: Int64 { metrics.pageviews }
    var visitors: Int64 { metrics.uniqueVisitors }
    var sessions: Int64 { metrics.sessions }
    var avgSessionDuration: Int64 { metrics.avgSessionDuration }
    /// `bounceRate`, 1 dp as the dashboard writes it.
    var bounceRate: JSONValue { .double(metrics.bounceRate) }
}

extension ServerCore {
    func siteSummary(_ site: SiteRecord, nowMs: Int64) async throws -> SiteSummary {
        let db = self.db, events = self.events
        let tz = site.timezone, id = site.id
        // A summary query per site: through the gate like every heavy query.
        return try await queryGate.run {
            guard let zone = SiteTimeZone(tz) else { throw APIError(500, "Internal server error") }
            let window = try TimeWindow.period("30d", timeZone: zone, now: nowMs)
            var s = SiteSummary()
            s.metrics = try events.queries.summary(site: id, window: window)
            s.lastPageview = try Self.lastPageview(db.store, site: id, before: nowMs + 1)
            return s
        }
    }

    /// The newest pageview `ts` of a site before `before`: chunks are visited newest first and
    /// the scan stops once no remaining chunk can hold a later one.
    static func lastPageview(_ source: any EventSource, site: String, before: Int64) throws -> Int64? {
        let plan = try source.scanPlan(ScanRequest(site: site, from: 0, to: before, columns: ColumnSet([.ts, .type])))
        var best: Int64? = nil
        for task in plan.tasks.sorted(by: { $0.maxTs > $1.maxTs }) {
            if let b = best, task.maxTs <= b { break }
            let c = try task.load()
            let pv = EventType.pageview.rawValue
            for i in 0..<c.count where c.type[i] == pv && c.ts[i] < before {
                if best.map({ c.ts[i] > $0 }) ?? true { best = c.ts[i] }
            }
        }
        return best
    }
}
