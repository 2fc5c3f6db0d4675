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
    func renderDashboard(_ r: DashboardRequest, _ res: AggregateResult) -> [UInt8] {
        var w = JSONWriter(capacity: 4096)
        let tz = r.window.timeZone
        w.beginObject()
        w.key("period"); w.beginObject()
        w.key("from"); w.string(tz.rfc3339(r.window.from))
        w.key("to"); w.string(tz.rfc3339(r.window.to))
        w.key("timezone"); w.string(tz.identifier)
        w.endObject()

        // The typed summary the site list and the alert evaluator read too (one computation).
        let t = SummaryMetrics(res.total)
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
        for (i, label) in r.buckets.labels.enumerated() {
            w.beginObject()
            w.key("date"); w.string(label)
            w.key("pageviews"); w.int(res.series[i].pageviews)
            w.key("uniqueVisitors"); w.int(res.series[i].visitors)
            w.endObject()
        }
        w.endArray()

        w.key("topPages"); w.beginArray()
        for row in (res.breakdowns[.page] ?? []).ordered(by: .pageviews).prefix(10) {
            w.beginObject()
            w.key("path"); w.string(row.value)
            w.key("pageviews"); w.int(row.acc.pageviews)
            w.key("uniqueVisitors"); w.int(row.acc.visitors)
            w.endObject()
        }
        w.endArray()

        w.key("topReferrers"); w.beginArray()
        for row in (res.breakdowns[.source] ?? []).ordered(by: .sessions).prefix(10) {
            w.beginObject()
            w.key("domain"); w.string(row.value)
            w.key("visits"); w.int(row.acc.sessions)
            w.endObject()
        }
        w.endArray()

        // Shares: each group's visitors over the sum of the groups' visitors (events.md §3, §6.9).
        let devices = (res.breakdowns[.device] ?? []).filter { !$0.value.isEmpty }
        let deviceTotal = devices.reduce(Int64(0)) { $0 + $1.acc.visitors }
        w.key("devices"); w.beginObject()
        for name in ["desktop", "mobile", "tablet"] {
            let v = devices.first { $0.value == name }?.acc.visitors ?? 0
            w.key(name); w.fixed(Rounding.fixed(v, deviceTotal, times: 100, decimals: 1), decimals: 1)
        }
        w.endObject()

        let browsers = (res.breakdowns[.browser] ?? []).filter { !$0.value.isEmpty }.ordered(by: .visitors)
        let browserTotal = browsers.reduce(Int64(0)) { $0 + $1.acc.visitors }
        w.key("browsers"); w.beginArray()
        for row in browsers.prefix(10) {
            w.beginObject()
            w.key("name"); w.string(row.value)
            w.key("percentage"); w.fixed(Rounding.fixed(row.acc.visitors, browserTotal, times: 100, decimals: 1), decimals: 1)
            w.endObject()
        }
        w.endArray()

        w.key("countries"); w.beginArray()
        for row in (res.breakdowns[.country] ?? []).filter({ !$0.value.isEmpty }).ordered(by: .sessions).prefix(10) {
            w.beginObject()
            w.key("code"); w.string(row.value)
            w.key("name"); w.string(CountryNames.name(row.value))
            w.key("visits"); w.int(row.acc.sessions)
            w.endObject()
        }
        w.endArray()

        let channels = res.breakdowns[.channel] ?? []
        let channelTotal = channels.reduce(Int64(0)) { $0 + $1.acc.visitors }
        w.key("trafficSources"); w.beginObject()
        for name in ["direct", "organic", "referral", "social", "paid", "email"] {
            let v = channels.first { $0.value == name }?.acc.visitors ?? 0
            w.key(name); w.fixed(Rounding.fixed(v, channelTotal, times: 100, decimals: 1), decimals: 1)
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
