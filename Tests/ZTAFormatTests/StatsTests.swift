import ZTAWorkloads
import Testing
@testable import ZTAFormat

/// Footer min/max statistics against a naive computation over the input rows.
@Suite struct StatsTests {
    @Test(arguments: [1, 33, 500])
    func blockStatsMatchNaive(blockRows: Int) throws {
        var rng = SplitMix64(seed: UInt64(blockRows))
        let chunk = ColumnChunk.from(records: RandomRows.records(1200, rng: &rng))
        // Rows as the chunk holds them: `from(records:)` interns by String equality, which merges
        // canonically equivalent strings ("é" / "e\u{301}"), so the chunk is the reference.
        let records = (0..<chunk.count).map { chunk.record(at: $0) }
        let image = try SegmentWriter.encode(chunk, site: "site_x", blockRows: blockRows)
        try withReader(image) { r in
            #expect(r.blockCount == (records.count + blockRows - 1) / blockRows)
            for b in 0..<r.blockCount {
                let rows = Array(records[(b * blockRows)..<min(records.count, (b + 1) * blockRows)])
                let s = r.blockStats(b)
                #expect(s.rowCount == rows.count)
                func ints(_ c: Column, _ f: (EventRecord) -> Int64) {
                    #expect(s.min(c) == rows.map(f).min()!, "min \(c.wireName) block \(b)")
                    #expect(s.max(c) == rows.map(f).max()!, "max \(c.wireName) block \(b)")
                }
                ints(.ts) { $0.ts }
                ints(.type) { Int64($0.type.rawValue) }
                ints(.timeOnPage) { Int64($0.timeOnPage) }
                ints(.x) { Int64($0.x) }
                ints(.y) { Int64($0.y) }
                ints(.scrollDepth) { Int64($0.scrollDepth) }
                ints(.importId) { Int64($0.importId) }
                // UInt64 columns: unsigned order, stored bit-cast.
                #expect(UInt64(bitPattern: s.min(.visitor)) == rows.map(\.visitor).min()!)
                #expect(UInt64(bitPattern: s.max(.session)) == rows.map(\.session).max()!)
                // Doubles: bit patterns of the min/max ignoring NaN.
                let finite = rows.map(\.value).filter { !$0.isNaN }
                if !finite.isEmpty {
                    #expect(Double(bitPattern: UInt64(bitPattern: s.min(.value))) == finite.min()!)
                    #expect(Double(bitPattern: UInt64(bitPattern: s.max(.value))) == finite.max()!)
                }
                // Strings: codes whose values are the byte-order extremes of the block.
                for c in StringColumns.all {
                    let dict = try r.dictionary(c).values
                    let bytes = rows.map { Array($0.string(c).utf8) }
                    let lo = bytes.min { $0.lexicographicallyPrecedes($1) }!, hi = bytes.max { $0.lexicographicallyPrecedes($1) }!
                    #expect(Array(dict[Int(s.min(c))].utf8) == lo, "min \(c.wireName) block \(b)")
                    #expect(Array(dict[Int(s.max(c))].utf8) == hi, "max \(c.wireName) block \(b)")
                }
            }
        }
    }
}
