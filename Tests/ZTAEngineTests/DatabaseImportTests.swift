import Foundation
import XCTest
import ZTAEngine
import ZTAFormat
import ZTAStorage

/// `Database.importNDJSON` end to end: bad lines rejected by number, the rest stored and
/// queryable, import ids assigned, the site restriction, gzip input.
final class DatabaseImportTests: XCTestCase {
    var work = ""

    override func setUp() {
        work = NSTemporaryDirectory() + "ztas-import-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    private let lines = [
        #"{"ts":"2026-03-01T10:00:00.000Z","site":"s1","type":"pageview","visitor":"a","session":"x","path":"/"}"#,
        #"{"ts":"2026-03-01T10:00:01.000Z","site":"s1","type":"pageview","visitor":"a","session":"x","path":"/b"#, // 2: malformed JSON
        #"{"ts":1772359202000,"site":"s1","type":"event","visitor":"a","session":"x","name":"signup","value":2.5}"#,
        #"{"site":"s1","type":"pageview","visitor":"a","session":"x"}"#,                                            // 4: missing ts
        #"{"ts":"2026-03-01T10:00:03.000Z","site":"s1","type":"pageview","visitor":"b","session":"y","x":"12"}"#,   // 5: wrong type
        #"{"ts":"2026-03-01T10:00:04.000Z","site":"s1","type":"teleport","visitor":"b","session":"y"}"#,           // 6: unknown type
        #"{"ts":"1999-12-31T23:59:59.999Z","site":"s1","type":"pageview","visitor":"b","session":"y"}"#,           // 7: ts out of range
        "",                                                                                                           // 8: blank, skipped
        #"{"ts":"2026-03-02T10:00:00.000Z","site":"s2","type":"click","visitor":"c","session":"z","x":5,"y":7,"element":"button#go"}"#,
        #"{"ts":"2026-04-01T00:00:00.000Z","site":"s1","type":"pageview","visitor":"d","session":"w","referrer":"WWW.Google.com"}"#,
    ]

    private func rows(_ db: Database, site: String) throws -> [EventRecord] {
        let plan = try db.store.scanPlan(ScanRequest(site: site, from: .min, to: .max, columns: .all))
        var out: [EventRecord] = []
        for t in plan.tasks {
            let c = try t.load()
            out += (0..<c.count).map { c.record(at: $0) }
        }
        return out.sorted { $0.ts < $1.ts }
    }

    func testBadLinesAreRejectedByNumberAndTheRestImported() throws {
        let file = work + "/in.ndjson"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let db = try Database(path: work + "/data")
        let s = try db.importNDJSON(path: file)
        XCTAssertEqual(s.accepted, 4)
        XCTAssertEqual(s.rejected, 5)
        XCTAssertEqual(s.errors.map(\.line), [2, 4, 5, 6, 7])
        XCTAssertEqual(s.errors[1].error, "missing field: ts")
        XCTAssertEqual(s.errors[3].error, "unknown event type: teleport")
        XCTAssertEqual(s.errors[4].error, "ts out of range")
        let s1 = try rows(db, site: "s1")
        XCTAssertEqual(s1.map(\.ts), [1_772_359_200_000, 1_772_359_202_000, 1_775_001_600_000])
        XCTAssertTrue(s1.allSatisfy { $0.importId == s.importId })
        XCTAssertEqual(s1[1].name, "signup")
        XCTAssertEqual(s1[1].value, 2.5)
        XCTAssertEqual(s1[2].referrer, "google.com", "referrer normalised")
        XCTAssertEqual(s1[2].channel, "organic", "channel derived")
        XCTAssertEqual(Set(db.store.segmentList.map(\.partition.month)), ["2026-03", "2026-04"])
        let s2 = try rows(db, site: "s2")
        XCTAssertEqual(s2.count, 1)
        XCTAssertEqual(s2[0].element, "button#go")
        // A second run gets a new import id; both are deletable separately.
        let again = try db.importNDJSON(path: file)
        XCTAssertNotEqual(again.importId, s.importId)
        XCTAssertEqual(try db.deleteImport(site: "s1", importId: s.importId), 3)
        XCTAssertEqual(try rows(db, site: "s1").count, 3)
        try db.close()
        XCTAssertTrue(Database.verify(path: work + "/data").isClean)
    }

