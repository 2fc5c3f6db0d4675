import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
import ZTAWorkloads
@testable import ZTAQuery

/// The block-local session fold: block dictionary codes captured while decoding segments (the code
/// path) must give exactly what codes assigned from the 64-bit values give (the value path, used
/// for memtable chunks and other encodings), and both what the reference evaluator gives.
final class SessionFoldTests: XCTestCase {
    private var dirs: [String] = []

    override func tearDown() {
        for d in dirs { try? FileManager.default.removeItem(atPath: d) }
        dirs = []
    }

    private func tempDir() -> String {
        let d = NSTemporaryDirectory() + "ztas-fold-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        dirs.append(d)
        return d
    }

    /// Sessions of several rows (so ids repeat within blocks and the writer picks the dictionary
    /// encoding for some of them), one site, ts-sorted.
    private func sessionRecords(_ rng: inout SplitMix64, sessions: Int) -> [EventRecord] {
        var out: [EventRecord] = []
        let visitors = (0..<max(2, sessions / 3)).map { _ in rng.next() }
        for _ in 0..<sessions {
            let sid = rng.next()
            let v = visitors[Int(rng.next() % UInt64(visitors.count))]
            var t: Int64 = 1_772_000_000_000 + Int64(rng.next() % 86_400_000)
            for _ in 0..<(1 + Int(rng.next() % 12)) {
                var r = EventRecord()
                r.site = "s"
                r.session = sid
                r.visitor = rng.next() % 30 == 0 ? visitors[Int(rng.next() % UInt64(visitors.count))] : v
                r.ts = t
                r.type = [EventType.pageview, .event, .engagement, .click][Int(rng.next() % 4)]
                out.append(r)
                t += Int64(rng.next() % 90_000)
            }
        }
        return out.sorted { $0.ts < $1.ts }
    }

    func testKeptBlockCodesReproduceDecodedValues() throws {
        var rng = SplitMix64(seed: 0xC0DE5)
        var captured = 0, uncaptured = 0
        for round in 0..<6 {
            let records = sessionRecords(&rng, sessions: 20 + round * 40)
            let image = try SegmentWriter.encode(ColumnChunk.from(records: records), site: "s", blockRows: [16, 100, 700][round % 3])
            try image.withUnsafeBytes { raw in
                let reader = try SegmentReader(bytes: raw, file: "t.zseg")
                for b in 0..<reader.blockCount {
                    let chunk = try reader.decodeBlock(b, columns: ColumnSet([.ts, .session, .visitor, .value]))
                    for (ids, kept) in [(chunk.session, chunk.sessionCodes), (chunk.visitor, chunk.visitorCodes)] {
                        guard let e = kept else { uncaptured += 1; continue }
                        captured += 1
                        XCTAssertEqual(e.codes.count, ids.count)
                        XCTAssertEqual(e.codes.map { e.values[Int($0)] }, ids, "round \(round) block \(b)")
                        XCTAssertEqual(Set(e.values).count, e.values.count, "block dictionary values are distinct")
                    }
                }
                // Codes only: dictionary-encoded id columns come without their 64-bit arrays,
                // the same codes as a full decode; other encodings keep their values.
                for b in 0..<reader.blockCount {
                    let full = try reader.decodeBlock(b, columns: ColumnSet([.session, .visitor]))
                    let lean = try reader.decodeBlock(b, columns: ColumnSet([.session, .visitor]), idsAsCodes: true)
                    for (fullIds, fullCodes, leanIds, leanCodes) in [(full.session, full.sessionCodes, lean.session, lean.sessionCodes),
                                                                     (full.visitor, full.visitorCodes, lean.visitor, lean.visitorCodes)] {
                        if let fc = fullCodes {
                            let lc = try XCTUnwrap(leanCodes)
                            XCTAssertTrue(leanIds.isEmpty)
                            XCTAssertEqual(lc.values, fc.values)
                            XCTAssertEqual(lc.codes, fc.codes)
                            XCTAssertEqual(lc.codes.map { lc.values[Int($0)] }, fullIds)
                        } else {
                            XCTAssertNil(leanCodes)
                            XCTAssertEqual(leanIds, fullIds)
                        }
                    }
                }
                // Columns not asked for keep nothing; a transformed chunk carries no codes.
                let onlyTs = try reader.decodeBlock(0, columns: ColumnSet([.ts]))
                XCTAssertNil(onlyTs.sessionCodes)
                XCTAssertNil(onlyTs.visitorCodes)
                let whole = try reader.decodeBlock(0, columns: .all)
                let gathered = whole.gather(Array((0..<Int32(whole.count)).reversed()))
                XCTAssertNil(gathered.sessionCodes)
                XCTAssertNil(gathered.visitorCodes)
            }
        }
        XCTAssertGreaterThan(captured, 0, "some id chunks are dictionary-encoded")
        XCTAssertGreaterThan(uncaptured, 0, "some are not (constant / run-length / plain)")
    }

