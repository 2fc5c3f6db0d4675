import ZTAWorkloads
import Testing
@testable import ZTAFormat

/// Segment images written from chunks read back to the same rows, column by column.
@Suite struct SegmentRoundTripTests {
    /// Decodes every block of `image` (all columns) and checks it equals `chunk` row for row.
    /// Doubles compare by bit pattern (NaN, -0.0), strings by UTF-8 bytes.
    func expectRoundTrip(_ chunk: ColumnChunk, site: String, blockRows: Int = 65536) throws {
        let image = try SegmentWriter.encode(chunk, site: site, blockRows: blockRows)
        try withReader(image) { r in
            #expect(r.site == site)
            #expect(r.rowCount == chunk.count)
            #expect(r.blockCount == (chunk.count + blockRows - 1) / blockRows)
            if chunk.count > 0 {
                #expect(r.minTs == chunk.ts.first! && r.maxTs == chunk.ts.last!)
            }
            var start = 0
            for b in 0..<r.blockCount {
                let d = try r.decodeBlock(b, columns: .all)
                let rows = start..<(start + d.count)
                #expect(r.blockStats(b).rowCount == d.count)
                #expect(d.ts == Array(chunk.ts[rows]))
                #expect(d.type == Array(chunk.type[rows]))
                #expect(d.visitor == Array(chunk.visitor[rows]))
                #expect(d.session == Array(chunk.session[rows]))
                #expect(d.value.map(\.bitPattern) == chunk.value[rows].map(\.bitPattern))
                #expect(d.timeOnPage == Array(chunk.timeOnPage[rows]))
                #expect(d.x == Array(chunk.x[rows]))
                #expect(d.y == Array(chunk.y[rows]))
                #expect(d.scrollDepth == Array(chunk.scrollDepth[rows]))
                #expect(d.importId == Array(chunk.importId[rows]))
                for c in StringColumns.all {
                    let got = d.string(c)!, want = chunk.string(c)!
                    #expect(got.dictionary.isSorted)
                    let gotValues = got.codes.map { Array(got.dictionary.values[Int($0)].utf8) }
                    let wantValues = want.codes[rows].map { Array(want.dictionary.values[Int($0)].utf8) }
                    #expect(gotValues == wantValues, "column \(c.wireName) block \(b)")
                }
                start += d.count
            }
            #expect(start == chunk.count)
            try r.verify()
            for c in StringColumns.all {
                let values = try r.dictionary(c).values.map { Array($0.utf8) }
                #expect(zip(values, values.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) }, "\(c.wireName) sorted")
            }
        }
    }

    @Test(arguments: [0, 1, 2, 3, 100, 1000])
    func randomRows(n: Int) throws {
        var rng = SplitMix64(seed: UInt64(n) &* 977)
        let chunk = ColumnChunk.from(records: RandomRows.records(n, rng: &rng))
        try expectRoundTrip(chunk, site: "site_x")
        if n > 10 { try expectRoundTrip(chunk, site: "site_x", blockRows: 7) }
    }

    @Test(arguments: [65536, 65537])
    func blockBoundary(n: Int) throws {
        var rng = SplitMix64(seed: UInt64(n))
        let chunk = ColumnChunk.from(records: RandomRows.records(n, rng: &rng, site: "site_🙂", extreme: true))
        try expectRoundTrip(chunk, site: "site_🙂")
    }

