import ZTAWorkloads
import Testing
@testable import ZTAFormat

@Suite struct TransformTests {
    func rows(_ c: ColumnChunk) -> [EventRecord] { (0..<c.count).map { c.record(at: $0) } }

    @Test func sortIsStableByTimestamp() {
        var rng = SplitMix64(seed: 21)
        var records = RandomRows.records(500, rng: &rng, extreme: false)
        for i in records.indices { records[i].ts = Int64(rng.next() % 20); records[i].x = Int32(i) }
        let sorted = ColumnChunk.from(records: records).sortedByTimestamp()
        let expected = records.enumerated().sorted { ($0.element.ts, $0.offset) < ($1.element.ts, $1.offset) }.map(\.element)
        #expect(rows(sorted).map(\.x) == expected.map(\.x))
        #expect(rows(sorted).map(\.path) == expected.map(\.path))
        #expect(sorted.ts == sorted.ts.sorted())
    }

    @Test func sortKeepsOnlyFilledColumns() {
        var c = ColumnChunk(count: 3)
        c.ts = [3, 1, 2]
        c.x = [30, 10, 20]
        let s = c.sortedByTimestamp()
        #expect(s.ts == [1, 2, 3] && s.x == [10, 20, 30] && s.y.isEmpty && s.string(.path) == nil)
    }

    @Test func filterKeepsPassingRows() {
        var rng = SplitMix64(seed: 22)
        let records = RandomRows.records(100, rng: &rng, extreme: false)
        let f = ColumnChunk.from(records: records).filtered { $0 % 3 == 0 }
        #expect(f.count == 34)
        #expect(rows(f).map(\.ts) == records.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.ts))
        #expect(rows(f).map(\.text) == records.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.text))
    }

    @Test func concatenationReinternsStrings() throws {
        var rng = SplitMix64(seed: 23)
        let a = RandomRows.records(50, rng: &rng), b = RandomRows.records(70, rng: &rng)
        // b comes from a segment: sorted dictionary with its own codes.
        let segment = try SegmentWriter.encode(ColumnChunk.from(records: b), site: "site_x")
        let decoded = try withReader(segment) { try $0.decodeBlock(0, columns: .all) }
        let joined = ColumnChunk.from(records: a).concatenated(with: decoded)
        #expect(joined.count == 120)
        let got = rows(joined)
        for (g, w) in zip(got, a + b) {
            #expect(g.ts == w.ts && g.visitor == w.visitor && g.path == w.path && g.text == w.text && g.scrollDepth == w.scrollDepth)
        }
        for c in StringColumns.all {
            let d = joined.string(c)!.dictionary
            #expect(!d.isSorted)
            // One entry per distinct byte string, in first-seen order.
            let values = d.values.map { Array($0.utf8) }
            #expect(Set(values).count == values.count, "\(c.wireName) interned once")
            var seen: [[UInt8]] = []
            for code in joined.string(c)!.codes where !seen.contains(values[Int(code)]) { seen.append(values[Int(code)]) }
            #expect(seen == values)
        }
        // "é" precomposed and decomposed are equal Strings but different bytes: both survive.
        var r1 = EventRecord(), r2 = EventRecord()
        r1.path = "é"; r2.path = "e\u{301}"
        let mixed = ColumnChunk.from(records: [r1]).concatenated(with: ColumnChunk.from(records: [r2]))
        #expect(mixed.string(.path)!.dictionary.count == 2)
        // An empty chunk is neutral.
        #expect(rows(ColumnChunk(count: 0).concatenated(with: decoded)).map(\.ts) == b.map(\.ts))
    }
}
