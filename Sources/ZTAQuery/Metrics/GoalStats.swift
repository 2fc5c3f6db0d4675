import ZTAFormat

/// Statistics of one goal (or of "any of several goals") over a window (api.md §7.5), as
/// numbers: the JSON renderer, the goal list and the alert evaluator all read this.
public struct GoalStats: Sendable {
    /// Completion events kept by the filters.
    public var completions: Int64 = 0
    /// Distinct visitors with a completion (events.md §3 `conversions`).
    public var uniqueCompletions: Int64 = 0
    /// Distinct visitors of the kept pageview / event rows (the rate's denominator).
    public var visitors: Int64 = 0
    /// 100 × uniqueCompletions / visitors, 1dp, as a fixed-point integer (412 = 41.2).
    public var conversionRate1dp: Int64 = 0
    /// Sum of completion values, unrounded.
    public var totalValueExact: Double = 0
    public var timeseries: [GoalStatsRow] = []
    public var topSources: [GoalStatsRow] = []
    public var topPages: [GoalStatsRow] = []

    /// `conversionRate` rounded to 1dp.
    public var conversionRate: Double { Double(conversionRate1dp) / 10 }
    /// `totalValue` rounded half away from zero to 2dp (fixed point, 2 decimals).
    public var totalValue2dp: Int64 { Rounding.fixed(totalValueExact, decimals: 2) }
    /// `avgValue` = totalValue / completions (0 if none), 2dp fixed point.
    public var avgValue2dp: Int64 { completions == 0 ? 0 : Rounding.fixed(totalValueExact / Double(completions), decimals: 2) }
    public var totalValue: Double { Double(totalValue2dp) / 100 }
    public var avgValue: Double { Double(avgValue2dp) / 100 }
}

/// One row of a goal's timeseries (`label` = the local date) or top list (`label` = source or path).
public struct GoalStatsRow: Sendable, Equatable {
    public var label: String
    public var completions: Int64
    /// Distinct completing visitors of the group.
    public var completingVisitors: Int64
    /// Distinct visitors of the group (the rate's denominator).
    public var visitors: Int64
    public var conversionRate1dp: Int64 { Rounding.fixed(completingVisitors, visitors, times: 100, decimals: 1) }
    public var conversionRate: Double { Double(conversionRate1dp) / 10 }
}

/// Per-goal figures of the goal list (api.md §7 Goal `completions`, `conversionRate`).
public struct GoalSummary: Sendable {
    public var goalId: String
    public var completions: Int64
    public var uniqueCompletions: Int64
    public var visitors: Int64
    public var conversionRate1dp: Int64 { Rounding.fixed(uniqueCompletions, visitors, times: 100, decimals: 1) }
    public var conversionRate: Double { Double(conversionRate1dp) / 10 }
}

/// A (group, visitor) pair for distinct counts.
struct GroupVisitor: Hashable {
    var group: UInt32
    var visitor: UInt64
}

/// The folds of api.md §7.5 over the rows of a `ConversionScan`.
enum GoalFolds {
    /// Distinct visitors of the kept pageview / event rows.
    static func visitors(_ r: ConversionRows) -> Set<UInt64> {
        var v = Set<UInt64>()
        for i in 0..<r.count where r.kept[i] && r.type[i] <= EventType.event.rawValue { v.insert(r.visitor[i]) }
        return v
    }

