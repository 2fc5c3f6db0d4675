/// The dashboard's `summary` (events.md §3) as typed numbers: what the JSON renderer writes, the
/// site list shows and the alert evaluator compares — one value, computed once by the
/// `AggregateExecutor` run, never parsed back from rendered bytes.
///
/// Rates and averages are kept in the fixed-point form events.md rounds them to (half away from
/// zero, exact integer arithmetic), so every consumer sees the same rounded figure.
public struct SummaryMetrics: Sendable, Equatable {
    public var pageviews: Int64
    /// events.md §3 `visitors` (distinct visitor ids of the kept events).
    public var uniqueVisitors: Int64
    public var sessions: Int64
    public var events: Int64
    public var bounces: Int64
    /// `bounce_rate` in tenths of a percent (412 = 41.2 %).
    public var bounceRateTenths: Int64
    /// `visit_duration`: mean session duration, whole seconds.
    public var avgSessionDuration: Int64
    /// `avg_time_on_page`, whole seconds.
    public var avgTimeOnPage: Int64
    /// `views_per_visit` in hundredths (215 = 2.15).
    public var viewsPerVisitHundredths: Int64

    /// `bounce_rate` in percent, 1 dp.
    public var bounceRate: Double { Double(bounceRateTenths) / 10 }
    /// `views_per_visit`, 2 dp.
    public var viewsPerVisit: Double { Double(viewsPerVisitHundredths) / 100 }

    /// All zeros (no events).
    public static let zero = SummaryMetrics(GroupAcc())

    init(_ t: GroupAcc) {
        pageviews = t.pageviews
        uniqueVisitors = t.visitors
        sessions = t.sessions
        events = t.events
        bounces = t.bounces
        bounceRateTenths = t.bounceRate1dp
        avgSessionDuration = t.visitDuration
        avgTimeOnPage = t.avgTimeOnPage
        viewsPerVisitHundredths = t.viewsPerVisit2dp
    }
}

extension TimeWindow {
    /// A fixed window `[from, to)` in ms (not one of api.md §4's named periods): what the alert
    /// evaluator asks for (`[now − period, now)`). `period` is reported as `custom`.
    public init(from: Int64, to: Int64, timeZone: SiteTimeZone) {
        self.init(from: from, to: to, period: "custom", timeZone: timeZone, customFrom: nil, customTo: nil)
    }

    /// The window of a dashboard period name (`24h`, `7d`, `30d`, …) at `now` (api.md §4).
    public static func period(_ name: String, timeZone: SiteTimeZone, now: Int64) throws(QueryError) -> TimeWindow {
        try Periods.resolve(["period": name], style: .dashboard, defaultPeriod: name, allowRealtime: false, tz: timeZone, now: now)
    }
}

extension QueryEngine {
    /// The summary metrics of one site's events in `window`, `filters` applied as events.md §3 —
    /// the same executor and accumulators as the dashboard's `summary` panel.
    public func summary(site: String, window: TimeWindow, filters: [Filter] = []) throws -> SummaryMetrics {
        var q = AggregateQuery(site: site, window: window, filters: filters)
        q.total = true
        let res = try aggregates.aggregate(q)
        return SummaryMetrics(res.total)
    }

    /// The summary metrics of several disjoint windows of one site from one scan — e.g. the hour
    /// just ended and the same hour of the 28 days before it (alert anomaly detection). Each
    /// window is computed as if queried alone (a window is its own interval for sessions and
    /// distinct visitors), so the result equals `windows.map { summary(site:window:filters:) }`.
    ///
    /// `windows` must be non-empty intervals sorted by `from`, not overlapping; gaps between them are scanned as
    /// filler buckets whose figures are dropped.
    public func summaries(site: String, windows: [TimeWindow], filters: [Filter] = []) throws -> [SummaryMetrics] {
        guard let first = windows.first, let last = windows.last else { return [] }
        var bounds: [Int64] = [first.from]
        var slots: [Int] = []  // bucket index of each window
        var labels: [String] = []
        for w in windows {
            guard w.from >= bounds[bounds.count - 1], w.to > w.from else {
                throw QueryError("Windows must be sorted and disjoint")
            }
            if w.from > bounds[bounds.count - 1] {  // a gap: a filler bucket
                bounds.append(w.from)
                labels.append("")
            }
            slots.append(labels.count)
            bounds.append(w.to)
            labels.append("")
        }
        var q = AggregateQuery(site: site, window: TimeWindow(from: first.from, to: last.to, timeZone: first.timeZone),
                               filters: filters)
        q.series = Bucketing(interval: .hour, boundaries: bounds, labels: labels, calendar: false)
        q.seriesSessions = true
        let res = try aggregates.aggregate(q)
        return slots.map { $0 < res.series.count ? SummaryMetrics(res.series[$0]) : .zero }
    }
}
