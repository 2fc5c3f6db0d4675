import Dispatch

/// Writes a segment image: header, blocks of column chunks, dictionaries, footer, trailer.
/// (`SegmentBuilder` does the writing; this builds the dictionaries of one in-memory chunk.)
public enum SegmentWriter {
    /// Encodes rows of one site (chunk MUST hold every column and be sorted by ts) into a
    /// complete segment image.
    ///
    /// Throws `FormatError(.corrupt)` when the input breaks that contract: a missing column, ts
    /// out of order, a row of another site, or a block size outside 1...65536.
    public static func encode(_ chunk: ColumnChunk, site: String, blockRows: Int = 65536) throws -> [UInt8] {
        try validate(chunk, site: site, blockRows: blockRows)
        let n = chunk.count

        // Segment dictionaries (sorted by bytes) and the chunk-code → segment-code maps.
        // Columns are independent: build dictionaries and encode chunks on every core.
        let built = ParallelSlots<([[UInt8]], [UInt32])>(count: StringColumns.count)
        DispatchQueue.concurrentPerform(iterations: StringColumns.count) { k in
            let c = StringColumns.all[k]
            let data = chunk.string(c) ?? StringColumnData(codes: [], dictionary: StringDictionary(values: [], isSorted: true))
            built[k] = SegmentDictionaryCodec.build(data)
        }
        var remaps = [[UInt32]?](repeating: nil, count: Column.allCases.count)
        var dictValues: [[[UInt8]]] = []
        for (k, c) in StringColumns.all.enumerated() {
            guard let (values, remap) = built[k] else { throw FormatError(.corrupt, "segment input: \(c.wireName) dictionary not built") }
            remaps[Int(c.rawValue)] = remap
            dictValues.append(values)
        }

        var builder = try SegmentBuilder(site: site, blockRows: blockRows, dictionaries: dictValues, capacity: n * 8 + 4096)
        var start = 0
        while start < n {
            let end = min(n, start + blockRows)
            builder.encodeBlock(chunk, start..<end, remaps: remaps)
            start = end
        }
        try builder.finish()
        return builder.drain()
    }

    static func validate(_ chunk: ColumnChunk, site: String, blockRows: Int) throws {
        func bad(_ m: String) -> FormatError { FormatError(.corrupt, "segment input: " + m) }
        guard (1...SegmentFormat.defaultBlockRows).contains(blockRows) else { throw bad("block size \(blockRows) outside 1...65536") }
        guard site.utf8.count <= Int(UInt16.max) else { throw bad("site id longer than 65535 bytes") }
        let n = chunk.count
        let counts: [(String, Int)] = [
            ("ts", chunk.ts.count), ("type", chunk.type.count), ("visitor", chunk.visitor.count),
            ("session", chunk.session.count), ("value", chunk.value.count), ("time_on_page", chunk.timeOnPage.count),
            ("x", chunk.x.count), ("y", chunk.y.count), ("scroll_depth", chunk.scrollDepth.count), ("import", chunk.importId.count),
        ]
        for (name, count) in counts where count != n { throw bad("column \(name) has \(count) values for \(n) rows") }
        for c in StringColumns.all {
            guard let s = chunk.string(c) else {
                if n == 0 { continue }
                throw bad("string column \(c.wireName) missing")
            }
            guard s.codes.count == n else { throw bad("column \(c.wireName) has \(s.codes.count) codes for \(n) rows") }
            let d = UInt32(s.dictionary.count)
            for code in s.codes where code >= d { throw bad("column \(c.wireName) code \(code) outside its dictionary") }
        }
        for i in 1..<max(n, 1) where chunk.ts[i] < chunk.ts[i - 1] { throw bad("ts not sorted at row \(i)") }
        if n > 0, let s = chunk.string(.site) {
            for code in Set(s.codes) where !s.dictionary.values[Int(code)].utf8.elementsEqual(site.utf8) {
                throw bad("row of site \(s.dictionary.values[Int(code)]) in a segment of \(site)")
            }
        }
    }
}

/// One result slot per parallel iteration; each iteration writes only its own slot, and the
/// slots are read after `concurrentPerform` returns (its barrier orders the accesses).
final class ParallelSlots<T>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<T?>
    let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    subscript(k: Int) -> T? {
        get { slots[k] }
        set { slots[k] = newValue }
    }
}
