import ZTAFormat

/// A parsed `GET /api/stats-api` request (api.md §6): a series (no `property`) or a breakdown.
public struct StatsAPIRequest: Sendable {
    public var siteId: String
    public var window: TimeWindow
    /// Requested metrics, deduplicated, in request order (`visits` reported as `sessions`).
    public var metrics: [Metric]
    public var property: Dimension?
    public var filters: [Filter]
    /// The raw `filters` parameter (echoed in `query`).
    public var rawFilters: String?
    /// Series buckets (nil for a breakdown or `realtime`).
    public var buckets: Bucketing?
    public var limit: Int
    public var offset: Int

    /// Parses the stats-api parameters in api.md order; the first failure wins.
    public static func parse(_ params: [String: String], timezone: String, now: Int64) throws(QueryError) -> StatsAPIRequest {
        guard let site = params["site_id"], !site.isEmpty else { throw QueryError("site_id parameter is required") }
        guard let tz = SiteTimeZone(timezone) else { throw QueryError("Invalid timezone") }
        let window = try Periods.resolve(params, style: .statsAPI, defaultPeriod: "7d", allowRealtime: true, tz: tz, now: now)
        var metrics: [Metric] = []
        let rawMetrics = params["metrics"].flatMap { $0.isEmpty ? nil : $0 } ?? "visitors,pageviews"
        for name in rawMetrics.split(separator: ",", omittingEmptySubsequences: false) {
            let m = String(name)
            guard let metric = Metric.parse(m) else { throw QueryError("Invalid metric: \(m)") }
            if !metrics.contains(metric) { metrics.append(metric) }
        }
        var property: Dimension? = nil
        if let p = params["property"], !p.isEmpty {
            guard let d = Dimension(rawValue: p) else {
                throw QueryError("Invalid property. Must be one of: " + Dimension.breakdownOrder.map(\.rawValue).joined(separator: ", "))
            }
            property = d
        }
        let rawFilters = params["filters"].flatMap { $0.isEmpty ? nil : $0 }
        let filters = try FilterParser.parse(rawFilters ?? "")
        var interval: Interval? = nil
        if let i = params["interval"], !i.isEmpty { interval = try Interval.parse(i) }
        var buckets: Bucketing? = nil
        if property == nil && window.period != "realtime" {
            buckets = try Bucketing.make(window, interval: interval ?? Interval.defaultFor(period: window.period))
        }
        let limit = try intParam(params["limit"], default: 100, range: 1...1000, name: "limit")
        let offset = try intParam(params["offset"], default: 0, range: 0...Int(Int32.max), name: "offset")
        return StatsAPIRequest(siteId: site, window: window, metrics: metrics, property: property, filters: filters,
                               rawFilters: rawFilters, buckets: buckets, limit: limit, offset: offset)
    }

    /// The logical query this request compiles to.
    var aggregateQuery: AggregateQuery {
        var q = AggregateQuery(site: siteId, window: window, filters: filters)
        if let p = property { q.breakdowns = [p] } else if let b = buckets { q.series = b } else { q.total = true }
        q.seriesSessions = metrics.contains { [.sessions, .bounces, .bounceRate, .visitDuration, .viewsPerVisit].contains($0) }
        q.timeOnPage = metrics.contains(.avgTimeOnPage)
        return q
    }
}

/// An integer parameter: default when absent, `Invalid <name>` when malformed or out of range.
func intParam(_ s: String?, default d: Int, range: ClosedRange<Int>, name: String) throws(QueryError) -> Int {
    guard let s, !s.isEmpty else { return d }
    guard let v = Int(s), range.contains(v) else { throw QueryError("Invalid \(name)") }
    return v
}

extension QueryEngine {
    func renderStatsAPI(_ r: StatsAPIRequest, _ res: AggregateResult) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("results")
        w.beginArray()
        if let p = r.property {
            let rows = (res.breakdowns[p] ?? []).ordered(by: r.metrics.first ?? .visitors)
            let page = rows.dropFirst(r.offset).prefix(r.limit)
            for row in page {
                w.beginObject()
                w.key(p.rawValue); w.string(row.value)
                for m in r.metrics { w.key(m.rawValue); row.acc.write(m, &w) }
                w.endObject()
            }
        } else if let b = r.buckets {
            for (i, label) in b.labels.enumerated() {
                w.beginObject()
                w.key("date"); w.string(label)
                for m in r.metrics { w.key(m.rawValue); res.series[i].write(m, &w) }
                w.endObject()
            }
        } else {
            w.beginObject()
            for m in r.metrics { w.key(m.rawValue); res.total.write(m, &w) }
            w.endObject()
        }
        w.endArray()
        w.key("query")
        w.beginObject()
        w.key("site_id"); w.string(r.siteId)
        w.key("period"); w.string(r.window.period)
        w.key("metrics"); w.beginArray(); for m in r.metrics { w.string(m.rawValue) }; w.endArray()
        w.key("date_range"); w.beginObject()
        w.key("from"); w.string(r.window.timeZone.rfc3339(r.window.from))
        w.key("to"); w.string(r.window.timeZone.rfc3339(r.window.to))
        w.endObject()
        w.key("timezone"); w.string(r.window.timeZone.identifier)
        if let f = r.window.customFrom, let t = r.window.customTo {
            w.key("date_from"); w.string(f.description)
            w.key("date_to"); w.string(t.description)
        }
        if let p = r.property { w.key("property"); w.string(p.rawValue) }
        if let f = r.rawFilters { w.key("filters"); w.string(f) }
        if let b = r.buckets { w.key("interval"); w.string(b.interval.rawValue) }
        if r.property != nil {
            w.key("limit"); w.int(r.limit)
            w.key("offset"); w.int(r.offset)
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
