import ArgumentParser
import Foundation
import ZTAEngine
import ZTAQuery

/// Maps CLI flags to the api.md parameter names, so the CLI and HTTP share one parser.
struct PeriodOptions: ParsableArguments {
    @Option(help: "realtime|24h|day|7d|30d|90d|365d|6mo|12mo|custom") var period: String?
    @Option(help: "Reference date (YYYY-MM-DD or RFC 3339) that `now` means.") var date: String?
    @Option(help: "First day (YYYY-MM-DD) of a custom range.") var from: String?
    @Option(help: "Last day (YYYY-MM-DD, inclusive) of a custom range.") var to: String?
    @Option(help: "The site's IANA time zone.") var timezone = "UTC"
}

/// Exit status 2 with the api.md message on stderr, for bad parameters.
func failWithQueryError(_ e: QueryError) -> Never {
    writeStderr("{\"error\":\(jsonString(e.message))}\n")
    exit(2)
}

func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run a stats query; prints the JSON body GET /api/stats-api returns for the same parameters.")

    @OptionGroup var data: DataOption
    @Option(help: "Site id.") var site: String
    @OptionGroup var period: PeriodOptions
    @Option(help: "Comma-separated metrics.") var metrics: String?
    @Option(help: "Breakdown property.") var property: String?
    @Option(help: "Filters (api.md §4 grammar).") var filters: String?
    @Option(help: "hour|day|week|month") var interval: String?
    @Option var limit: String?
    @Option var offset: String?
    @Flag(help: "Print the query plan instead of the result.") var explain = false

    func run() throws {
        var p: [String: String] = ["site_id": site]
        if let v = period.period { p["period"] = v }
        if period.from != nil || period.to != nil {
            p["period"] = p["period"] ?? "custom"
            if let v = period.from { p["date_from"] = v }
            if let v = period.to { p["date_to"] = v }
        }
        if let v = period.date { p["date"] = v }
        if let v = metrics { p["metrics"] = v }
        if let v = property { p["property"] = v }
        if let v = filters { p["filters"] = v }
        if let v = interval { p["interval"] = v }
        if let v = limit { p["limit"] = v }
        if let v = offset { p["offset"] = v }
        let request: StatsAPIRequest
        do { request = try StatsAPIRequest.parse(p, timezone: period.timezone, now: nowMs()) } catch { failWithQueryError(error) }
        let db = try Database(path: data.path, readOnlyQueries: true)
        if explain {
            writeStdout(try db.queries.explain(request) + "\n")
        } else {
            do { writeStdout(try db.queries.statsAPI(request) + [0x0A]) } catch let e as QueryError { failWithQueryError(e) }
        }
    }
}

struct HeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap",
        abstract: "Run a heatmap analysis; prints the JSON body of the matching /api/heatmaps endpoint.")

    @OptionGroup var data: DataOption
    @Option(help: "Site id.") var site: String
    @Option(help: "Page path (exact).") var path: String?
    @Option(help: "click|move|scroll|attention|elements|rage-clicks|dead-clicks|pages") var type: String
    @OptionGroup var period: PeriodOptions
    @Option(help: "desktop|mobile|tablet") var device: String?
    @Option var limit: String?

    func run() throws {
        var p: [String: String] = ["siteId": site]
        if let v = path { p["path"] = v }
        if let v = period.period { p["period"] = v }
        if let v = period.from { p["startDate"] = v }
        if let v = period.to { p["endDate"] = v }
        if let v = period.date { p["date"] = v }
        if let v = device { p["device"] = v }
        if let v = limit { p["limit"] = v }
        let kind = HeatmapKind.fromCLIType(type)
        if kind == .heatmap { p["type"] = type }
        let request: HeatmapRequest
        do { request = try HeatmapRequest.parse(p, kind: kind, timezone: period.timezone, now: nowMs()) } catch { failWithQueryError(error) }
        let db = try Database(path: data.path, readOnlyQueries: true)
        do { writeStdout(try db.queries.heatmap(request) + [0x0A]) } catch let e as QueryError { failWithQueryError(e) }
    }
}