    func testLocalCodesAreDenseFirstAppearanceCodes() {
        var rng = SplitMix64(seed: 41)
        let codes = LocalCodes()
        for round in 0..<50 {
            let n = Int(rng.next() % 3000)
            let pool = (0..<(1 + Int(rng.next() % 400))).map { _ in round % 7 == 0 ? rng.next() % 3 : rng.next() }
            let ids = (0..<n).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
            var out = [UInt32](repeating: .max, count: max(1, n))
            let distinct = ids.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in codes.build(p.baseAddress ?? UnsafePointer(bitPattern: 8)!, n, codes: o.baseAddress!) }
            }
            var firstSeen: [UInt64] = []
            for v in ids where !firstSeen.contains(v) { firstSeen.append(v) }
            XCTAssertEqual(distinct, firstSeen, "round \(round)")
            XCTAssertEqual((0..<n).map { distinct[Int(out[$0])] }, ids, "round \(round)")
        }
    }

    /// Random stats-api queries on the same events stored three ways: segments with small blocks
    /// (block dictionaries captured: the code path), in-memory chunks (codes from values, some
    /// unsorted), and the reference evaluator.
    func testSegmentCodePathMatchesValuePathAndReference() throws {
        var rng = SplitMix64(seed: 0xB10C)
        let sc = PropertyTests.scenarios[4]
        let tzName = sc.tz
        let tz = SiteTimeZone(tzName)!
        let from = tz.startOfDay(sc.from), to = tz.startOfDay(sc.to.adding(days: 1))
        let properties: [String?] = [nil, nil, "page", "entry_page", "source", "channel", "country", "device", "event_name"]
        let allMetrics = ["visitors", "pageviews", "sessions", "bounces", "bounce_rate", "visit_duration",
                          "views_per_visit", "events", "avg_time_on_page"]
        var checked = 0
        for (k, blockRows) in [24, 150, 2000].enumerated() {
            let records = PropertyTests.randomEvents(&rng, site: "s", from: from, to: to, sessions: 120 + 60 * k)
            var options = StoreOptions()
            options.blockRows = blockRows
            let store = try EventStore.open(directory: tempDir(), options: options)
            try store.append(records)
            try store.flush()
            let memory = InMemoryEventSource(chunksBySite: ["s": makeChunks(records, rng: &rng)])
            let engines = [QueryEngine(source: store, threads: 2), QueryEngine(source: store, threads: 1),
                           QueryEngine(source: memory, threads: 2)]
            for qi in 0..<30 {
                let property = PropertyTests.pick(properties, &rng)
                let filters = PropertyTests.randomFilters(&rng)
                let metrics = Array(allMetrics.shuffled(using: &rng).prefix(1 + Int(rng.next() % 9)))
                let interval = PropertyTests.pick(["hour", "day", "week", "month"], &rng)
                var params = ["site_id": "s", "period": "custom", "date_from": sc.from.description, "date_to": sc.to.description,
                              "metrics": metrics.joined(separator: ",")]
                if let property { params["property"] = property; params["limit"] = "50" } else { params["interval"] = interval }
                if !filters.isEmpty { params["filters"] = filters.map(\.text).joined(separator: ";") }
                let req = try StatsAPIRequest.parse(params, timezone: tzName, now: 0)
                let bodies = try engines.map { try $0.statsAPI(req) }
                XCTAssertEqual(bodies[0], bodies[2], "blockRows \(blockRows) query \(qi) \(params): segments vs memory")
                XCTAssertEqual(bodies[0], bodies[1], "blockRows \(blockRows) query \(qi) \(params): 2 vs 1 worker")
                let expected = Reference.statsAPI(records, from: from, to: to, tz: TimeZone(identifier: tzName)!, filters: filters,
                                                  property: property, interval: interval, metrics: metrics,
                                                  limit: property == nil ? .max : 50, offset: 0)
                let results = (try parseJSON(bodies[0]) as! [String: Any])["results"] as! [[String: Any]]
                var diffs: [String] = []
                compareJSON(expected, results, "results", &diffs)
                XCTAssertTrue(diffs.isEmpty, "blockRows \(blockRows) query \(qi) \(params):\n  " + diffs.prefix(8).joined(separator: "\n  "))
                checked += 1
            }
            try store.close()
        }
        XCTAssertEqual(checked, 90)
    }

    /// A series without session metrics is computed from rows (no per-bucket session table); it
    /// must equal the per-bucket session table's pageviews and visitors.
    func testRowLevelSeriesMatchesSessionSeries() throws {
        var rng = SplitMix64(seed: 9)
        for sc in PropertyTests.scenarios {
            let tz = SiteTimeZone(sc.tz)!
            let from = tz.startOfDay(sc.from), to = tz.startOfDay(sc.to.adding(days: 1))
            let records = PropertyTests.randomEvents(&rng, site: "s", from: from, to: to, sessions: 150)
            let engine = QueryEngine(source: InMemoryEventSource(chunksBySite: ["s": makeChunks(records, rng: &rng)]), threads: 2)
            for filters in ["", "page==/blog*", "event_name!=Signup", "country==US"] {
                for interval in ["hour", "day"] {
                    func rows(_ metrics: String) throws -> [[String: Int]] {
                        let r = try StatsAPIRequest.parse(["site_id": "s", "period": "custom", "date_from": sc.from.description,
                                                           "date_to": sc.to.description, "metrics": metrics, "interval": interval,
                                                           "filters": filters], timezone: sc.tz, now: 0)
                        let res = (try parseJSON(try engine.statsAPI(r)) as! [String: Any])["results"] as! [[String: Any]]
                        return res.map { ["visitors": $0["visitors"] as! Int, "pageviews": $0["pageviews"] as! Int] }
                    }
                    XCTAssertEqual(try rows("visitors,pageviews"), try rows("visitors,pageviews,sessions"), "\(sc.tz) \(filters) \(interval)")
                }
            }
        }
    }
}
