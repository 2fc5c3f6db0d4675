import Foundation
import ZTAFormat
@testable import ZTAQuery

/// A naive evaluator of goals (api.md §7.5) and funnels (§7.6) written from the spec's words,
/// row by row, independent of the engine's scan: own session grouping, own regex (Foundation's
/// `NSRegularExpression`, which agrees with RE2 on the simple patterns the tests use), own day
/// buckets (Foundation `Calendar`) and rounding (`Decimal`).
enum ConversionReference {
    struct GroupRow: Equatable {
        var label: String
        var completions: Int
        var rate: Double
    }

    struct GoalResult: Equatable {
        var completions = 0
        var uniqueCompletions = 0
        var conversionRate = 0.0
        var totalValue = 0.0
        var avgValue = 0.0
        var timeseries: [GroupRow] = []
        var topSources: [GroupRow] = []
        var topPages: [GroupRow] = []
    }

    struct StepRow: Equatable {
        var visitors: Int
        var dropOff: Int
        var dropOffRate: Double
        var progressRate: Double
        var avgTimeOnStep: Int
    }

    struct FunnelResult: Equatable {
        var totalVisitors = 0
        var completions = 0
        var overallConversionRate = 0.0
        var avgTimeToComplete = 0
        var steps: [StepRow] = []
        /// (date, visitors, completions, rate)
        var timeseries: [String] = []
    }

    /// The tie order of api.md §7.6: ts, then type in events.md §1 order, then path, then name (bytes).
    static func before(_ a: EventRecord, _ b: EventRecord) -> Bool {
        if a.ts != b.ts { return a.ts < b.ts }
        if a.type.rawValue != b.type.rawValue { return a.type.rawValue < b.type.rawValue }
        if a.path != b.path { return a.path.utf8.lexicographicallyPrecedes(b.path.utf8) }
        if a.name != b.name { return a.name.utf8.lexicographicallyPrecedes(b.name.utf8) }
        return a.session < b.session
    }

    /// A row of the window with what the filters and sessions say about it.
    struct Row {
        var r: EventRecord
        var kept: Bool
        var source: String
        /// This row is its session's duration completion for these durations (ms).
        var durationCompletions: Set<Int64>
    }

    static func rows(_ all: [EventRecord], from: Int64, to: Int64, filters: [Reference.FilterSpec], durations: [Int64]) -> [Row] {
        let window = all.filter { $0.ts >= from && $0.ts < to }
        var sessions: [UInt64: [EventRecord]] = [:]
        for r in window { sessions[r.session, default: []].append(r) }
        var out: [Row] = []
        for (_, evs) in sessions {
            let sorted = evs.sorted(by: before)
            // Entry: first pageview by ts, ties smallest path.
            let pvs = evs.filter { $0.type == .pageview }
            let entry = pvs.min { a, b in a.ts != b.ts ? a.ts < b.ts : a.path.utf8.lexicographicallyPrecedes(b.path.utf8) }
            func sessionValue(_ p: String) -> String {
                if let e = entry { return Reference.value(e, p) }
                return p == "channel" ? "direct" : ""
            }
            let source = entry.map { $0.referrer.isEmpty ? "(direct)" : $0.referrer } ?? "(direct)"
            let first = sorted[0].ts
            var durationAt: [Int64: Int] = [:]
            for d in durations {
                if let k = sorted.firstIndex(where: { $0.ts - first >= d }) { durationAt[d] = k }
            }
            for (k, r) in sorted.enumerated() {
                let kept = filters.allSatisfy { f in f.sessionLevel ? f.matches(sessionValue(f.property)) : f.matches(Reference.value(r, f.property)) }
                out.append(Row(r: r, kept: kept, source: source,
                               durationCompletions: Set(durationAt.filter { $0.value == k }.map(\.key))))
            }
        }
        return out
    }

    static func pathMatches(_ g: GoalDefinition, _ path: String) -> Bool {
        let p = g.path ?? ""
        switch g.matchType {
        case .exact: return path == p
        case .contains: return p.isEmpty || path.utf8.count >= p.utf8.count && String(decoding: Array(path.utf8), as: UTF8.self).contains(p)
        case .regex:
            let re = try! NSRegularExpression(pattern: p)
            return re.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
        }
    }

