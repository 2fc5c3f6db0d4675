import ZTAFormat

/// A funnel's analysis over a window (api.md §7.6), as numbers.
public struct FunnelStats: Sendable {
    /// Visitors with depth ≥ 1 (= steps[0].visitors).
    public var totalVisitors: Int64 = 0
    /// Visitors with depth N.
    public var completions: Int64 = 0
    /// Mean step-1 → step-N seconds of completers (rounded).
    public var avgTimeToComplete: Int64 = 0
    public var steps: [FunnelStepStats] = []
    public var timeseries: [FunnelDayStats] = []

    /// 100 × completions / totalVisitors, 2dp fixed point.
    public var overallConversionRate2dp: Int64 { MetricDefinitions.funnelConversionRate2dp(completions: completions, visitors: totalVisitors) }
    public var overallConversionRate: Double { Double(overallConversionRate2dp) / 100 }
}

public struct FunnelStepStats: Sendable, Equatable {
    public var stepNumber: Int
    public var name: String
    /// Visitors with depth ≥ stepNumber.
    public var visitors: Int64
    public var dropOff: Int64
    public var dropOffRate1dp: Int64
    public var progressRate1dp: Int64
    /// Mean seconds from this step to the next in best runs reaching the next (0 for the last).
    public var avgTimeOnStep: Int64
}

public struct FunnelDayStats: Sendable, Equatable {
    public var date: String
    /// Visitors whose best run starts this local day.
    public var visitors: Int64
    /// Those of them with depth N.
    public var completions: Int64
    public var conversionRate2dp: Int64 { MetricDefinitions.funnelConversionRate2dp(completions: completions, visitors: visitors) }
}

/// The per-visitor state machine of api.md §7.6 over a visitor's matching events in tie order.
enum FunnelFolds {
    /// Buffers `bestRun` reuses from visitor to visitor (no allocation per visitor): the
    /// next-match tables, the run being followed, and the best run (`best` = the times of
    /// steps 1…depth).
    struct RunScratch {
        var next: [Int32] = []
        var times: [Int64] = []
        var best: [Int64] = []
    }

    /// Events `ts[i]`, step masks `masks[i]` (bit k = step k+1 matches), in tie order.
    /// For each step-1 match, the earliest next-step match after the current one, while
    /// `ts < start + windowMs`; the best run = the earliest start of maximal depth, left in
    /// `scratch.best`; returns its depth. Row k of `scratch.next` holds, for each index i, the
    /// first index ≥ i matching step k: O(N × events) per visitor.
    static func bestRun(ts: ArraySlice<Int64>, masks: ArraySlice<UInt16>, steps n: Int, windowMs: Int64,
                        scratch: inout RunScratch) -> Int {
        let base = ts.startIndex
        let e = ts.count
        scratch.best.removeAll(keepingCapacity: true)
        var first = -1
        for i in 0..<e where masks[base + i] & 1 != 0 { first = i; break }
        if first < 0 { return 0 }
        if n == 1 { scratch.best.append(ts[base + first]); return 1 }
        // Only indices > first are ever looked up.
        let stride = e + 1
        if scratch.next.count < n * stride { scratch.next = [Int32](repeating: -1, count: n * stride) }
        for k in 1..<n {
            let row = k * stride, bit = UInt16(1) << UInt16(k)
            scratch.next[row + e] = -1
            var j: Int32 = -1
            var i = e - 1
            while i > first {
                if masks[base + i] & bit != 0 { j = Int32(i) }
                scratch.next[row + i] = j
                i -= 1
            }
        }
        for s in first..<e where masks[base + s] & 1 != 0 {
            let start = ts[base + s]
            scratch.times.removeAll(keepingCapacity: true)
            scratch.times.append(start)
            var pos = s
            for k in 1..<n {
                let j = Int(scratch.next[k * stride + pos + 1])
                if j < 0 || ts[base + j] >= start &+ windowMs { break }
                scratch.times.append(ts[base + j])
                pos = j
            }
            if scratch.times.count > scratch.best.count {
                swap(&scratch.times, &scratch.best)
                if scratch.best.count == n { break }
            }
        }
        return scratch.best.count
    }

    static func stats(_ r: ConversionRows, funnel: FunnelDefinition, window: TimeWindow) throws(QueryError) -> FunnelStats {
        let n = funnel.steps.count
        let windowMs = Int64(funnel.timeWindow) * 1000
        // Kept rows matching some step, by visitor then tie order.
        var matching: [Int] = []
        for i in 0..<r.count where r.kept[i] && r.bits[i] != 0 { matching.append(i) }
        // Visitors are counted independently: any order of visitors will do, so rows are
        // bucketed by visitor (counting sort) rather than sorted globally.
        let idx = r.grouped(by: r.visitor, rows: matching)
        matching = []
        let ts = idx.map { r.ts[$0] }
        let masks = idx.map { UInt16(truncatingIfNeeded: r.bits[$0]) }
        let days = try Bucketing.make(window, interval: .day)
        var reach = [Int64](repeating: 0, count: n + 1)
        var stepTimeSum = [Int64](repeating: 0, count: n)
        var stepTimeCount = [Int64](repeating: 0, count: n)
        var completeSum: Int64 = 0
        var dayVisitors = [Int64](repeating: 0, count: days.count)
        var dayCompletions = [Int64](repeating: 0, count: days.count)
        var s = 0
        var scratch = RunScratch()
        try days.boundaries.withUnsafeBufferPointer { (b: UnsafeBufferPointer<Int64>) throws(QueryError) in
            guard let base = b.baseAddress else { throw QueryError("Invalid period") }
            while s < idx.count {
                var e = s + 1
                while e < idx.count && r.visitor[idx[e]] == r.visitor[idx[s]] { e += 1 }
                let depth = bestRun(ts: ts[s..<e], masks: masks[s..<e], steps: n, windowMs: windowMs, scratch: &scratch)
                s = e
                if depth == 0 { continue }
                let times = scratch.best
                for k in 1...depth { reach[k] += 1 }
                for k in 0..<(depth - 1) {
                    stepTimeSum[k] += times[k + 1] - times[k]
                    stepTimeCount[k] += 1
                }
                let d = Bucketing.find(times[0], base, days.count + 1)
                dayVisitors[d] += 1
                if depth == n {
                    completeSum += times[n - 1] - times[0]
                    dayCompletions[d] += 1
                }
            }
        }
        var out = FunnelStats()
        out.totalVisitors = reach[1]
        out.completions = reach[n]
        out.avgTimeToComplete = MetricDefinitions.meanSeconds(totalMs: completeSum, count: reach[n])
        for k in 1...n {
            let prev = k == 1 ? reach[1] : reach[k - 1]
            let drop = k == 1 ? 0 : prev - reach[k]
            out.steps.append(FunnelStepStats(
                stepNumber: k, name: funnel.steps[k - 1].name, visitors: reach[k], dropOff: drop,
                dropOffRate1dp: MetricDefinitions.dropOffRate1dp(dropOff: drop, previous: prev),
                progressRate1dp: MetricDefinitions.progressRate1dp(visitors: reach[k], first: reach[1]),
                avgTimeOnStep: k == n ? 0 : MetricDefinitions.meanSeconds(totalMs: stepTimeSum[k - 1], count: stepTimeCount[k - 1])))
        }
        out.timeseries = (0..<days.count).map { FunnelDayStats(date: days.labels[$0], visitors: dayVisitors[$0], completions: dayCompletions[$0]) }
        return out
    }
}
