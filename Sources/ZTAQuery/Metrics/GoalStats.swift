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
    public var totalValue2dp: Int64 { MetricDefinitions.totalValue2dp(totalValueExact) }
    /// `avgValue` = totalValue / completions (0 if none), 2dp fixed point.
    public var avgValue2dp: Int64 { MetricDefinitions.avgValue2dp(totalValueExact, completions: completions) }
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
    public var conversionRate1dp: Int64 { MetricDefinitions.goalConversionRate1dp(completers: completingVisitors, visitors: visitors) }
    public var conversionRate: Double { Double(conversionRate1dp) / 10 }
}

/// Per-goal figures of the goal list (api.md §7 Goal `completions`, `conversionRate`).
public struct GoalSummary: Sendable {
    public var goalId: String
    public var completions: Int64
    public var uniqueCompletions: Int64
    public var visitors: Int64
    public var conversionRate1dp: Int64 { MetricDefinitions.goalConversionRate1dp(completers: uniqueCompletions, visitors: visitors) }
    public var conversionRate: Double { Double(conversionRate1dp) / 10 }
}

/// The folds of api.md §7.5 over the rows of a `ConversionScan`.
///
/// Distinct counts use dense visitor ids (first-seen numbering of the window's visitors) with
/// bit sets for the totals and one `DistinctPairs` table per (group kind, visitors|completers)
/// for the per-day / per-source / per-page counts: a group's distinct count grows when its
/// (group, visitor) pair is new, so no pass over the sets is needed afterwards.
enum GoalFolds {
    /// Full statistics of the completions of `mask` (a row completes when it carries any of
    /// the mask's bits); `values[k]` = how predicate k values a completion.
    static func stats(_ r: ConversionRows, mask: UInt64, matchers: [GoalMatcher], window: TimeWindow) throws(QueryError) -> GoalStats {
        var s = GoalStats()
        let days = try Bucketing.make(window, interval: .day)
        let nDays = days.count
        var dayCompletions = [Int64](repeating: 0, count: nDays)
        var dayVisitorN = [Int64](repeating: 0, count: nDays), dayCompleterN = [Int64](repeating: 0, count: nDays)
        // Sources and pages are global string ids: flat arrays indexed by id.
        let nSrc = max(1, r.referrers.count), nPath = max(1, r.paths.count)
        var srcCompletions = [Int64](repeating: 0, count: nSrc), pathCompletions = [Int64](repeating: 0, count: nPath)
        var srcVisitorN = [Int64](repeating: 0, count: nSrc), srcCompleterN = [Int64](repeating: 0, count: nSrc)
        var pathVisitorN = [Int64](repeating: 0, count: nPath), pathCompleterN = [Int64](repeating: 0, count: nPath)
        var dayVisitors = DistinctPairs(), dayCompleters = DistinctPairs()
        var srcVisitors = DistinctPairs(), srcCompleters = DistinctPairs()
        var pathVisitors = DistinctPairs(), pathCompleters = DistinctPairs()
        var dense = DenseIds(capacity: r.count)
        var visitors = DenseBitset(capacity: r.count), completers = DenseBitset(capacity: r.count)
        days.boundaries.withUnsafeBufferPointer { b in
            for i in 0..<r.count where r.kept[i] {
                let dayIndex = Bucketing.find(r.ts[i], b.baseAddress!, nDays + 1)
                let day = UInt32(truncatingIfNeeded: dayIndex)
                let v = dense.id(r.visitor[i])
                let src = r.source[i], path = r.path[i]
                if r.type[i] <= EventType.event.rawValue {
                    _ = visitors.insert(v)
                    if dayVisitors.insert(DistinctPairs.key(day, v)) { dayVisitorN[dayIndex] += 1 }
                    if srcVisitors.insert(DistinctPairs.key(src, v)) { srcVisitorN[Int(src)] += 1 }
                    if r.type[i] == EventType.pageview.rawValue, pathVisitors.insert(DistinctPairs.key(path, v)) {
                        pathVisitorN[Int(path)] += 1
                    }
                }
                let m = r.bits[i] & mask
                if m == 0 { continue }
                s.completions += 1
                let k = m.trailingZeroBitCount
                s.totalValueExact += k < matchers.count ? matchers[k].completionValue(eventValue: r.value[i]) : 0
                _ = completers.insert(v)
                dayCompletions[dayIndex] += 1
                if dayCompleters.insert(DistinctPairs.key(day, v)) { dayCompleterN[dayIndex] += 1 }
                srcCompletions[Int(src)] += 1
                if srcCompleters.insert(DistinctPairs.key(src, v)) { srcCompleterN[Int(src)] += 1 }
                pathCompletions[Int(path)] += 1
                if pathCompleters.insert(DistinctPairs.key(path, v)) { pathCompleterN[Int(path)] += 1 }
            }
        }
        s.visitors = Int64(visitors.count)
        s.uniqueCompletions = Int64(completers.count)
        s.conversionRate1dp = MetricDefinitions.goalConversionRate1dp(completers: s.uniqueCompletions, visitors: s.visitors)
        s.timeseries = (0..<nDays).map { d in
            GoalStatsRow(label: days.labels[d], completions: dayCompletions[d], completingVisitors: dayCompleterN[d],
                         visitors: dayVisitorN[d])
        }
        s.topSources = top(srcCompletions.indices.filter { srcCompletions[$0] > 0 }.map { g in
            GoalStatsRow(label: g == 0 ? "(direct)" : r.referrers[g], completions: srcCompletions[g],
                         completingVisitors: srcCompleterN[g], visitors: srcVisitorN[g])
        })
        s.topPages = top(pathCompletions.indices.filter { pathCompletions[$0] > 0 }.map { g in
            GoalStatsRow(label: r.paths[g], completions: pathCompletions[g], completingVisitors: pathCompleterN[g],
                         visitors: pathVisitorN[g])
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
        var completers = [DenseBitset](repeating: DenseBitset(capacity: 0), count: count)
        var dense = DenseIds(capacity: r.count)
        var visitors = DenseBitset(capacity: r.count)
        for i in 0..<r.count where r.kept[i] {
            let v = dense.id(r.visitor[i])
            if r.type[i] <= EventType.event.rawValue { _ = visitors.insert(v) }
            var m = r.bits[i]
            while m != 0 {
                let k = m.trailingZeroBitCount
                m &= m - 1
                guard k < count else { continue }
                completions[k] += 1
                // Sized on first use: most predicates of a 64-goal batch complete nowhere.
                if completions[k] == 1 { completers[k] = DenseBitset(capacity: r.count) }
                _ = completers[k].insert(v)
            }
        }
        return (completions, completers.map { Int64($0.count) }, Int64(visitors.count))
    }
}