    /// Whether the row is a completion event of the goal (before filters).
    static func completes(_ g: GoalDefinition, _ row: Row) -> Bool {
        let r = row.r
        switch g.type {
        case .pageview: return r.type == .pageview && pathMatches(g, r.path)
        case .event:
            return r.type == .event && r.name == g.eventAction
                && (g.eventCategory.map { $0.isEmpty || $0 == r.category } ?? true)
                && (g.eventLabel.map { $0.isEmpty || $0 == r.label } ?? true)
        case .duration: return row.durationCompletions.contains(Int64(g.durationSeconds ?? 0) * 1000)
        }
    }

    static func dayLabel(_ t: Int64, _ days: [(Int64, Int64, String)]) -> String {
        days.first { t >= $0.0 && t < $0.1 }!.2
    }

    static func goal(_ all: [EventRecord], from: Int64, to: Int64, tz: TimeZone, filters: [Reference.FilterSpec], goal g: GoalDefinition) -> GoalResult {
        let durations = g.type == .duration ? [Int64(g.durationSeconds ?? 0) * 1000] : []
        let rows = rows(all, from: from, to: to, filters: filters, durations: durations)
        let days = Reference.buckets(from: from, to: to, interval: "day", tz: tz)
        var res = GoalResult()
        var visitors = Set<UInt64>(), completers = Set<UInt64>()
        var dayVisitors: [String: Set<UInt64>] = [:], dayCompleters: [String: Set<UInt64>] = [:], dayCompletions: [String: Int] = [:]
        var srcVisitors: [String: Set<UInt64>] = [:], srcCompleters: [String: Set<UInt64>] = [:], srcCompletions: [String: Int] = [:]
        var pathVisitors: [String: Set<UInt64>] = [:], pathCompleters: [String: Set<UInt64>] = [:], pathCompletions: [String: Int] = [:]
        var total = 0.0
        for row in rows where row.kept {
            let r = row.r
            let day = dayLabel(r.ts, days)
            if r.type == .pageview || r.type == .event {
                visitors.insert(r.visitor)
                dayVisitors[day, default: []].insert(r.visitor)
                srcVisitors[row.source, default: []].insert(r.visitor)
            }
            if r.type == .pageview { pathVisitors[r.path, default: []].insert(r.visitor) }
            guard completes(g, row) else { continue }
            res.completions += 1
            total += g.type == .event && r.value != 0 ? r.value : g.value
            completers.insert(r.visitor)
            dayCompletions[day, default: 0] += 1
            dayCompleters[day, default: []].insert(r.visitor)
            srcCompletions[row.source, default: 0] += 1
            srcCompleters[row.source, default: []].insert(r.visitor)
            pathCompletions[r.path, default: 0] += 1
            pathCompleters[r.path, default: []].insert(r.visitor)
        }
        res.uniqueCompletions = completers.count
        res.conversionRate = rnd(Int64(completers.count) * 100, Int64(visitors.count), 1)
        res.totalValue = roundDouble(total, 2)
        res.avgValue = res.completions == 0 ? 0 : roundDouble(total / Double(res.completions), 2)
        res.timeseries = days.map { d in
            GroupRow(label: d.2, completions: dayCompletions[d.2] ?? 0,
                     rate: rnd(Int64(dayCompleters[d.2]?.count ?? 0) * 100, Int64(dayVisitors[d.2]?.count ?? 0), 1))
        }
        func top(_ completions: [String: Int], _ comp: [String: Set<UInt64>], _ vis: [String: Set<UInt64>]) -> [GroupRow] {
            let rows = completions.map { k, n in
                GroupRow(label: k, completions: n, rate: rnd(Int64(comp[k]?.count ?? 0) * 100, Int64(vis[k]?.count ?? 0), 1))
            }
            return Array(rows.sorted { a, b in a.completions != b.completions ? a.completions > b.completions
                : a.label.utf8.lexicographicallyPrecedes(b.label.utf8) }.prefix(10))
        }
        res.topSources = top(srcCompletions, srcCompleters, srcVisitors)
        res.topPages = top(pathCompletions, pathCompleters, pathVisitors)
        return res
    }

    /// `Reference.round`, as the Double of the fixed-point integer (the engine's form).
    static func rnd(_ num: Int64, _ den: Int64, _ scale: Int) -> Double {
        let m = pow(10, Double(scale))
        return (Reference.round(num, den, scale) * m).rounded() / m
    }

    static func roundDouble(_ v: Double, _ scale: Int) -> Double {
        var d = Decimal(string: String(format: "%.12f", v))!
        var out = Decimal()
        NSDecimalRound(&out, &d, scale, .plain)
        let m = pow(10, Double(scale))
        return (NSDecimalNumber(decimal: out).doubleValue * m).rounded() / m
    }