    func testSiteRestrictionAndGzipInput() throws {
        let file = work + "/in.ndjson"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", file]
        try gz.run()
        gz.waitUntilExit()
        let db = try Database(path: work + "/data")
        let s = try db.importNDJSON(path: file + ".gz", options: ImportOptions(siteRestriction: "s2"))
        XCTAssertEqual(s.accepted, 1)
        XCTAssertEqual(s.rejected, 8)
        XCTAssertEqual(s.errors.filter { $0.error == "site does not match" }.map(\.line), [1, 3, 10])
        XCTAssertEqual(try rows(db, site: "s1").count, 0)
        XCTAssertEqual(try rows(db, site: "s2").count, 1)
        try db.close()
    }

    /// Many small pieces parsed by several workers that each publish several batches: the rows
    /// stored, the counts and the first `maxErrors` line numbers must not depend on the split,
    /// and a mapped file and the same bytes gzipped (read as a stream) must agree.
    func testManyPiecesWorkersAndBatchesKeepLineNumbersAndRows() throws {
        var text: [String] = []
        var bad: [Int] = []
        for i in 1...3_000 {
            if i % 97 == 0 {
                text.append(#"{"ts":"2026-03-01T10:00:00.000Z","site":"s1","type":"pageview""#)  // malformed
                bad.append(i)
            } else {
                let day = 1 + i % 28, month = 3 + i % 2
                text.append(#"{"ts":"2026-0\#(month)-\#(day < 10 ? "0" : "")\#(day)T10:00:\#(i % 60 < 10 ? "0" : "")\#(i % 60).000Z","site":"s\#(i % 3)","type":"pageview","visitor":"v\#(i % 50)","session":"x\#(i % 200)","path":"/p\#(i % 7)"}"#)
            }
        }
        let file = work + "/many.ndjson"
        try (text.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", file]
        try gz.run()
        gz.waitUntilExit()

        func importOnce(_ path: String, threads: Int, batch: Int) throws -> (ImportSummary, [[EventRecord]]) {
            let dir = work + "/d-\(UUID().uuidString)"
            let db = try Database(path: dir)
            var options = ImportOptions()
            options.threads = threads
            options.batchRows = batch
            options.maxErrors = 10
            let s = try db.importNDJSON(input: try ImportInput(path: path, blockSize: 1024), options: options)
            let stored = try ["s0", "s1", "s2"].map { site in
                try rows(db, site: site).map { r -> EventRecord in
                    var r = r
                    r.importId = 0
                    return r
                }
            }
            try db.close()
            XCTAssertTrue(Database.verify(path: dir).isClean)
            return (s, stored)
        }
        let (one, reference) = try importOnce(file, threads: 1, batch: 1_000_000)
        XCTAssertEqual(one.accepted, 3_000 - bad.count)
        XCTAssertEqual(one.rejected, bad.count)
        XCTAssertEqual(one.errors.map(\.line), Array(bad.prefix(10)))
        for (path, threads, batch) in [(file, 3, 250), (file + ".gz", 2, 400), (file, 2, 37)] {
            let (s, stored) = try importOnce(path, threads: threads, batch: batch)
            XCTAssertEqual(s.accepted, one.accepted, "\(path) \(threads)")
            XCTAssertEqual(s.rejected, one.rejected)
            XCTAssertEqual(s.errors.map(\.line), Array(bad.prefix(10)), "\(path) \(threads) \(batch)")
            XCTAssertEqual(s.minTs, one.minTs)
            XCTAssertEqual(s.maxTs, one.maxTs)
            for k in 0..<3 {
                XCTAssertEqual(stored[k].count, reference[k].count)
                // Rows with equal ts may be stored in any order across batches: compare as sets.
                XCTAssertEqual(Set(stored[k].map { "\($0)" }), Set(reference[k].map { "\($0)" }))
            }
        }
    }

    func testUnreadableFileIsAFatalError() throws {
        let db = try Database(path: work + "/data")
        XCTAssertThrowsError(try db.importNDJSON(path: work + "/missing.ndjson"))
        try db.close()
    }
}