    @Test func extremeValuesEveryColumn() throws {
        var records: [EventRecord] = []
        let extremes: [(Int64, UInt64, Double, Int32, Int8, UInt32)] = [
            (Int64.min, 0, .nan, Int32.min, Int8.min, 0),
            (Int64.min, UInt64.max, .infinity, Int32.max, Int8.max, UInt32.max),
            (-1, 1 << 63, -.infinity, -1, -1, 1),
            (0, (1 << 63) - 1, -0.0, 0, 0, 0),
            (Int64.max, UInt64.max, .leastNonzeroMagnitude, 1, 1, UInt32.max),
            (Int64.max, 1, Double(bitPattern: 0x7FF8_0000_DEAD_BEEF), Int32.min, Int8.min, 2),
        ]
        for (i, e) in extremes.enumerated() {
            var r = EventRecord()
            r.ts = e.0; r.site = "s"; r.type = EventType(rawValue: UInt8(i % 7))!
            r.visitor = e.1; r.session = ~e.1; r.value = e.2
            r.timeOnPage = e.3; r.x = e.3; r.y = ~e.3; r.scrollDepth = e.4; r.importId = e.5
            for c in StringColumns.all where c != .site { r.setString(c, RandomRows.strings[(i + Int(c.rawValue)) % RandomRows.strings.count]) }
            records.append(r)
        }
        let chunk = ColumnChunk.from(records: records)
        for blockRows in [1, 2, 4, 6] { try expectRoundTrip(chunk, site: "s", blockRows: blockRows) }
    }

    @Test func subsetDecodeFillsExactlyThoseColumns() throws {
        var rng = SplitMix64(seed: 11)
        let chunk = ColumnChunk.from(records: RandomRows.records(300, rng: &rng))
        let image = try SegmentWriter.encode(chunk, site: "site_x", blockRows: 128)
        try withReader(image) { r in
            for _ in 0..<60 {
                let set = ColumnSet(rawValue: UInt32(truncatingIfNeeded: rng.next()) & ColumnSet.all.rawValue)
                let b = Int(rng.next() % UInt64(r.blockCount))
                let d = try r.decodeBlock(b, columns: set)
                let n = r.blockStats(b).rowCount
                #expect(d.count == n)
                let filled: [Column: Bool] = [
                    .ts: !d.ts.isEmpty, .type: !d.type.isEmpty, .visitor: !d.visitor.isEmpty, .session: !d.session.isEmpty,
                    .value: !d.value.isEmpty, .timeOnPage: !d.timeOnPage.isEmpty, .x: !d.x.isEmpty, .y: !d.y.isEmpty,
                    .scrollDepth: !d.scrollDepth.isEmpty, .importId: !d.importId.isEmpty,
                ]
                for c in Column.allCases {
                    let isFilled = c.kind == .string ? d.string(c) != nil : filled[c]!
                    #expect(isFilled == set.contains(c), "\(c.wireName) in \(set.columns)")
                    if c.kind == .string, let s = d.string(c) { #expect(s.codes.count == n) }
                }
                if set.contains(.ts) { #expect(d.ts == Array(chunk.ts[(b * 128)..<(b * 128 + n)])) }
            }
        }
    }

    @Test func writerRejectsBadInput() throws {
        var rng = SplitMix64(seed: 5)
        let chunk = ColumnChunk.from(records: RandomRows.records(10, rng: &rng))
        var unsorted = chunk
        unsorted.ts.swapAt(0, 9)
        var missing = chunk
        missing.x = []
        for (bad, site) in [(unsorted, "site_x"), (missing, "site_x"), (chunk, "other_site")] {
            #expect(throws: FormatError.self) { try SegmentWriter.encode(bad, site: site) }
        }
        #expect(throws: FormatError.self) { try SegmentWriter.encode(chunk, site: "site_x", blockRows: 0) }
        #expect(throws: FormatError.self) { try SegmentWriter.encode(chunk, site: "site_x", blockRows: 65537) }
    }

    @Test func describeMentionsEveryColumn() throws {
        var rng = SplitMix64(seed: 8)
        let image = try SegmentWriter.encode(ColumnChunk.from(records: RandomRows.records(500, rng: &rng)), site: "site_x", blockRows: 200)
        try withReader(image) { r in
            let text = r.describe()
            for c in Column.allCases { #expect(text.contains(c.wireName)) }
            #expect(text.contains("block 2"))
        }
    }
}
