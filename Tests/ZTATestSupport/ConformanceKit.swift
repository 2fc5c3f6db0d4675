import Foundation
import ZTAFormat
import ZTAQuery

/// The shared conformance kit (`../shared/conformance`): its events as records, its queries, and
/// how the kit's runner asks them (site, time zone, parameters, a fixed `now`) of a `QueryEngine`.
public enum ConformanceKit {
    public static let directory = TestPaths.conformanceKit
    public static let eventsPath = directory.appendingPathComponent("events.ndjson.gz").path

    /// Whether the kit is there (a clone without `../shared` skips the tests that need it).
    public static var available: Bool { FileManager.default.fileExists(atPath: eventsPath) }

    /// The `now` every conformance query is asked at.
    public static let now: Int64 = 1_776_000_000_000

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    nonisolated(unsafe) private static var cachedRecords: [String: [EventRecord]]?
    private static let lock = NSLock()

    /// The kit's events by site, in file order, parsed once per test process (200 k JSON lines
    /// take seconds in a debug build). A reference reading of events.md §2/§4, not the engine's
    /// importer: visitor and session strings hashed with FNV-1a 64, the referrer normalised,
    /// `path` "/" when absent, the channel derived when absent.
    public static func recordsBySite() throws -> [String: [EventRecord]] {
        lock.lock(); defer { lock.unlock() }
        if let cachedRecords { return cachedRecords }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", eventsPath]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure("gzip -dc \(eventsPath) failed") }
        var bySite: [String: [EventRecord]] = [:]
        var n = 0
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            n += 1
            guard let o = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Failure("events line \(n): not an object")
            }
            let r = try record(o, line: n)
            bySite[r.site, default: []].append(r)
        }
        cachedRecords = bySite
        return bySite
    }

    static func record(_ o: [String: Any], line: Int) throws -> EventRecord {
        var r = EventRecord()
        if let s = o["ts"] as? String {
            guard let ts = referenceTimestamp(s) else { throw Failure("events line \(line): ts \(s)") }
            r.ts = ts
        } else if let n = o["ts"] as? NSNumber {
            r.ts = n.int64Value
        }
        guard let site = o["site"] as? String, let type = EventType(name: o["type"] as? String ?? ""),
              let visitor = o["visitor"] as? String, let session = o["session"] as? String else {
            throw Failure("events line \(line): site, type, visitor or session missing")
        }
        r.site = site
        r.type = type
        r.visitor = fnv1a64(visitor)
        r.session = fnv1a64(session)
        for col in StringColumns.all where col != .site {
            if let v = o[col.wireName] as? String { r.setString(col, v) }
        }
        if (o["path"] as? String) == nil { r.path = "/" }
        r.referrer = referenceReferrer(r.referrer)
        if o["channel"] == nil {
            r.channel = referenceChannel(referrer: r.referrer, utmSource: r.utmSource, utmMedium: r.utmMedium)
        }
        r.value = (o["value"] as? NSNumber)?.doubleValue ?? 0
        r.timeOnPage = (o["time_on_page"] as? NSNumber)?.int32Value ?? 0
        r.x = (o["x"] as? NSNumber)?.int32Value ?? 0
        r.y = (o["y"] as? NSNumber)?.int32Value ?? 0
        r.scrollDepth = (o["scroll_depth"] as? NSNumber)?.int8Value ?? 0
        return r
    }

    /// `YYYY-MM-DDTHH:MM:SS(.fff)Z` → ms since the epoch (the only string form in the kit's
    /// events), or nil for anything else.
    public static func referenceTimestamp(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func num(_ from: Int, _ len: Int) -> Int64? {
            var v: Int64 = 0
            for c in b[from..<(from + len)] {
                guard (48...57).contains(c) else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), let m = num(5, 2), let d = num(8, 2), let hh = num(11, 2), let mm = num(14, 2),
              let ss = num(17, 2) else { return nil }
        var ms: Int64 = 0
        if b[19] == UInt8(ascii: ".") {
            var k = 20, scale: Int64 = 100
            while k < b.count - 1 {
                guard (48...57).contains(b[k]) else { return nil }
                ms += Int64(b[k] - 48) * scale; scale /= 10; k += 1
            }
        } else if b.count != 20 { return nil }
        // Days from civil (Howard Hinnant).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms
    }

    /// `queries.json`'s queries, each with its `id`, `endpoint`, `site`, `timezone`, `params` and
    /// `expected` answer.
    public static func queries() throws -> [[String: Any]] {
        let data = try Data(contentsOf: directory.appendingPathComponent("queries.json"))
        guard let doc = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let queries = doc["queries"] as? [[String: Any]] else { throw Failure("queries.json: unexpected shape") }
        return queries
    }

    /// Asks one conformance query of `engine` as the kit's runner does; returns the answer body.
    public static func run(_ q: [String: Any], engine: QueryEngine) throws -> [UInt8] {
        let tz = q["timezone"] as? String ?? "UTC"
        let site = q["site"] as? String ?? ""
        var params: [String: String] = [:]
        for (k, v) in q["params"] as? [String: Any] ?? [:] { params[k] = (v as? String) ?? "\(v)" }
        switch q["endpoint"] as? String {
        case "stats-api":
            params["site_id"] = site
            params["period"] = "custom"
            return try engine.statsAPI(try StatsAPIRequest.parse(params, timezone: tz, now: now))
        case "stats":
            params["siteId"] = site
            return try engine.dashboard(try DashboardRequest.parse(params, timezone: tz, now: now))
        case "heatmap":
            params["siteId"] = site
            let kind = HeatmapKind.fromCLIType(params["type"] ?? "")
            return try engine.heatmap(try HeatmapRequest.parse(params, kind: kind, timezone: tz, now: now))
        case "export":
            params["siteId"] = site
            return try engine.export(try ExportRequest.parse(params, timezone: tz, now: now))
        default:
            throw Failure("query \(q["id"] ?? "?"): unknown endpoint \(q["endpoint"] ?? "?")")
        }
    }
}
