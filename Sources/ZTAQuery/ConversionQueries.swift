/// Period and filter parameters of the goal / funnel stats and list endpoints (api.md §7.5,
/// §7.6): period params (default `30d`, startDate/endDate, `date`) and `filters`.
public struct ConversionRequest: Sendable {
    public var window: TimeWindow
    public var filters: [Filter]

    public init(window: TimeWindow, filters: [Filter] = []) {
        self.window = window
        self.filters = filters
    }

    /// Parses period params and `filters` (api.md §4 order: period, then filters).
    public static func parse(_ params: [String: String], timezone: String, now: Int64) throws(QueryError) -> ConversionRequest {
        guard let tz = SiteTimeZone(timezone) else { throw QueryError("Invalid timezone") }
        let window = try Periods.resolve(params, style: .dashboard, defaultPeriod: "30d", allowRealtime: false, tz: tz, now: now)
        let filters = try FilterParser.parse(params["filters"] ?? "")
        _ = try Bucketing.make(window, interval: .day)
        return ConversionRequest(window: window, filters: filters)
    }
}

extension QueryEngine {
    /// Statistics of one goal (api.md §7.5 `GET /api/goals/{id}/stats`).
    public func goalStats(site: String, window: TimeWindow, filters: [Filter], goal: GoalDefinition) throws -> GoalStats {
        try goalStats(site: site, window: window, filters: filters, goals: [goal])
    }

    /// Statistics of "any of these goals": a completion is an event completing at least one of
    /// them (valued by the first it completes); `uniqueCompletions` = visitors completing any.
    /// At most 64 goals.
    public func goalStats(site: String, window: TimeWindow, filters: [Filter], goals: [GoalDefinition]) throws -> GoalStats {
        let matchers = try Array(goals.prefix(ConversionScan.maxPredicates)).map { g throws(QueryError) in try GoalMatcher(g) }
        let scan = ConversionScan(site: site, window: window, filters: filters, predicates: matchers, threads: threads)
        let rows = try scan.run(source: source)
        let mask: UInt64 = matchers.count >= 64 ? ~0 : (1 << UInt64(matchers.count)) - 1
        return try GoalFolds.stats(rows, mask: mask, matchers: matchers, window: window)
    }

    /// Completions and conversion rate of each goal (the goal list), 64 goals per scan.
    public func goalSummaries(site: String, window: TimeWindow, filters: [Filter], goals: [GoalDefinition]) throws -> [GoalSummary] {
        var out: [GoalSummary] = []
        var start = 0
        while start < goals.count {
            let batch = Array(goals[start..<min(goals.count, start + ConversionScan.maxPredicates)])
            let matchers = try batch.map { g throws(QueryError) in try GoalMatcher(g) }
            let rows = try ConversionScan(site: site, window: window, filters: filters, predicates: matchers, threads: threads).run(source: source)
            let s = GoalFolds.summaries(rows, count: batch.count)
            for (k, g) in batch.enumerated() {
                out.append(GoalSummary(goalId: g.id, completions: s.completions[k], uniqueCompletions: s.completers[k], visitors: s.visitors))
            }
            start += batch.count
        }
        return out
    }

    /// A funnel's analysis (api.md §7.6 `GET /api/funnels/{id}/stats`). Goal steps need their
    /// goal set (`FunnelStepDefinition.goal`); a step without one never matches.
    public func funnelStats(site: String, window: TimeWindow, filters: [Filter], funnel: FunnelDefinition) throws -> FunnelStats {
        guard funnel.steps.count >= 1, funnel.steps.count <= 16 else { throw QueryError("Invalid funnel") }
        let never = GoalDefinition(id: "", name: "", type: .event, eventAction: nil)
        let matchers = try funnel.steps.map { s throws(QueryError) in try GoalMatcher(s.asGoal ?? never) }
        var scan = ConversionScan(site: site, window: window, filters: filters, predicates: matchers, threads: threads)
        scan.matchingRowsOnly = true
        scan.needsSourcesAndValues = false
        let rows = try scan.run(source: source)
        return try FunnelFolds.stats(rows, funnel: funnel, window: window)
    }

    /// JSON body of `GET /api/goals/{id}/stats`.
    public static func renderGoalStats(goal g: GoalDefinition, _ s: GoalStats) -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        w.key("goal"); w.beginObject()
        w.key("id"); w.string(g.id)
        w.key("name"); w.string(g.name)
        w.key("type"); w.string(g.type.rawValue)
        if let p = g.path { w.key("path"); w.string(p) }
        if let a = g.eventAction { w.key("eventAction"); w.string(a) }
        if let d = g.durationSeconds { w.key("durationSeconds"); w.int(d) }
        w.endObject()
        w.key("stats"); w.beginObject()
        w.key("completions"); w.int(s.completions)
        w.key("uniqueCompletions"); w.int(s.uniqueCompletions)
        w.key("conversionRate"); w.fixed(s.conversionRate1dp, decimals: 1)
        w.key("totalValue"); w.fixed(s.totalValue2dp, decimals: 2)
        w.key("avgValue"); w.fixed(s.avgValue2dp, decimals: 2)
        w.endObject()
        w.key("timeseries"); w.beginArray()
        for d in s.timeseries {
            w.beginObject()
            w.key("date"); w.string(d.label)
            w.key("completions"); w.int(d.completions)
            w.key("conversionRate"); w.fixed(d.conversionRate1dp, decimals: 1)
            w.endObject()
        }
        w.endArray()
        for (key, rows, label) in [("topSources", s.topSources, "source"), ("topPages", s.topPages, "path")] {
            w.key(key); w.beginArray()
            for r in rows {
                w.beginObject()
                w.key(label); w.string(r.label)
                w.key("completions"); w.int(r.completions)
                w.key("conversionRate"); w.fixed(r.conversionRate1dp, decimals: 1)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    /// JSON body of `GET /api/funnels/{id}/stats`.
    public static func renderFunnelStats(funnel f: FunnelDefinition, _ s: FunnelStats) -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        w.key("funnel"); w.beginObject()
        w.key("id"); w.string(f.id)
        w.key("name"); w.string(f.name)
        w.key("timeWindow"); w.int(f.timeWindow)
        w.endObject()
        w.key("stats"); w.beginObject()
        w.key("totalVisitors"); w.int(s.totalVisitors)
        w.key("completions"); w.int(s.completions)
        w.key("overallConversionRate"); w.fixed(s.overallConversionRate2dp, decimals: 2)
        w.key("avgTimeToComplete"); w.int(s.avgTimeToComplete)
        w.endObject()
        w.key("steps"); w.beginArray()
        for st in s.steps {
            w.beginObject()
            w.key("stepNumber"); w.int(st.stepNumber)
            w.key("name"); w.string(st.name)
            w.key("visitors"); w.int(st.visitors)
            w.key("dropOff"); w.int(st.dropOff)
            w.key("dropOffRate"); w.fixed(st.dropOffRate1dp, decimals: 1)
            w.key("progressRate"); w.fixed(st.progressRate1dp, decimals: 1)
            w.key("avgTimeOnStep"); w.int(st.avgTimeOnStep)
            w.endObject()
        }
        w.endArray()
        w.key("timeseries"); w.beginArray()
        for d in s.timeseries {
            w.beginObject()
            w.key("date"); w.string(d.date)
            w.key("visitors"); w.int(d.visitors)
            w.key("completions"); w.int(d.completions)
            w.key("conversionRate"); w.fixed(d.conversionRate2dp, decimals: 2)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
