import XCTest
import ZTAFormat
import ZTAWorkloads
@testable import ZTAStorage

/// Compaction's streaming k-way merge against the reference it replaced: concatenate the inputs'
/// rows, stable-sort them by ts, encode. The segment must be the same, byte for byte.
final class SegmentMergeTests: XCTestCase {
    private func segment(_ records: [EventRecord], blockRows: Int) throws -> [UInt8] {
        let chunk = ColumnChunk.from(records: records)
        return try SegmentWriter.encode(chunk.gather(chunk.timestampOrder()), site: "site_a", blockRows: blockRows)
    }

    /// Readers over copies of `images` that stay valid until `body` returns.
    private func withReaders<R>(_ images: [[UInt8]], _ body: ([SegmentReader]) throws -> R) throws -> R {
        let buffers = images.map { image -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(image.count, 1), alignment: 16)
            b.copyBytes(from: image)
            return UnsafeMutableRawBufferPointer(rebasing: b[0..<image.count])
        }
        defer { for b in buffers { b.deallocate() } }
        return try body(try buffers.map { try SegmentReader(bytes: UnsafeRawBufferPointer($0), file: "input") })
    }

    private func merged(_ images: [[UInt8]], blockRows: Int) throws -> (bytes: [UInt8], parts: [Int], result: MergedSegment) {
        var bytes: [UInt8] = []
        var parts: [Int] = []
        let result = try withReaders(images) { readers in
            try SegmentMerge.merge(readers, site: "site_a", blockRows: blockRows) { part in
                bytes += part
                parts.append(part.count)
            }
        }
        return (bytes, parts, result)
    }

    func testMergeEqualsStableSortOfTheConcatenation() throws {
        var rng = SplitMix64(seed: 0x5E6_3E76)
        for round in 0..<60 {
            let inputs = 1 + Int(rng.next() % 6)
            var images: [[UInt8]] = []
            var allRows: [[EventRecord]] = []
            for i in 0..<inputs {
                // Few distinct timestamps in some rounds, so rows tie across and within inputs;
                // each input draws from its own slice of the path values, so dictionaries differ.
                var rows = randomEvents(Int(rng.next() % 700), rng: &rng, sites: ["site_a"])
                for k in rows.indices {
                    if round % 2 == 0 { rows[k].ts = 1_767_225_600_000 + Int64(rng.next() % 20) }
                    rows[k].path = "/p\(Int(rng.next() % 40) + i * 7)"
                    rows[k].text = rng.next() % 3 == 0 ? "ünï \(rng.next() % 5)" : ""
                }
                let image = try segment(rows, blockRows: [3, 50, 256, 65_536][Int(rng.next() % 4)])
                images.append(image)
                allRows.append(rows)
            }
            let blockRows = [1, 7, 100, 1_000][Int(rng.next() % 4)]
            // The reference reads the same segments (their row order is what ties keep).
            let decoded = try withReaders(images) { readers in
                try readers.map { r in ColumnChunk.concatenate(try (0..<r.blockCount).map { try r.decodeBlock($0, columns: .all) }) }
            }
            let whole = ColumnChunk.concatenate(decoded)
            let total = allRows.reduce(0) { $0 + $1.count }
            let (bytes, parts, result) = try merged(images, blockRows: blockRows)
            XCTAssertEqual(result.rows, total, "round \(round)")
            XCTAssertEqual(result.bytes, bytes.count, "round \(round)")
            if total == 0 { continue }
            let expected = try SegmentWriter.encode(whole.gather(whole.timestampOrder()), site: "site_a", blockRows: blockRows)
            XCTAssertEqual(bytes, expected, "round \(round): \(inputs) inputs, \(total) rows, blocks of \(blockRows)")
            XCTAssertEqual(result.minTs, whole.ts.min())
            XCTAssertEqual(result.maxTs, whole.ts.max())
            XCTAssertEqual(result.minImport, whole.importId.min())
            // Streamed: a part per block (the first also carries the header), then the tail.
            XCTAssertEqual(parts.count, (total + blockRows - 1) / blockRows + 1, "round \(round)")
        }
    }

    /// Deletion's rewrite: one input and a row filter equals encoding the kept rows afresh (the
    /// dictionaries shrink to the values the kept rows use).
    func testFilteredMergeEqualsEncodingTheKeptRows() throws {
        var rng = SplitMix64(seed: 0xDE1E7E)
        for round in 0..<40 {
            var rows = randomEvents(1 + Int(rng.next() % 900), rng: &rng, sites: ["site_a"])
            for k in rows.indices { rows[k].importId = UInt32(rng.next() % 3); rows[k].path = "/p\(rng.next() % 50)" }
            let image = try segment(rows, blockRows: [5, 64, 65_536][round % 3])
            let drop = UInt32(rng.next() % 3)
            let keep: SegmentMerge.RowFilter = { c in (0..<c.count).filter { c.importId[$0] != drop }.map(Int32.init) }
            let blockRows = [3, 100, 4_096][Int(rng.next() % 3)]
            var bytes: [UInt8] = []
            let (result, counted, decoded) = try withReaders([image]) { r in
                (try SegmentMerge.merge(r, site: "site_a", blockRows: blockRows, keep: keep) { bytes += $0 },
                 try SegmentMerge.keptRows(r[0], keep),
                 ColumnChunk.concatenate(try (0..<r[0].blockCount).map { try r[0].decodeBlock($0, columns: .all) }))
            }
            let kept = decoded.gather(keep(decoded))
            XCTAssertEqual(result.rows, kept.count, "round \(round)")
            XCTAssertEqual(counted, kept.count, "round \(round)")
            if kept.count == 0 { continue }
            XCTAssertEqual(bytes, try SegmentWriter.encode(kept, site: "site_a", blockRows: blockRows), "round \(round)")
        }
    }

    func testUnionOfSortedListsMapsEveryPosition() {
        let lists = [["", "a", "z", "é"], [], ["a", "b", "e\u{301}"], ["", "zz"]]
        let (values, maps) = SegmentMerge.unionOfSorted(lists)
        let expected = Set(lists.flatMap { $0 }.map { Array($0.utf8) }).sorted { $0.lexicographicallyPrecedes($1) }
        XCTAssertEqual(values.map { Array($0.utf8) }, expected)
        for (k, list) in lists.enumerated() {
            for (i, v) in list.enumerated() { XCTAssertEqual(Array(values[Int(maps[k][i])].utf8), Array(v.utf8)) }
        }
    }

    func testAnInputOfAnotherSiteIsRefused() throws {
        var rng = SplitMix64(seed: 7)
        let a = try segment(randomEvents(10, rng: &rng, sites: ["site_a"]), blockRows: 4)
        let chunk = ColumnChunk.from(records: randomEvents(10, rng: &rng, sites: ["site_b"]))
        let b = try SegmentWriter.encode(chunk.gather(chunk.timestampOrder()), site: "site_b", blockRows: 4)
        XCTAssertThrowsError(try merged([a, b], blockRows: 4))
    }
}
