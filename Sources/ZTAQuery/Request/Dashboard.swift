import Foundation

/// A parsed `GET /api/stats` request (api.md §6): the dashboard's panels over one shared scan.
public struct DashboardRequest: Sendable {
    public var siteId: String
    public var window: TimeWindow
    public var filters: [Filter]
    public var buckets: Bucketing

    /// Parses `siteId`, period params, `interval`, `filters` (api.md order).
    public static func parse(_ params: [String: String], timezone: String, now: Int64) throws(QueryError) -> DashboardRequest {
        guard let site = params["siteId"], !site.isEmpty else { throw QueryError("Site ID required") }
        guard let tz = SiteTimeZone(timezone) else { throw QueryError("Invalid timezone") }
        let window = try Periods.resolve(params, style: .dashboard, defaultPeriod: "7d", allowRealtime: false, tz: tz, now: now)
        var interval = Interval.defaultFor(period: window.period)
        if let i = params["interval"], !i.isEmpty { interval = try Interval.parse(i) }
        let filters = try FilterParser.parse(params["filters"] ?? "")
        let buckets = try Bucketing.make(window, interval: interval)
        return DashboardRequest(siteId: site, window: window, filters: filters, buckets: buckets)
    }

    var aggregateQuery: AggregateQuery {
        var q = AggregateQuery(site: siteId, window: window, filters: filters)
        q.total = true
        q.series = buckets
        q.seriesSessions = false  // the timeseries panel shows pageviews and visitors only
        q.breakdowns = [.page, .source, .device, .browser, .country, .channel]
        // Top pages: the first 10 by pageviews, with their pageviews and visitors only; time on
        // page for the summary only.
        q.pageSessionMetrics = false
        q.rowBreakdownTopByPageviews = DashboardResult.topRows
        q.timeOnPageInGroups = false
        return q
    }
}

/// English short names of ISO 3166-1 codes, cached (the dashboard's `countries[].name`).
enum CountryNames {
    nonisolated(unsafe) private static var cache: [String: String] = [:]
    private static let lock = NSLock()
    private static let locale = Locale(identifier: "en_US")

    static func name(_ code: String) -> String {
        lock.lock(); defer { lock.unlock() }
        if let n = cache[code] { return n }
        let n = locale.localizedString(forRegionCode: code) ?? code
        cache[code] = n
        return n
    }
}

extension QueryEngine {
    /// The body of `GET /api/stats`, written from the typed panels.
    func renderDashboard(_ r: DashboardRequest, _ d: DashboardResult) -> [UInt8] {
        var w = JSONWriter(capacity: 4096)
        let tz = r.window.timeZone
        w.beginObject()
        w.key("period"); w.beginObject()
        w.key("from"); w.string(tz.rfc3339(r.window.from))
        w.key("to"); w.string(tz.rfc3339(r.window.to))
        w.key("timezone"); w.string(tz.identifier)
        w.endObject()

        // The typed summary the site list and the alert evaluator read too (one computation).
        let t = d.summary
        w.key("summary"); w.beginObject()
        w.key("pageviews"); w.int(t.pageviews)
        w.key("uniqueVisitors"); w.int(t.uniqueVisitors)
        w.key("sessions"); w.int(t.sessions)
        w.key("events"); w.int(t.events)
        w.key("bounceRate"); w.fixed(t.bounceRateTenths, decimals: 1)
        w.key("avgSessionDuration"); w.int(t.avgSessionDuration)
        w.key("avgTimeOnPage"); w.int(t.avgTimeOnPage)
        w.key("viewsPerVisit"); w.fixed(t.viewsPerVisitHundredths, decimals: 2)
        w.endObject()

        w.key("timeseries"); w.beginArray()
        for p in d.timeseries {
            w.beginObject()
            w.key("date"); w.string(p.label)
            w.key("pageviews"); w.int(p.pageviews)
            w.key("uniqueVisitors"); w.int(p.visitors)
            w.endObject()
        }
        w.endArray()

        w.key("topPages"); w.beginArray()
        for row in d.topPages {
            w.beginObject()
            w.key("path"); w.string(row.value)
            w.key("pageviews"); w.int(row.pageviews)
            w.key("uniqueVisitors"); w.int(row.visitors)
            w.endObject()
        }
        w.endArray()

        w.key("topReferrers"); w.beginArray()
        for row in d.topSources {
            w.beginObject()
            w.key("domain"); w.string(row.value)
            w.key("visits"); w.int(row.sessions)
            w.endObject()
        }
        w.endArray()

        // Shares: each group's visitors over the sum of the groups' visitors (events.md §3, §6.9).
        w.key("devices"); w.beginObject()
        for row in d.devices {
            w.key(row.value); w.fixed(Rounding.fixed(row.visitors, d.deviceVisitorTotal, times: 100, decimals: 1), decimals: 1)
        }
        w.endObject()

        w.key("browsers"); w.beginArray()
        for row in d.browsers {
            w.beginObject()
            w.key("name"); w.string(row.value)
            w.key("percentage"); w.fixed(Rounding.fixed(row.visitors, d.browserVisitorTotal, times: 100, decimals: 1), decimals: 1)
            w.endObject()
        }
        w.endArray()

        w.key("countries"); w.beginArray()
        for row in d.countriesBySessions {
            w.beginObject()
            w.key("code"); w.string(row.value)
            w.key("name"); w.string(CountryNames.name(row.value))
            w.key("visits"); w.int(row.sessions)
            w.endObject()
        }
        w.endArray()

        w.key("trafficSources"); w.beginObject()
        for row in d.channels {
            w.key(row.value); w.fixed(Rounding.fixed(row.visitors, d.channelVisitorTotal, times: 100, decimals: 1), decimals: 1)
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