    /// The funnel analysis: per visitor, kept events in tie order; from every step-1 match the
    /// earliest step-2 match after it, then step 3, … while ts < start + window; the greedy run's
    /// depth is checked against an exhaustive search over all continuations.
    static func funnel(_ all: [EventRecord], from: Int64, to: Int64, tz: TimeZone, filters: [Reference.FilterSpec],
                       funnel f: FunnelDefinition) -> FunnelResult {
        let stepGoals = f.steps.map { $0.asGoal }
        let durations = stepGoals.compactMap { g in g.flatMap { $0.type == .duration ? Int64($0.durationSeconds ?? 0) * 1000 : nil } }
        let rows = rows(all, from: from, to: to, filters: filters, durations: durations)
        let days = Reference.buckets(from: from, to: to, interval: "day", tz: tz)
        let n = f.steps.count
        let w = Int64(f.timeWindow) * 1000
        var byVisitor: [UInt64: [Row]] = [:]
        for row in rows where row.kept { byVisitor[row.r.visitor, default: []].append(row) }
        var reach = [Int](repeating: 0, count: n + 1)
        var stepSum = [Int64](repeating: 0, count: n), stepCount = [Int64](repeating: 0, count: n)
        var completeSum: Int64 = 0
        var dayV: [String: Int] = [:], dayC: [String: Int] = [:]
        for (_, evsUnsorted) in byVisitor {
            let evs = evsUnsorted.sorted { before($0.r, $1.r) }
            func matches(_ k: Int, _ e: Row) -> Bool { stepGoals[k].map { completes($0, e) } ?? false }
            var bestDepth = 0
            var bestTimes: [Int64] = []
            for s in evs.indices where matches(0, evs[s]) {
                let start = evs[s].r.ts
                var times = [start]
                var pos = s
                for k in 1..<n {
                    var found = -1
                    var j = pos + 1
                    while j < evs.count {
                        if evs[j].r.ts >= start + w { break }
                        if matches(k, evs[j]) { found = j; break }
                        j += 1
                    }
                    if found < 0 { break }
                    times.append(evs[found].r.ts)
                    pos = found
                }
                // All continuations: no later choice reaches deeper than the earliest one.
                func deepest(_ k: Int, _ pos: Int) -> Int {
                    if k == n { return n }
                    var best = k
                    for j in (pos + 1)..<max(pos + 1, evs.count) where evs[j].r.ts < start + w && matches(k, evs[j]) {
                        best = max(best, deepest(k + 1, j))
                        if best == n { break }
                    }
                    return best
                }
                precondition(deepest(1, s) == times.count, "greedy run is not the deepest")
                if times.count > bestDepth { bestDepth = times.count; bestTimes = times }
            }
            if bestDepth == 0 { continue }
            for k in 1...bestDepth { reach[k] += 1 }
            for k in 0..<(bestDepth - 1) { stepSum[k] += bestTimes[k + 1] - bestTimes[k]; stepCount[k] += 1 }
            let day = dayLabel(bestTimes[0], days)
            dayV[day, default: 0] += 1
            if bestDepth == n { completeSum += bestTimes[n - 1] - bestTimes[0]; dayC[day, default: 0] += 1 }
        }
        var res = FunnelResult()
        res.totalVisitors = reach[1]
        res.completions = reach[n]
        res.overallConversionRate = rnd(Int64(reach[n]) * 100, Int64(reach[1]), 2)
        res.avgTimeToComplete = Int(rnd(completeSum, Int64(reach[n]) * 1000, 0))
        for k in 1...n {
            let prev = k == 1 ? reach[1] : reach[k - 1]
            let drop = k == 1 ? 0 : prev - reach[k]
            res.steps.append(StepRow(visitors: reach[k], dropOff: drop, dropOffRate: rnd(Int64(drop) * 100, Int64(prev), 1),
                                     progressRate: rnd(Int64(reach[k]) * 100, Int64(reach[1]), 1),
                                     avgTimeOnStep: k == n ? 0 : Int(rnd(stepSum[k - 1], stepCount[k - 1] * 1000, 0))))
        }
        res.timeseries = days.map { d in
            let v = dayV[d.2] ?? 0, c = dayC[d.2] ?? 0
            return "\(d.2) \(v) \(c) \(rnd(Int64(c) * 100, Int64(v), 2))"
        }
        return res
    }
}