    /// Full statistics of the completions of `mask` (a row completes when it carries any of
    /// the mask's bits); `values[k]` = how predicate k values a completion.
    static func stats(_ r: ConversionRows, mask: UInt64, matchers: [GoalMatcher], window: TimeWindow) throws(QueryError) -> GoalStats {
        var s = GoalStats()
        let days = try Bucketing.make(window, interval: .day)
        let nDays = days.count
        var dayCompletions = [Int64](repeating: 0, count: nDays)
        var dayVisitors = Set<GroupVisitor>(), dayCompleters = Set<GroupVisitor>()
        var srcVisitors = Set<GroupVisitor>(), srcCompleters = Set<GroupVisitor>()
        var pathVisitors = Set<GroupVisitor>(), pathCompleters = Set<GroupVisitor>()
        var srcCompletions: [UInt32: Int64] = [:], pathCompletions: [UInt32: Int64] = [:]
        var visitors = Set<UInt64>(), completers = Set<UInt64>()
        days.boundaries.withUnsafeBufferPointer { b in
            for i in 0..<r.count where r.kept[i] {
                let day = UInt32(Bucketing.find(r.ts[i], b.baseAddress!, nDays + 1))
                let v = r.visitor[i]
                if r.type[i] <= EventType.event.rawValue {
                    visitors.insert(v)
                    dayVisitors.insert(GroupVisitor(group: day, visitor: v))
                    srcVisitors.insert(GroupVisitor(group: r.source[i], visitor: v))
                    if r.type[i] == EventType.pageview.rawValue { pathVisitors.insert(GroupVisitor(group: r.path[i], visitor: v)) }
                }
                let m = r.bits[i] & mask
                if m == 0 { continue }
                s.completions += 1
                let k = m.trailingZeroBitCount
                s.totalValueExact += k < matchers.count ? matchers[k].completionValue(eventValue: r.value[i]) : 0
                completers.insert(v)
                dayCompletions[Int(day)] += 1
                dayCompleters.insert(GroupVisitor(group: day, visitor: v))
                srcCompletions[r.source[i], default: 0] += 1
                srcCompleters.insert(GroupVisitor(group: r.source[i], visitor: v))
                pathCompletions[r.path[i], default: 0] += 1
                pathCompleters.insert(GroupVisitor(group: r.path[i], visitor: v))
            }
        }
        s.visitors = Int64(visitors.count)
        s.uniqueCompletions = Int64(completers.count)
        s.conversionRate1dp = Rounding.fixed(s.uniqueCompletions, s.visitors, times: 100, decimals: 1)
        func distinctPerGroup(_ set: Set<GroupVisitor>) -> [UInt32: Int64] {
            var d: [UInt32: Int64] = [:]
            for x in set { d[x.group, default: 0] += 1 }
            return d
        }
        let dv = distinctPerGroup(dayVisitors), dc = distinctPerGroup(dayCompleters)
        s.timeseries = (0..<nDays).map { d in
            GoalStatsRow(label: days.labels[d], completions: dayCompletions[d], completingVisitors: dc[UInt32(d)] ?? 0,
                         visitors: dv[UInt32(d)] ?? 0)
        }
        let sv = distinctPerGroup(srcVisitors), sc = distinctPerGroup(srcCompleters)
        s.topSources = top(srcCompletions.map { g, n in
            GoalStatsRow(label: g == 0 ? "(direct)" : r.referrers[Int(g)], completions: n, completingVisitors: sc[g] ?? 0, visitors: sv[g] ?? 0)
        })
        let pv = distinctPerGroup(pathVisitors), pc = distinctPerGroup(pathCompleters)
        s.topPages = top(pathCompletions.map { g, n in
            GoalStatsRow(label: r.paths[Int(g)], completions: n, completingVisitors: pc[g] ?? 0, visitors: pv[g] ?? 0)
        })
        return s
    }

    /// Completions descending, then the value ascending by bytes; first 10.
    static func top(_ rows: [GoalStatsRow]) -> [GoalStatsRow] {
        Array(rows.sorted { a, b in
            if a.completions != b.completions { return a.completions > b.completions }
            return bytesLess(a.label, b.label)
        }.prefix(10))
    }

    /// Completions and completing visitors of each predicate, from one pass.
    static func summaries(_ r: ConversionRows, count: Int) -> (completions: [Int64], completers: [Int64], visitors: Int64) {
        var completions = [Int64](repeating: 0, count: count)
        var completers = [Set<UInt64>](repeating: [], count: count)
        var visitors = Set<UInt64>()
        for i in 0..<r.count where r.kept[i] {
            if r.type[i] <= EventType.event.rawValue { visitors.insert(r.visitor[i]) }
            var m = r.bits[i]
            while m != 0 {
                let k = m.trailingZeroBitCount
                m &= m - 1
                if k < count { completions[k] += 1; completers[k].insert(r.visitor[i]) }
            }
        }
        return (completions, completers.map { Int64($0.count) }, Int64(visitors.count))
    }
}
