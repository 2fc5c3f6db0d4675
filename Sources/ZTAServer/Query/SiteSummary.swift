import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTAStorage

/// The figures a site list shows: the dashboard summary over `30d` (decided in api.md §7.1),
/// computed by the query engine, and the all-time last pageview.
struct SiteSummary: Sendable {
    var pageviews = 0, visitors = 0, sessions = 0, avgSessionDuration = 0
    var bounceRate: JSONValue = 0
    var lastPageview: Int64?
}

extension ServerCore {
    func siteSummary(_ site: SiteRecord, nowMs: Int64) async throws -> SiteSummary {
        let db = self.db
        let tz = site.timezone, id = site.id
        // A dashboard query per site: through the gate like every heavy query.
        return try await queryGate.run {
            let req = try DashboardRequest.parse(["siteId": id, "period": "30d"], timezone: tz, now: nowMs)
            let body = try db.queries.dashboard(req)
            var s = SiteSummary()
            if let summary = JSONCoding.parse(body)?["summary"] {
                s.pageviews = summary["pageviews"]?.intValue ?? 0
                s.visitors = summary["uniqueVisitors"]?.intValue ?? 0
                s.sessions = summary["sessions"]?.intValue ?? 0
                s.bounceRate = summary["bounceRate"] ?? 0
                s.avgSessionDuration = summary["avgSessionDuration"]?.intValue ?? 0
            }
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
