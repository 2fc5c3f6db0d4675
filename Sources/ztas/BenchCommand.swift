import ArgumentParser
import Foundation
import ZTAEngine
import ZTAQuery

/// In-process query timings for `Benchmarks/`: runs each query of a JSON file several times on a
/// warm engine and prints the timings as JSON, so process start-up is not part of the numbers.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time queries in-process (median/min/p90 ms over --runs) for the benchmark harness.",
        discussion: """
        The queries file is a JSON array of {"name", "kind": "stats-api"|"heatmap"|"dashboard", \
        "heatmap"?: "click"|"elements"|"rage-clicks"|"dead-clicks", "timezone"?, "params": {api.md names}}.
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
            switch kind {
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
            out.append("{\"name\":\(jsonString(name)),\"median_ms\":\(median),\"min_ms\":\(times[0]),\"p90_ms\":\(p90),\"bytes\":\(bytes.count)}")
        }
        writeStdout("[" + out.joined(separator: ",\n") + "]\n")
    }
}
