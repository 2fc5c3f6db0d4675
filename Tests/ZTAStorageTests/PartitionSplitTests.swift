import XCTest
import ZTAFormat
@testable import ZTAStorage

/// `splitByPartition` against a reference written from its contract: every row goes to the
/// partition (site, UTC `yyyy-mm` of its ts), each partition's rows in ts order (ties in input
/// order), partitions ordered by (site, month).
final class PartitionSplitTests: XCTestCase {
    func testInterleavedSitesAcrossMonthBoundariesMatchTheReference() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<40 {
            let sites = (0..<Int.random(in: 1...5, using: &rng)).map { "site_\($0)" }
            // Around month edges (end of January, of February, of December, of a leap February),
            // a few ms apart, so neighbouring rows of one site fall in different months.
            let edges: [Int64] = [1_706_745_600_000, 1_709_251_200_000, 1_704_067_200_000, 1_582_934_400_000]
            let n = Int.random(in: 1...3_000, using: &rng)
            let records = (0..<n).map { i -> EventRecord in
                var e = EventRecord()
                e.site = sites[Int.random(in: 0..<sites.count, using: &rng)]
                e.ts = edges[Int.random(in: 0..<edges.count, using: &rng)] + Int64.random(in: -5...5, using: &rng)
                if round % 3 == 0 { e.ts = Int64(i) * 3_600_000 * 24 }  // mostly ordered, crossing many months
                e.path = "/\(i)"
                return e
            }
            let chunk = ColumnChunk.from(records: records)
            let split = chunk.splitByPartition()

            var expected: [PartitionKey: [Int]] = [:]
            for (i, e) in records.enumerated() { expected[PartitionKey(site: e.site, ts: e.ts), default: []].append(i) }
            let expectedKeys = expected.keys.sorted()
            XCTAssertEqual(split.map(\.0), expectedKeys, "round \(round)")
            for (key, part) in split {
                let rows = (expected[key] ?? []).sorted { (records[$0].ts, $0) < (records[$1].ts, $1) }
                XCTAssertEqual(part.ts, rows.map { records[$0].ts }, "\(key)")
                let paths = part.string(.path).map { s in s.codes.map { s.dictionary.values[Int($0)] } } ?? []
                XCTAssertEqual(paths, rows.map { records[$0].path }, "\(key)")
                for t in part.ts { XCTAssertEqual(PartitionKey.month(of: t), key.month) }
            }
        }
    }
}
