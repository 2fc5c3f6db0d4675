import Foundation
import XCTest
import ZTAClickHouse
import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTAStorage
import ZTATestSupport

/// Heatmaps and realtime on ClickHouse (their rows fetched by SQL, computed by the shared code)
/// against the embedded store, on the conformance data loaded by `ClickHouseConformanceTests`:
/// one server and the two-shard cluster must answer byte for byte like the embedded store.
final class ClickHouseRowQueryTests: XCTestCase {
    typealias Conformance = ClickHouseConformanceTests

    /// Drops the shared fixture's databases and stops the servers when this class runs alone.
    override class func tearDown() {
        ClickHouseConformanceTests.tearDown()
        super.tearDown()
    }

    /// The kit's heatmap queries (click, move, scroll, attention, elements, rage and dead clicks)
    /// plus the pages list per site and device.
    static func heatmapRequests() throws -> [(String, HeatmapRequest)] {
        let now = ConformanceKit.now
        var out: [(String, HeatmapRequest)] = []
        for q in try ConformanceKit.queries() where q["endpoint"] as? String == "heatmap" {
            var params: [String: String] = [:]
            for (k, v) in q["params"] as? [String: Any] ?? [:] { params[k] = (v as? String) ?? "\(v)" }
            params["siteId"] = q["site"] as? String ?? ""
            let kind = HeatmapKind.fromCLIType(params["type"] ?? "")
            out.append((q["id"] as? String ?? "?", try HeatmapRequest.parse(params, kind: kind, timezone: q["timezone"] as? String ?? "UTC", now: now)))
        }
        for site in ["site_alpha", "site_delta"] {
            for device in ["", "mobile"] {
                let p = ["siteId": site, "startDate": "2026-02-15", "endDate": "2026-04-15", "device": device]
                out.append(("pages_\(site)_\(device)", try HeatmapRequest.parse(p, kind: .pages, timezone: "UTC", now: now)))
            }
        }
        return out
    }

    /// An answer body, or the error's status and message (a 404 "no data" must match too).
    static func answer(_ body: () throws -> [UInt8]) -> String {
        do { return String(decoding: try body(), as: UTF8.self) } catch let e as QueryError {
            return "error \(e.status): \(e.message)"
        } catch { return "error \(error)" }
    }

    func testHeatmapsAnswerByteIdentically() throws {
        let f = try Conformance.fixture()
        let requests = try Self.heatmapRequests()
        XCTAssertGreaterThanOrEqual(requests.count, 11)
        for (id, r) in requests {
            let expected = Self.answer { try f.embedded.queries.heatmap(r) }
            // The kit's queries have data: a vacuous comparison of two errors proves nothing.
            XCTAssertFalse(expected.hasPrefix("error"), "\(id): embedded \(expected)")
            XCTAssertGreaterThan(expected.utf8.count, 60, id)
            for (name, store) in [("single", f.single), ("cluster", f.cluster)] {
                let got = Self.answer { try store.queries.heatmap(r) }
                XCTAssertEqual(got, expected, "[\(name)] \(id)")
            }
        }
    }

    /// A path with quotes and backslashes reaches ClickHouse as a literal: no data, the same 404.
    func testHeatmapPathIsALiteral() throws {
        let f = try Conformance.fixture()
        let p = ["siteId": "site_alpha", "startDate": "2026-02-15", "endDate": "2026-04-15", "path": "/x' OR 1=1 --\\'", "type": "click"]
        let r = try HeatmapRequest.parse(p, kind: .heatmap, timezone: "UTC", now: 1_776_000_000_000)
        let expected = Self.answer { try f.embedded.queries.heatmap(r) }
        XCTAssertEqual(expected, "error 404: No heatmap data found for this page")
        for store in [f.single, f.cluster] { XCTAssertEqual(Self.answer { try store.queries.heatmap(r) }, expected) }
    }

