import Testing
import ZTAFormat
import ZTATestSupport
import ZTAWorkloads

/// `ColumnChunkBuilder` must build exactly what `ColumnChunk.from(records:)` builds.
@Suite struct IngestColumnChunkBuilderTests {
    static let vocabulary = ["", "/", "/pricing", "google.com", "Chrome", "désolé", "日本語", "a\u{0}b", "😀",
                             String(repeating: "x", count: 300), "ab", "ba", "abcdefgh", "abcdefghi"]

    static func randomRecords(_ n: Int, seed: UInt64, distinct: Int = 40) -> [EventRecord] {
        var rng = SplitMix64(seed: seed)
        func str() -> String {
            let k = rng.below(distinct)
            return k < vocabulary.count ? vocabulary[k] : "value-\(k)"
        }
        return (0..<n).map { _ in
            var r = EventRecord()
            r.ts = Int64(bitPattern: rng.next() >> 1)
            r.type = EventType(rawValue: UInt8(rng.below(7)))!
            r.visitor = rng.next()
            r.session = rng.next()
            r.value = Double(rng.below(10_000)) / 7
            r.timeOnPage = Int32(rng.below(1000))
            r.x = Int32(truncatingIfNeeded: rng.next())
            r.y = Int32(rng.below(5000))
            r.scrollDepth = Int8(rng.below(101))
            r.importId = UInt32(rng.below(5))
            for c in StringColumns.all { r.setString(c, str()) }
            return r
        }
    }

    static func expectEqual(_ a: ColumnChunk, _ b: ColumnChunk) {
        #expect(a.count == b.count)
        #expect(a.ts == b.ts)
        #expect(a.type == b.type)
        #expect(a.visitor == b.visitor)
        #expect(a.session == b.session)
        #expect(a.value == b.value)
        #expect(a.timeOnPage == b.timeOnPage)
        #expect(a.x == b.x)
        #expect(a.y == b.y)
        #expect(a.scrollDepth == b.scrollDepth)
        #expect(a.importId == b.importId)
        for c in StringColumns.all {
            let x = a.string(c)!, y = b.string(c)!
            #expect(x.codes == y.codes, "\(c)")
            #expect(x.dictionary.values == y.dictionary.values, "\(c)")
            #expect(x.dictionary.isSorted == false)
        }
    }

    @Test func matchesFromRecords() {
        for seed in 1...5 as ClosedRange<UInt64> {
            let records = Self.randomRecords(2_000, seed: seed)
            var b = ColumnChunkBuilder()
            for r in records { b.append(r) }
            #expect(b.count == records.count)
            Self.expectEqual(b.build(), ColumnChunk.from(records: records))
        }
    }

    @Test func bytePathMatchesRecordPath() {
        let records = Self.randomRecords(3_000, seed: 9)
        var a = ColumnChunkBuilder(capacity: 100)
        var b = ColumnChunkBuilder()
        for r in records {
            a.append(r)
            var n = NumericRow()
            n.ts = r.ts; n.type = r.type.rawValue; n.visitor = r.visitor; n.session = r.session
            n.value = r.value; n.timeOnPage = r.timeOnPage; n.x = r.x; n.y = r.y
            n.scrollDepth = r.scrollDepth; n.importId = r.importId
            let bytes = StringColumns.all.map { Array(r.string($0).utf8) }
            // Copy into one buffer so every range points into the same (soon invalid) storage.
            var flat: [UInt8] = bytes.flatMap { $0 }
            flat.withUnsafeMutableBytes { buf in
                var spans: [UnsafeRawBufferPointer] = []
                var o = 0
                for s in bytes {
                    spans.append(UnsafeRawBufferPointer(rebasing: buf[o..<(o + s.count)]))
                    o += s.count
                }
                spans.withUnsafeBufferPointer { b.append(n, strings: $0) }
            }
            flat = []
        }
        Self.expectEqual(a.build(), b.build())
        #expect(b.distinctCount(.path) <= 40)
    }

    @Test func manyDistinctValuesGrowTheTable() {
        var records: [EventRecord] = []
        for i in 0..<50_000 {
            var r = EventRecord()
            r.path = "/p/\(i % 20_011)"
            r.text = "\(i)"
            records.append(r)
        }
        var b = ColumnChunkBuilder()
        for r in records { b.append(r) }
        #expect(b.distinctCount(.path) == 20_011)
        #expect(b.distinctCount(.text) == 50_000)
        Self.expectEqual(b.build(), ColumnChunk.from(records: records))
    }

    @Test func buildIsASnapshotAndRemoveAllStartsOver() {
        let records = Self.randomRecords(500, seed: 3)
        var b = ColumnChunkBuilder()
        for r in records[..<200] { b.append(r) }
        let first = b.build()
        for r in records[200...] { b.append(r) }
        Self.expectEqual(first, ColumnChunk.from(records: Array(records[..<200])))
        Self.expectEqual(b.build(), ColumnChunk.from(records: records))

        for keep in [true, false] {
            var c = b
            c.removeAll(keepingCapacity: keep)
            #expect(c.count == 0)
            #expect(c.distinctCount(.site) == 0)
            for r in records[300...] { c.append(r) }
            Self.expectEqual(c.build(), ColumnChunk.from(records: Array(records[300...])))
        }
        let empty = ColumnChunkBuilder().build()
        #expect(empty.count == 0)
        #expect(empty.string(.path)!.dictionary.count == 0)
    }
}
