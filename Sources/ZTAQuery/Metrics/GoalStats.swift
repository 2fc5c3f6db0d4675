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
/// Visitors get dense ids (first-seen numbering of the window's visitors), so the totals are
/// bit sets. Two passes: the first counts completions per day, source and page; the top lists
/// are ranked by completions and label alone, so the second pass counts distinct visitors only
/// for every day and the ≤ 10 sources and pages that make the lists (`GroupedDistinct`: a bit
/// matrix, no hashing).
enum GoalFolds {
    /// Full statistics of the completions of `mask` (a row completes when it carries any of
    /// the mask's bits); `values[k]` = how predicate k values a completion.
    static func stats(_ r: ConversionRows, mask: UInt64, matchers: [GoalMatcher], window: TimeWindow) throws(QueryError) -> GoalStats {
        var s = GoalStats()
        let days = try Bucketing.make(window, interval: .day)
        let nDays = days.count
        // Sources and pages are global string ids: flat arrays indexed by id.
        let nSrc = max(1, r.referrers.count), nPath = max(1, r.paths.count)
        var dayCompletions = [Int64](repeating: 0, count: nDays)
        var srcCompletions = [Int64](repeating: 0, count: nSrc), pathCompletions = [Int64](repeating: 0, count: nPath)

        // Pass 1: dense visitor ids and days of the kept rows, completions, the totals.
        var dense = DenseIds(capacity: min(r.count, 4096))
        var vid = [Int32](repeating: 0, count: r.count), dayOf = [Int32](repeating: 0, count: r.count)
        var visitors = DenseBitset(capacity: r.count), completers = DenseBitset(capacity: r.count)
        days.boundaries.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            for i in 0..<r.count where r.kept[i] {
                let d = Bucketing.find(r.ts[i], base, nDays + 1)
                let v = dense.id(r.visitor[i])
                vid[i] = Int32(truncatingIfNeeded: v)
                dayOf[i] = Int32(truncatingIfNeeded: d)
                if r.type[i] <= EventType.event.rawValue { _ = visitors.insert(v) }
                let m = r.bits[i] & mask
                if m == 0 { continue }
                s.completions += 1
                let k = m.trailingZeroBitCount
                s.totalValueExact += k < matchers.count ? matchers[k].completionValue(eventValue: r.value[i]) : 0
                _ = completers.insert(v)
                dayCompletions[d] += 1
                srcCompletions[Int(r.source[i])] += 1
                pathCompletions[Int(r.path[i])] += 1
            }
        }
        s.visitors = Int64(visitors.count)
        s.uniqueCompletions = Int64(completers.count)
        s.conversionRate1dp = MetricDefinitions.goalConversionRate1dp(completers: s.uniqueCompletions, visitors: s.visitors)

        // The top lists are ranked by completions and label alone, so only their ≤ 10 groups
        // need distinct visitor counts: pass 2 counts those and every day's.
        let srcLabel = { (g: Int) in g == 0 ? "(direct)" : r.referrers[g] }
        let topSrc = topGroups(srcCompletions, label: srcLabel)
        let topPath = topGroups(pathCompletions) { r.paths[$0] }
        var srcSlot = [Int8](repeating: -1, count: nSrc), pathSlot = [Int8](repeating: -1, count: nPath)
        for (k, g) in topSrc.enumerated() { srcSlot[g] = Int8(k) }
        for (k, g) in topPath.enumerated() { pathSlot[g] = Int8(k) }
        let nVisitors = dense.count
        var dayVisitors = GroupedDistinct(groups: nDays, visitors: nVisitors)
        var dayCompleters = GroupedDistinct(groups: nDays, visitors: nVisitors)
        var srcVisitors = GroupedDistinct(groups: topSrc.count, visitors: nVisitors)
        var srcCompleters = GroupedDistinct(groups: topSrc.count, visitors: nVisitors)
        var pathVisitors = GroupedDistinct(groups: topPath.count, visitors: nVisitors)
        var pathCompleters = GroupedDistinct(groups: topPath.count, visitors: nVisitors)
        for i in 0..<r.count where r.kept[i] {
            let v = Int(vid[i]), d = Int(dayOf[i]), t = r.type[i]
            let visitorRow = t <= EventType.event.rawValue, completing = r.bits[i] & mask != 0
            if visitorRow { dayVisitors.insert(group: d, visitor: v) }
            if completing { dayCompleters.insert(group: d, visitor: v) }
            let ks = Int(srcSlot[Int(r.source[i])])
            if ks >= 0 {
                if visitorRow { srcVisitors.insert(group: ks, visitor: v) }
                if completing { srcCompleters.insert(group: ks, visitor: v) }
            }
            let kp = Int(pathSlot[Int(r.path[i])])
            if kp >= 0 {
                if t == EventType.pageview.rawValue { pathVisitors.insert(group: kp, visitor: v) }
                if completing { pathCompleters.insert(group: kp, visitor: v) }
            }
        }
        s.timeseries = (0..<nDays).map { d in
            GoalStatsRow(label: days.labels[d], completions: dayCompletions[d], completingVisitors: dayCompleters.counts[d],
                         visitors: dayVisitors.counts[d])
        }
        s.topSources = topSrc.enumerated().map { k, g in
            GoalStatsRow(label: srcLabel(g), completions: srcCompletions[g], completingVisitors: srcCompleters.counts[k],
                         visitors: srcVisitors.counts[k])
        }
        s.topPages = topPath.enumerated().map { k, g in
            GoalStatsRow(label: r.paths[g], completions: pathCompletions[g], completingVisitors: pathCompleters.counts[k],
                         visitors: pathVisitors.counts[k])
        }
        return s
    }

    /// The groups of a top list: completions > 0, completions descending, then the label
    /// ascending by bytes; first 10.
    static func topGroups(_ completions: [Int64], label: (Int) -> String) -> [Int] {
        let groups = completions.indices.filter { completions[$0] > 0 }
        return Array(groups.map { ($0, label($0)) }.sorted { a, b in
            if completions[a.0] != completions[b.0] { return completions[a.0] > completions[b.0] }
            return bytesLess(a.1, b.1)
        }.prefix(10).map(\.0))
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
