import ArgumentParser
import Foundation
import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTAStorage

/// In-process query timings for `Benchmarks/`: runs each query of a JSON file several times on a
/// warm engine and prints the timings as JSON, so process start-up is not part of the numbers.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time queries in-process (median/min/p90 ms over --runs) for the benchmark harness.",
        discussion: """
        The queries file is a JSON array of {"name", "kind": "stats-api"|"heatmap"|"dashboard", \
        "heatmap"?: "click"|"elements"|"rage-clicks"|"dead-clicks", "timezone"?, "params": {api.md names}}. \
        Two more kinds measure raw speed on one thread: {"kind": "scan", "site", "columns": ["ts", "path"]} \
        decodes every block of those columns of the site from the mapped segments, and {"kind": "memcpy", \
        "megabytes"?} copies a buffer; both add "gb_per_s" (decoded bytes, or bytes copied, per second). \
        Goals and funnels (api.md §7.5, §7.6) go through the production QueryEngine calls and renderers: \
        {"kind": "goal-stats", "params": {"siteId", "startDate", "endDate", "filters"?}, "goal": {"type", "path"?, \
        "matchType"?, "eventAction"?, "eventCategory"?, "eventLabel"?, "durationSeconds"?, "value"?}} and \
        {"kind": "funnel-stats", "params": {…}, "funnel": {"timeWindow"?, "steps": [{"name"?, "type", "path"?, \
        "matchType"?, "eventAction"?, "eventCategory"?}]}}. "answer": true adds the last run's JSON body.
        """)

    @OptionGroup var data: DataOption
    @Option(help: "JSON file of queries.") var queries: String
    @Option(help: "Timed runs per query (after one warm-up).") var runs = 10

    func run() throws {
        let raw = try Data(contentsOf: URL(fileURLWithPath: queries))
        guard let list = try JSONSerialization.jsonObject(with: raw) as? [[String: Any]] else {
            throw ValidationError("queries file must be a JSON array of objects")
        }
        let db = try Database(path: data.path, readOnlyQueries: true)
        let now = nowMs()
        var out: [String] = []
        for q in list {
            let name = q["name"] as? String ?? "?"
            let kind = q["kind"] as? String ?? "stats-api"
            let tz = q["timezone"] as? String ?? "UTC"
            let params = (q["params"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
            let body: () throws -> [UInt8]
            var bytesPerRun = 0
            switch kind {
            case "scan":
                let columns = (q["columns"] as? [String] ?? ["ts"]).compactMap { name in Column.allCases.first { $0.wireName == name } }
                let plan = try db.store.scanPlan(ScanRequest(site: q["site"] as? String ?? "", from: .min, to: .max,
                                                             columns: ColumnSet(columns)))
                bytesPerRun = plan.tasks.reduce(0) { $0 + $1.rowCount } * columns.reduce(0) { $0 + decodedWidth($1.kind) }
                body = {
                    var rows = 0
                    for t in plan.tasks { rows += try t.load().count }
                    return Array("\(rows)".utf8)
                }
            case "memcpy":
                let n = (q["megabytes"] as? Int ?? 512) << 20
                let src = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
                let dst = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
                memset(src, 1, n)
                memset(dst, 0, n)
                bytesPerRun = n
                body = {
                    dst.copyMemory(from: src, byteCount: n)
                    return [dst.load(fromByteOffset: n / 2, as: UInt8.self)]
                }
            case "goal-stats":
                let r = try ConversionRequest.parse(params, timezone: tz, now: now)
                let g = try goalDefinition(q["goal"] as? [String: Any] ?? [:], id: "bench")
                let site = params["siteId"] ?? ""
                body = {
                    let s = try db.queries.goalStats(site: site, window: r.window, filters: r.filters, goal: g)
                    return QueryEngine.renderGoalStats(goal: g, s)
                }
            case "funnel-stats":
                let r = try ConversionRequest.parse(params, timezone: tz, now: now)
                let f = try funnelDefinition(q["funnel"] as? [String: Any] ?? [:])
                let site = params["siteId"] ?? ""
                body = {
                    let s = try db.queries.funnelStats(site: site, window: r.window, filters: r.filters, funnel: f)
                    return QueryEngine.renderFunnelStats(funnel: f, s)
                }
            case "dashboard":
                let r = try DashboardRequest.parse(params, timezone: tz, now: now)
                body = { try db.queries.dashboard(r) }
            case "heatmap":
                let k = HeatmapKind.fromCLIType(q["heatmap"] as? String ?? "click")
                let r = try HeatmapRequest.parse(params, kind: k, timezone: tz, now: now)
                body = { try db.queries.heatmap(r) }
            default:
                let r = try StatsAPIRequest.parse(params, timezone: tz, now: now)
                body = { try db.queries.statsAPI(r) }
            }
            var bytes = try body() // warm-up: page cache, dictionaries
            var times: [Double] = []
            for _ in 0..<max(1, runs) {
                let t0 = monotonicSeconds()
                bytes = try body()
                times.append((monotonicSeconds() - t0) * 1000)
            }
            times.sort()
            let median = times[times.count / 2]
            let p90 = times[min(times.count - 1, Int(Double(times.count) * 0.9))]
            let rate = bytesPerRun > 0 ? ",\"gb_per_s\":\(Double(bytesPerRun) / (median / 1000) / 1e9)" : ""
            let answer = (q["answer"] as? Bool ?? false) ? ",\"answer\":" + String(decoding: bytes, as: UTF8.self) : ""
            out.append("{\"name\":\(jsonString(name)),\"median_ms\":\(median),\"min_ms\":\(times[0]),\"p90_ms\":\(p90),\"bytes\":\(bytes.count)\(rate)\(answer)}")
        }
        writeStdout("[" + out.joined(separator: ",\n") + "]\n")
    }
}

/// A goal of the queries file (api.md §7.5 create fields).
private func goalDefinition(_ j: [String: Any], id: String) throws -> GoalDefinition {
    guard let type = GoalType(rawValue: j["type"] as? String ?? "") else { throw ValidationError("goal.type must be pageview, event or duration") }
    guard let match = MatchType(rawValue: j["matchType"] as? String ?? "exact") else { throw ValidationError("goal.matchType") }
    return GoalDefinition(id: id, name: j["name"] as? String ?? "bench goal", type: type, path: j["path"] as? String,
                          matchType: match, eventAction: j["eventAction"] as? String, eventCategory: j["eventCategory"] as? String,
                          eventLabel: j["eventLabel"] as? String, durationSeconds: j["durationSeconds"] as? Int,
                          value: (j["value"] as? NSNumber)?.doubleValue ?? 0)
}

/// A funnel of the queries file (api.md §7.6 create fields; goal steps take an inline "goal").
private func funnelDefinition(_ j: [String: Any]) throws -> FunnelDefinition {
    let steps = try (j["steps"] as? [[String: Any]] ?? []).enumerated().map { k, s in
        guard let type = FunnelStepType(rawValue: s["type"] as? String ?? "") else { throw ValidationError("step.type must be pageview, event or goal") }
        guard let match = MatchType(rawValue: s["matchType"] as? String ?? "exact") else { throw ValidationError("step.matchType") }
        let goal = try (s["goal"] as? [String: Any]).map { try goalDefinition($0, id: "bench-step-\(k + 1)") }
        return FunnelStepDefinition(name: s["name"] as? String ?? "Step \(k + 1)", type: type, path: s["path"] as? String,
                                    matchType: match, eventAction: s["eventAction"] as? String,
                                    eventCategory: s["eventCategory"] as? String, goal: goal)
    }
    guard steps.count >= 2 else { throw ValidationError("a funnel needs at least 2 steps") }
    return FunnelDefinition(id: "bench", name: j["name"] as? String ?? "bench funnel", steps: steps,
                            timeWindow: j["timeWindow"] as? Int ?? 3600)
}

/// Bytes per row of a decoded column (string columns decode to 4-byte dictionary codes).
private func decodedWidth(_ kind: ColumnKind) -> Int {
    switch kind {
    case .int64, .uint64, .double: 8
    case .int32, .uint32, .string: 4
    case .int8, .uint8: 1
    }
}
