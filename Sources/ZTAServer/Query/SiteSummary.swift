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
        let events = self.events
        let tz = site.timezone, id = site.id
        // A summary query per site: through the gate like every heavy query.
        return try await queryGate.run {
            guard let zone = SiteTimeZone(tz) else { throw APIError(500, "Internal server error") }
            let window = try TimeWindow.period("30d", timeZone: zone, now: nowMs)
            var s = SiteSummary()
            s.metrics = try events.queries.summary(site: id, window: window)
            s.lastPageview = try events.queries.lastPageview(site: id, before: nowMs + 1)
            return s
        }
    }
}
