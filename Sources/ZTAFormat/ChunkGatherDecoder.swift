/// Late materialization: decoding only some rows of a column chunk.
///
/// A heatmap keeps a few percent of a block's rows (one page's clicks); its `x`, `y`, `element`
/// and `text` chunks are `sparse` (only clicks and moves fill them), so the selected rows can be
/// read through the bitmap's ranks and the listed values, without writing a value for every row.
/// Other encodings are decoded whole into scratch and picked from. Every check of the full
/// decode is kept: a malformed payload throws, never traps.
extension ChunkDecoder {
    /// Writes the values of `rows` (strictly ascending, each `< n`) to `out[0..<rows.count]`.
    static func gather<T: FixedWidthInteger & UnsignedInteger>(
        _ payload: UnsafeRawBufferPointer, encoding: ChunkEncoding, count n: Int, flip: UInt64,
        rows: UnsafeBufferPointer<Int32>, into out: UnsafeMutablePointer<T>
    ) throws {
        var previous = -1
        for r in rows {
            guard Int(r) > previous, Int(r) < n else {
                throw FormatError(.corrupt, "row selection \(r) out of order or past \(n) rows", offset: 0)
            }
            previous = Int(r)
        }
        switch encoding {
        case .constant:
            var r = ByteReader(payload)
            let v = try r.u64("constant")
            guard r.remaining == 0 else { throw FormatError(.corrupt, "\(r.remaining) trailing bytes after const payload", offset: r.position) }
            out.update(repeating: T(truncatingIfNeeded: v ^ flip), count: rows.count)
        case .sparse:
            try gatherSparse(payload, count: n, flip: flip, rows: rows, into: out)
        default:
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(n, 1))
            defer { scratch.deallocate() }
            try decode(payload, encoding: encoding, count: n, flip: flip, into: scratch)
            for (j, r) in rows.enumerated() { out[j] = scratch[Int(r)] }
        }
    }

    /// `gather` of a `sparse` payload: the m listed values are decoded, and a selected row is the
    /// value at its rank among the set bits (or `fill` when its bit is clear).
    private static func gatherSparse<T: FixedWidthInteger & UnsignedInteger>(
        _ payload: UnsafeRawBufferPointer, count n: Int, flip: UInt64,
        rows: UnsafeBufferPointer<Int32>, into out: UnsafeMutablePointer<T>
    ) throws {
        var r = ByteReader(payload)
        let fill = try r.u64("sparse fill")
        let m = Int(try r.u32("sparse listed count"))
        guard m >= 1, m < n else { throw FormatError(.corrupt, "\(m) listed rows of \(n)", offset: r.position - 4) }
        let bitmap = try r.bytes((n + 7) >> 3, "sparse bitmap")
        let valueRaw = try r.u8("sparse value encoding")
        guard let valueEncoding = ChunkEncoding(rawValue: valueRaw) else {
            throw FormatError(.corrupt, "unknown sparse value encoding \(valueRaw)", offset: r.position - 1)
        }
        let values = UnsafeMutablePointer<T>.allocate(capacity: m)
        defer { values.deallocate() }
        try decode(&r, encoding: valueEncoding, count: m, flip: flip, into: values, nested: true)
        guard r.remaining == 0 else { throw FormatError(.corrupt, "\(r.remaining) trailing bytes after sparse payload", offset: r.position) }
        let fillValue = T(truncatingIfNeeded: fill ^ flip)
        // One pass over the bitmap's words: ranks accumulate, and the selected rows of each word
        // are answered from it. The same bitmap checks as the full decode (m bits, none past n).
        var rank = 0
        var k = 0
        var word = 0
        let bytes = bitmap.count
        while word * 8 < bytes {
            let bits = SparseBitmap.word(bitmap, word)
            let rowBase = word * 64
            try SparseBitmap.check(bits, word: word, listedBefore: rank, listed: m, rows: n, offset: r.position)
            while k < rows.count && Int(rows[k]) < rowBase + 64 {
                let bit = UInt64(Int(rows[k]) - rowBase)
                if (bits >> bit) & 1 == 1 {
                    // rank + (set bits below) < rank + popcount(bits) <= m: in range.
                    out[k] = values[rank + (bits & ((1 << bit) &- 1)).nonzeroBitCount]
                } else {
                    out[k] = fillValue
                }
                k += 1
            }
            rank += bits.nonzeroBitCount
            word += 1
        }
        guard rank == m else { throw FormatError(.corrupt, "sparse bitmap lists \(rank) of \(m) rows", offset: r.position) }
    }
}
