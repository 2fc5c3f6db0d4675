import ZTAFormat

/// The one logical query every stats-style endpoint compiles to: the events of one site in a
/// window, filters (events.md §3), and the outputs wanted from one shared scan — whole-window
/// totals, a per-bucket series and breakdowns by dimensions.
package struct AggregateQuery: Sendable {
    package var site: String
    package var window: TimeWindow
    package var filters: [Filter]
    /// Whole-window totals (no grouping).
    package var total: Bool = false
    /// Per-bucket totals; every bucket is its own interval for sessions.
    package var series: Bucketing? = nil
    /// Whether the series needs session metrics (sessions, bounces, duration, views per visit).
    /// Without them and without session-level filters, a bucket's pageviews, events, time on page
    /// and distinct visitors are row-level, and no per-bucket session table is built.
    package var seriesSessions = true
    /// Whether `avg_time_on_page` is asked for; without it (and without row-level groups, which
    /// read it anyway) the `time_on_page` column is not decoded and the metric reads as 0.
    package var timeOnPage = true
    /// Whether the series and the row-level breakdowns (`page`, `event_name`) need time on page
    /// too (with `timeOnPage`); the dashboard shows it for the total only. Without it a store may
    /// leave their time-on-page sums 0.
    package var timeOnPageInGroups = true
    /// Whether the `page` breakdown needs its session metrics (sessions, bounces, duration and
    /// views per visit by entry page); the dashboard's top pages show pageviews and visitors.
    /// Without it a store may leave those sums 0 in the page rows.
    package var pageSessionMetrics = true
    /// Only this many rows of each row-level breakdown are read: the first by pageviews
    /// descending, then value in byte order (`ordered(by: .pageviews)`); nil: all. A store may
    /// return more (the embedded engine groups them all anyway); ClickHouse sends only these.
    package var rowBreakdownTopByPageviews: Int? = nil
    /// Whole-window breakdowns (distinct dimensions).
    package var breakdowns: [Dimension] = []

    package init(site: String, window: TimeWindow, filters: [Filter]) {
        self.site = site
        self.window = window
        self.filters = filters
    }
}

/// Additive aggregates of one group (a bucket, a breakdown value or the total), from which every
/// metric of events.md §3 is derived exactly.
package struct GroupAcc: Sendable, Equatable {
    package var pageviews: Int64 = 0
    package var events: Int64 = 0
    package var visitors: Int64 = 0
    package var sessions: Int64 = 0
    package var bounces: Int64 = 0
    /// Summed session durations, ms.
    package var durMs: Int64 = 0
    /// Kept pageviews of the counted sessions (numerator of views_per_visit).
    package var spv: Int64 = 0
    package var engSum: Int64 = 0
    package var engCnt: Int64 = 0

    package init() {}

    @inline(__always) package mutating func add(_ o: GroupAcc) {
        pageviews &+= o.pageviews; events &+= o.events; visitors &+= o.visitors
        sessions &+= o.sessions; bounces &+= o.bounces; durMs &+= o.durMs; spv &+= o.spv
        engSum &+= o.engSum; engCnt &+= o.engCnt
    }

    /// The metric as an exact rational (numerator, denominator) — for ordering.
    func ratio(_ m: Metric) -> (UInt64, UInt64) {
        switch m {
        case .visitors: (UInt64(visitors), 1)
        case .pageviews: (UInt64(pageviews), 1)
        case .events: (UInt64(events), 1)
        case .sessions: (UInt64(sessions), 1)
        case .bounces: (UInt64(bounces), 1)
        case .bounceRate: (UInt64(bounces), UInt64(sessions))
        case .visitDuration: (UInt64(durMs), UInt64(sessions))
        case .viewsPerVisit: (UInt64(spv), UInt64(sessions))
        case .avgTimeOnPage: (UInt64(engSum), UInt64(engCnt))
        }
    }

    // The formulas: MetricDefinitions (one place for every metric).
    var bounceRate1dp: Int64 { MetricDefinitions.bounceRate1dp(bounces: bounces, sessions: sessions) }
    var viewsPerVisit2dp: Int64 { MetricDefinitions.viewsPerVisit2dp(pageviews: spv, sessions: sessions) }
    var visitDuration: Int64 { MetricDefinitions.visitDuration(durationMs: durMs, sessions: sessions) }
    var avgTimeOnPage: Int64 { MetricDefinitions.avgTimeOnPage(sum: engSum, count: engCnt) }

    /// Writes the metric's JSON value (counts int, bounce_rate 1dp, views_per_visit 2dp, seconds int).
    func write(_ m: Metric, _ w: inout JSONWriter) {
        switch m {
        case .visitors: w.int(visitors)
        case .pageviews: w.int(pageviews)
        case .events: w.int(events)
        case .sessions: w.int(sessions)
        case .bounces: w.int(bounces)
        case .bounceRate: w.fixed(bounceRate1dp, decimals: 1)
        case .visitDuration: w.int(visitDuration)
        case .viewsPerVisit: w.fixed(viewsPerVisit2dp, decimals: 2)
        case .avgTimeOnPage: w.int(avgTimeOnPage)
        }
    }
}

/// One row of a breakdown: the group's value (display form) and its aggregates.
package struct BreakdownRow: Sendable, Equatable {
    package var value: String
    package var acc: GroupAcc
    package init(value: String, acc: GroupAcc) { self.value = value; self.acc = acc }
}

/// What an aggregate query produced.
package struct AggregateResult: Sendable {
    package var total = GroupAcc()
    package var series: [GroupAcc] = []
    package var breakdowns: [Dimension: [BreakdownRow]] = [:]
    package init() {}
}

extension Array where Element == BreakdownRow {
    /// Orders by `metric` descending on its exact value, then value ascending by bytes (events.md §3, §6.6).
    func ordered(by metric: Metric) -> [BreakdownRow] {
        sorted { a, b in
            let (x, y) = a.acc.ratio(metric), (u, v) = b.acc.ratio(metric)
            let c = compareRatio(x, y, u, v)
            if c != 0 { return c > 0 }
            return bytesLess(a.value, b.value)
        }
    }
}
