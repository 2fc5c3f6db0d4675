import Foundation
import XCTest
import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTAStorage
import ZTAWorkloads

/// Compaction must change nothing a query can see, keep import ids, and be crash-safe.
final class CompactionTests: XCTestCase {
    var work = ""

    override func setUp() {
        work = NSTemporaryDirectory() + "ztas-compact-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    /// Generated NDJSON split into `parts` files.
    private func writeParts(rows: Int, parts: Int, seed: UInt64) throws -> [String] {
        let bytes = WorkloadGenerator(rows: rows, seed: seed, sites: 2, days: 40).generate()
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        var paths: [String] = []
        for p in 0..<parts {
            let path = work + "/part-\(p).ndjson"
            var out: [UInt8] = []
            for (i, l) in lines.enumerated() where i % parts == p { out += l; out.append(0x0A) }
            FileManager.default.createFile(atPath: path, contents: Data(out))
            paths.append(path)
        }
        return paths
    }

    /// Fills a database the way a server does over time: several imports plus WAL ingest with flushes.
    private func fill(_ dir: String, seed: UInt64) throws -> (site: String, imports: [UInt32: Int]) {
        let site = WorkloadGenerator(rows: 1, seed: seed, sites: 2, days: 40).siteIds[0]
        let parts = try writeParts(rows: 40_000, parts: 8, seed: seed)
        let db = try Database(path: dir)
        var imports: [UInt32: Int] = [:]
        for path in parts.prefix(5) {
            let s = try db.importNDJSON(path: path)
            XCTAssertEqual(s.rejected, 0)
            imports[s.importId] = s.accepted
        }
        // The rest arrives through the WAL in small flushed batches, like tracked events.
        for path in parts.dropFirst(5) {
            var b = ColumnChunkBuilder()
            var errors: [ImportLineError] = []
            _ = NDJSONParser(siteRestriction: nil, importId: 0).parse(try Array(Data(contentsOf: URL(fileURLWithPath: path))), into: &b, errors: &errors)
            let chunk = b.build()
            let records = (0..<chunk.count).map { chunk.record(at: $0) }
            for start in stride(from: 0, to: records.count, by: 1000) {
                try db.ingest(Array(records[start..<min(start + 1000, records.count)]))
                try db.store.flush()
            }
        }
        try db.close()
        return (site, imports)
    }

    private let queries: [[String: String]] = [
        ["metrics": "visitors,pageviews,sessions,bounces,bounce_rate,visit_duration,views_per_visit,events,avg_time_on_page", "interval": "month"],
        ["metrics": "visitors,pageviews", "interval": "day"],
        ["metrics": "visitors,sessions,pageviews,bounce_rate", "property": "page"],
        ["metrics": "sessions,visitors", "property": "source"],
        ["metrics": "visitors,bounce_rate", "property": "country", "filters": "device==desktop"],
        ["metrics": "pageviews,visitors", "property": "event_name"],
    ]

    private func answers(_ db: Database, site: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for q in queries {
            var p = q
            p["site_id"] = site
            p["period"] = "custom"
            p["date_from"] = "2026-03-01"
            p["date_to"] = "2026-04-14"
            out.append(try db.queries.statsAPI(try StatsAPIRequest.parse(p, timezone: "Europe/Berlin", now: 0)))
        }
        let pages = try db.queries.heatmap(try HeatmapRequest.parse(["siteId": site, "path": "/", "startDate": "2026-03-01", "endDate": "2026-04-14"], kind: .pages, timezone: "UTC", now: 0))
        out.append(pages)
        for kind in ["click", "scroll"] {
            let r = try HeatmapRequest.parse(["siteId": site, "path": "/", "type": kind, "startDate": "2026-03-01", "endDate": "2026-04-14"],
                                             kind: .heatmap, timezone: "UTC", now: 0)
            out.append((try? db.queries.heatmap(r)) ?? Array("no data".utf8))
        }
        return out
    }

    func testQueriesAnswerTheSameAfterCompactionAndImportsStayDeletable() throws {
        let dir = work + "/data"
        let (site, imports) = try fill(dir, seed: 7)
        let db = try Database(path: dir)
        let before = try answers(db, site: site)
        let segmentsBefore = db.store.segmentList.count
        let s = try db.compact()
        XCTAssertGreaterThan(s.partitions, 0)
        XCTAssertLessThan(db.store.segmentList.count, segmentsBefore)
        XCTAssertEqual(Set(db.store.segmentList.map(\.partition)).count, db.store.segmentList.count, "one segment per partition")
        let after = try answers(db, site: site)
        for (i, (a, b)) in zip(before, after).enumerated() {
            XCTAssertEqual(String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self), "query \(i)")
        }
        // Import ids survive compaction: deleting one import removes exactly its events.
        let (id, _) = imports.sorted { $0.key < $1.key }[1]
        let total = db.store.segmentList.reduce(0) { $0 + $1.rows }
        let plan = try db.store.scanPlan(ScanRequest(site: site, from: .min, to: .max, columns: ColumnSet([.importId])))
        var ofImport = 0
        for t in plan.tasks { ofImport += try t.load().importId.filter { $0 == id }.count }
        XCTAssertGreaterThan(ofImport, 0)
        XCTAssertEqual(try db.deleteImport(site: site, importId: id), ofImport)
        XCTAssertEqual(db.store.segmentList.reduce(0) { $0 + $1.rows }, total - ofImport)
        try db.close()
        XCTAssertTrue(Database.verify(path: dir).isClean)
    }

    func testKilledCompactionLeavesBeforeOrAfterState() throws {
        let binary = CrashRecoveryTests.ztasBinary
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "ztas binary not built")
        let cycles = ProcessInfo.processInfo.environment["ZTAS_SLOW_TESTS"] == nil ? 3 : 25
        var rng = SystemRandomNumberGenerator()
        for cycle in 0..<cycles {
            let dir = work + "/data-\(cycle)"
            let (site, _) = try fill(dir, seed: 100 + UInt64(cycle))
            let expected: [[UInt8]]
            let rowsBefore: Int
            do {
                let db = try Database(path: dir)
                expected = try answers(db, site: site)
                rowsBefore = db.store.segmentList.reduce(0) { $0 + $1.rows }
                try db.close()
            }
            let p = Process()
            p.executableURL = binary
            p.arguments = ["compact", "--data", dir]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.01...0.5, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertTrue(Database.verify(path: dir).isClean, "cycle \(cycle)")
            let db = try Database(path: dir)
            XCTAssertEqual(db.store.segmentList.reduce(0) { $0 + $1.rows }, rowsBefore, "no double counting, nothing lost (cycle \(cycle))")
            let got = try answers(db, site: site)
            XCTAssertEqual(got, expected, "cycle \(cycle)")
            try db.close()
        }
    }
}
