import ZTAWorkloads
import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
@testable import ZTAQuery

/// Runs every query of the shared conformance kit (stats-api, stats, heatmap, export) against the
/// kit's 200k events loaded into an `InMemoryEventSource`, comparing with the README's rules.
final class ConformanceTests: XCTestCase {
    static let kitDir: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/conformance")

    /// Loaded once for the whole class (decompressing and parsing 200k lines takes a few seconds).
    nonisolated(unsafe) static var cached: InMemoryEventSource?

    static func loadSource() throws -> InMemoryEventSource? {
        if let c = cached { return c }
        let gz = kitDir.appendingPathComponent("events.ndjson.gz")
        guard FileManager.default.fileExists(atPath: gz.path) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", gz.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var bySite: [String: [EventRecord]] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            let o = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            bySite[o["site"] as! String, default: []].append(record(o))
        }
        var rng = SplitMix64(seed: 42)
        var chunks: [String: [ColumnChunk]] = [:]
        for (site, recs) in bySite { chunks[site] = makeChunks(recs, rng: &rng, pieces: 7) }
        let s = InMemoryEventSource(chunksBySite: chunks)
        cached = s
        return s
    }

    static func record(_ o: [String: Any]) -> EventRecord {
        var r = EventRecord()
        if let s = o["ts"] as? String { r.ts = parseISO(s)! } else { r.ts = (o["ts"] as! NSNumber).int64Value }
        r.site = o["site"] as! String
        r.type = EventType(name: o["type"] as! String)!
        r.visitor = fnv1a(o["visitor"] as! String)
        r.session = fnv1a(o["session"] as! String)
        for col in StringColumns.all where col != .site {
            if let v = o[col.wireName] as? String { r.setString(col, v) }
        }
        if (o["path"] as? String) == nil { r.path = "/" }
        r.referrer = normaliseReferrer(r.referrer)
        if o["channel"] == nil {
            r.channel = deriveChannel(referrer: r.referrer, utmSource: r.utmSource, utmMedium: r.utmMedium)
        }
        r.value = (o["value"] as? NSNumber)?.doubleValue ?? 0
        r.timeOnPage = (o["time_on_page"] as? NSNumber)?.int32Value ?? 0
        r.x = (o["x"] as? NSNumber)?.int32Value ?? 0
        r.y = (o["y"] as? NSNumber)?.int32Value ?? 0
        r.scrollDepth = (o["scroll_depth"] as? NSNumber)?.int8Value ?? 0
        return r
    }

    static func stringParams(_ p: [String: Any]) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in p { out[k] = (v as? String) ?? "\(v)" }
        return out
    }

    /// Runs one conformance query; returns the answer body.
    static func run(_ q: [String: Any], engine: QueryEngine) throws -> [UInt8] {
        let tz = q["timezone"] as! String
        var params = stringParams(q["params"] as! [String: Any])
        let site = q["site"] as! String
        let now: Int64 = 1_776_000_000_000
        switch q["endpoint"] as! String {
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
            throw QueryError("unknown endpoint")
        }
    }

    func testAllConformanceQueries() throws {
        guard let source = try Self.loadSource() else { throw XCTSkip("conformance kit not found at \(Self.kitDir.path)") }
        let data = try Data(contentsOf: Self.kitDir.appendingPathComponent("queries.json"))
        let doc = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let queries = doc["queries"] as! [[String: Any]]
        let only = ProcessInfo.processInfo.environment["ZTAS_ONLY"]
        for threads in [1, 2] {
            let engine = QueryEngine(source: source, threads: threads)
            var passed = 0, failed: [String] = []
            for q in queries {
                let id = q["id"] as! String
                if let only, !only.split(separator: ",").contains(Substring(id)) { continue }
                do {
                    let body = try Self.run(q, engine: engine)
                    var diffs: [String] = []
                    compareJSON(q["expected"]!, try parseJSON(body), "", &diffs)
                    if diffs.isEmpty { passed += 1 } else {
                        failed.append(id)
                        XCTFail("[\(threads) threads] \(id):\n  " + diffs.prefix(15).joined(separator: "\n  "))
                    }
                } catch {
                    failed.append(id)
                    XCTFail("[\(threads) threads] \(id): threw \(error)")
                }
            }
            print("conformance (\(threads) threads): \(passed) passed, \(failed.count) failed \(failed)")
        }
    }
}