    /// Realtime at instants inside the data (each site's quartiles of `ts`, plus a minute), in
    /// UTC and in a half-hour zone (the minute labels), and in an empty window.
    func testRealtimeAnswersByteIdentically() throws {
        let f = try Conformance.fixture()
        let body = try ClickHouseClient(endpoint: f.shards.shard1).query(
            "SELECT site, arrayJoin(quantilesExact(0.25, 0.5, 0.75, 1)(ts)) FROM events GROUP BY site ORDER BY site FORMAT TabSeparated",
            database: Conformance.singleDB)
        var nonEmpty = 0, checked = 0
        for row in try TabSeparated.parse(body) {
            let site = String(decoding: row[0], as: UTF8.self)
            let t = try TabSeparated.int64(row[1])
            for (now, tz) in [(t + 60_000, "UTC"), (t + 1, "Asia/Kolkata"), (t - 86_400_000 * 3650, "UTC")] {
                let r = try RealtimeRequest.parse(["siteId": site], timezone: tz, now: now)
                let expected = Self.answer { try f.embedded.queries.realtime(r) }
                XCTAssertFalse(expected.hasPrefix("error"), expected)
                if !expected.hasPrefix("{\"activeVisitors\":0") { nonEmpty += 1 }
                for (name, store) in [("single", f.single), ("cluster", f.cluster)] {
                    XCTAssertEqual(Self.answer { try store.queries.realtime(r) }, expected, "[\(name)] \(site) now=\(now) \(tz)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 12)
        XCTAssertGreaterThanOrEqual(nonEmpty, 4, "realtime windows without visitors compare nothing")
    }

    /// Every row of a scan, as records sorted by (ts, then the whole record), and the task sizes.
    static func scanRows(_ source: EventSource, _ request: ScanRequest) throws -> (rows: [String], tasks: [Int]) {
        let plan = try source.scanPlan(request)
        var rows: [String] = []
        for task in plan.tasks {
            let c = try task.load()
            for i in 0..<c.count where c.ts[i] >= request.from && c.ts[i] < request.to { rows.append("\(c.record(at: i))") }
        }
        return (rows.sorted(), plan.tasks.map(\.rowCount))
    }

    /// The scan that goals, funnels and row exports read: the same rows from ClickHouse as from
    /// the embedded store, in tasks of bounded size, with a row filter and late columns applied.
    /// Equal lists, reported by their sizes and the first difference (not thousands of rows).
    static func assertSameRows(_ got: [String], _ expected: [String], _ what: String, line: UInt = #line) {
        guard got != expected else { return }
        let i = (0..<min(got.count, expected.count)).first { got[$0] != expected[$0] } ?? min(got.count, expected.count)
        XCTFail("\(what): \(got.count) rows, expected \(expected.count); first difference at \(i): "
                + "\(i < got.count ? got[i] : "-") vs \(i < expected.count ? expected[i] : "-")", line: line)
    }

    func testScanRowsEqualTheEmbeddedStore() throws {
        let f = try Conformance.fixture()
        var compared = 0
        for site in ["site_alpha", "site_beta", "site_gamma", "site_delta"] {
            var all = ScanRequest(site: site, from: 0, to: Int64.max, columns: .all)
            // Every column of every row for the two smaller sites (the debug build parses ~10 k
            // rows a second; the larger two are compared below on a few columns).
            let everything = site == "site_gamma" || site == "site_delta"
            let expected = everything ? try Self.scanRows(f.embedded.store, all).rows : []
            XCTAssertTrue(!everything || expected.count > 1_000, site)
            for (name, config) in everything ? [("single", f.single.config), ("cluster", f.cluster.config)] : [] {
                let source = ClickHouseEventSource(config: config, rowsPerTask: 500)
                let (rows, tasks) = try Self.scanRows(source, all)
                Self.assertSameRows(rows, expected, "[\(name)] \(site)")
                XCTAssertEqual(tasks.reduce(0, +), expected.count)
                XCTAssertGreaterThan(tasks.count, 2, "[\(name)] \(site): a small task size splits the scan")
                compared += rows.count
            }
            // Pageviews only, with `path` decoded late and a window cut mid-day.
            all.from = 1_773_000_000_000 + 12_345
            all.to = 1_776_000_000_000
            all.columns = ColumnSet([.ts, .type, .visitor, .path])
            all.lateColumns = ColumnSet([.path])
            all.rowFilter = { c in (0..<c.count).filter { c.type[$0] == EventType.pageview.rawValue }.map(Int32.init) }
            let picked = try Self.scanRows(f.embedded.store, all).rows
            XCTAssertGreaterThan(picked.count, 100, site)
            for (name, config) in [("single", f.single.config), ("cluster", f.cluster.config)] {
                let got = try Self.scanRows(ClickHouseEventSource(config: config), all).rows
                Self.assertSameRows(got, picked, "[\(name)] \(site) filtered")
            }
        }
        XCTAssertGreaterThan(compared, 20_000)
    }
}
