import ZTAWorkloads
import Testing
@testable import ZTAFormat

/// Late materialization (`SegmentReader.decodeBlock(_:columns:late:select:)`,
/// `ChunkDecoder.gather`): decoding only some rows gives exactly those rows of a full decode.
@Suite struct LateDecodeTests {
    /// Every encoding and shape, several selections: gather == full decode, picked.
    @Test func gatherMatchesFullDecode() throws {
        var rng = SplitMix64(seed: 0x1A7E)
        for n in [2, 3, 64, 65, 130, 1000, 4099] {
            for (name, raw) in EncodingTests.shapes(n, rng: &rng) {
                let lanes = EncodingTests.fit(raw, .int32)
                for e in ChunkEncoding.allCases {
                    guard let payload = lanes.withUnsafeBufferPointer({ ChunkEncoder.payload(e, $0, kind: .int32) }) else { continue }
                    var full = [UInt32](repeating: 0, count: n)
                    try payload.withUnsafeBytes { p in
                        try full.withUnsafeMutableBufferPointer {
                            try ChunkDecoder.decode(p, encoding: e, count: n, flip: ColumnKind.int32.laneFlip, into: $0.baseAddress!)
                        }
                    }
                    let selections: [[Int32]] = [
                        [], [0], [Int32(n - 1)], (0..<Int32(n)).map { $0 },
                        (0..<Int32(n)).filter { _ in rng.next() % 7 == 0 },
                        (0..<Int32(n)).filter { $0 % 64 == 63 || $0 % 64 == 0 },
                    ]
                    for sel in selections {
                        var got = [UInt32](repeating: 0, count: max(sel.count, 1))
                        try payload.withUnsafeBytes { p in
                            try sel.withUnsafeBufferPointer { s in
                                try got.withUnsafeMutableBufferPointer {
                                    try ChunkDecoder.gather(p, encoding: e, count: n, flip: ColumnKind.int32.laneFlip, rows: s,
                                                            into: $0.baseAddress!)
                                }
                            }
                        }
                        #expect(Array(got.prefix(sel.count)) == sel.map { full[Int($0)] }, "\(name) \(e) n=\(n) selected \(sel.count)")
                    }
                }
            }
        }
    }

    /// A selection out of order or past the rows throws instead of trapping.
    @Test func badSelectionThrows() throws {
        let lanes: [UInt64] = (0..<100).map { $0 % 9 == 0 ? 5 : 0 }
        let payload = try #require(lanes.withUnsafeBufferPointer { ChunkEncoder.payload(.sparse, $0, kind: .uint32) })
        for sel: [Int32] in [[3, 2], [100], [-1], [5, 5]] {
            var out = [UInt32](repeating: 0, count: max(sel.count, 1))
            #expect(throws: FormatError.self) {
                try payload.withUnsafeBytes { p in
                    try sel.withUnsafeBufferPointer { s in
                        try out.withUnsafeMutableBufferPointer {
                            try ChunkDecoder.gather(p, encoding: .sparse, count: 100, flip: 0, rows: s, into: $0.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// A block decoded late equals the full decode gathered at the selected rows, every column.
    @Test func lateBlockEqualsGatheredFullBlock() throws {
        var rng = SplitMix64(seed: 99)
        let chunk = ColumnChunk.from(records: RandomRows.records(3000, rng: &rng))
        let image = try SegmentWriter.encode(chunk.sortedByTimestamp(), site: "site_x", blockRows: 1024)
        try withReader(image) { r in
            for b in 0..<r.blockCount {
                let full = try r.decodeBlock(b, columns: .all)
                let pick: (ColumnChunk) -> [Int32] = { c in
                    (0..<Int32(c.count)).filter { c.type[Int($0)] == EventType.click.rawValue || $0 % 11 == 0 }
                }
                let want = full.gathered(pick(full).map { Int($0) })
                let late = ColumnSet(Column.allCases.filter { $0 != .ts && $0 != .type })
                let got = try r.decodeBlock(b, columns: .all, late: late, select: pick)
                #expect(got.count == want.count)
                #expect(got.ts == want.ts && got.type == want.type && got.x == want.x && got.y == want.y)
                #expect(got.visitor == want.visitor && got.session == want.session)
                #expect(got.timeOnPage == want.timeOnPage && got.scrollDepth == want.scrollDepth && got.importId == want.importId)
                #expect(got.value.map(\.bitPattern) == want.value.map(\.bitPattern))
                for c in StringColumns.all {
                    #expect(got.string(c)?.codes == want.string(c)?.codes, "\(c.wireName)")
                }
            }
        }
    }
}
