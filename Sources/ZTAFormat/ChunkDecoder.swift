/// Decodes a column chunk payload (after LZ4) into the column's own width.
///
/// `T` is the unsigned integer of the column's width (UInt8, UInt32 or UInt64); callers bind
/// signed and Double arrays to it. Every read is bounds-checked against the payload, and every
/// length is checked against the row count, so a malformed payload throws instead of trapping.
enum ChunkDecoder {
    static func decode<T: FixedWidthInteger & UnsignedInteger>(
        _ payload: UnsafeRawBufferPointer, encoding: ChunkEncoding, count n: Int, flip: UInt64,
        into out: UnsafeMutablePointer<T>, nested: Bool = false
    ) throws {
        try decode(payload, encoding: encoding, count: n, flip: flip, into: out, nested: nested, codes: nil)
    }

    /// `decode`, also keeping a `dictionary` chunk's distinct values and row codes in `codes`
    /// (left untouched for other encodings).
    static func decode(
        _ payload: UnsafeRawBufferPointer, encoding: ChunkEncoding, count n: Int, flip: UInt64,
        into out: UnsafeMutablePointer<UInt64>, keeping codes: inout BlockCodes?
    ) throws {
        try withUnsafeMutablePointer(to: &codes) { keep in
            try decode(payload, encoding: encoding, count: n, flip: flip, into: out, nested: false, codes: keep)
        }
    }

    /// The distinct values and row codes of a `dictionary` payload of 64-bit lanes, without
    /// expanding a value per row (the codes are still checked against the dictionary).
    static func dictionaryCodes(_ payload: UnsafeRawBufferPointer, count n: Int, flip: UInt64) throws -> BlockCodes {
        var codes: BlockCodes?
        var unused: UInt64 = 0
        try withUnsafeMutablePointer(to: &codes) { keep in
            try decode(payload, encoding: .dictionary, count: n, flip: flip, into: &unused, nested: false, codes: keep, expand: false)
        }
        return codes!
    }

    private static func decode<T: FixedWidthInteger & UnsignedInteger>(
        _ payload: UnsafeRawBufferPointer, encoding: ChunkEncoding, count n: Int, flip: UInt64,
        into out: UnsafeMutablePointer<T>, nested: Bool, codes keep: UnsafeMutablePointer<BlockCodes?>?, expand: Bool = true
    ) throws {
        var r = ByteReader(payload)
        try decode(&r, encoding: encoding, count: n, flip: flip, into: out, nested: nested, codes: keep, expand: expand)
        if r.remaining != 0 {
            throw FormatError(.corrupt, "\(r.remaining) trailing bytes after \(encoding.name) payload", offset: r.position)
        }
    }

    static func decode<T: FixedWidthInteger & UnsignedInteger>(
        _ r: inout ByteReader, encoding: ChunkEncoding, count n: Int, flip: UInt64,
        into out: UnsafeMutablePointer<T>, nested: Bool, codes keep: UnsafeMutablePointer<BlockCodes?>? = nil,
        expand: Bool = true
    ) throws {
        switch encoding {
        case .constant:
            let v = try r.u64("constant")
            out.update(repeating: T(truncatingIfNeeded: v ^ flip), count: n)
        case .plain:
            let width = MemoryLayout<T>.size
            let src = try r.bytes(n * width, "plain values")
            if n > 0 {
                UnsafeMutableRawPointer(out).copyMemory(from: src.baseAddress!, byteCount: n * width)
                #if _endian(big)
                for i in 0..<n { out[i] = T(littleEndian: out[i]) }
                #endif
            }
        case .frameOfReference:
            let base = try r.u64("frame base")
            try BitPacking.read(&r, count: n, base: base ^ flip, into: out)
        case .delta:
            guard n >= 2 else { throw FormatError(.corrupt, "delta encoding of \(n) values", offset: r.position) }
            let first = try r.u64("delta first value")
            let minDelta = try r.u64("delta minimum")
            out[0] = T(truncatingIfNeeded: first ^ flip)
            try BitPacking.read(&r, count: n - 1, base: minDelta, into: out + 1)
            // Prefix sum in T's wrapping arithmetic equals the UInt64 one modulo T's width.
            var acc = out[0]
            for i in 1..<n {
                acc = acc &+ out[i]
                out[i] = acc
            }
        case .runLength:
            let runs = Int(try r.u32("run count"))
            guard runs >= 1, runs <= n else { throw FormatError(.corrupt, "\(runs) runs for \(n) values", offset: r.position - 4) }
            let base = try r.u64("run base")
            let values = UnsafeMutablePointer<T>.allocate(capacity: runs)
            defer { values.deallocate() }
            let lengths = UnsafeMutablePointer<UInt64>.allocate(capacity: runs)
            defer { lengths.deallocate() }
            try BitPacking.read(&r, count: runs, base: base ^ flip, into: values)
            // Lengths are stored minus one; read at full width so no corrupt value can wrap.
            try BitPacking.read(&r, count: runs, base: 0, into: lengths)
            var total = 0
            for k in 0..<runs {
                guard lengths[k] < UInt64(n) else { throw FormatError(.corrupt, "run length \(lengths[k]) + 1 > \(n)", offset: r.position) }
                lengths[k] += 1
                let len = Int(lengths[k])
                total += len
                guard total <= n else { throw FormatError(.corrupt, "runs cover more than \(n) values", offset: r.position) }
            }
            guard total == n else { throw FormatError(.corrupt, "runs cover \(total) of \(n) values", offset: r.position) }
            // Runs are short (a few rows of one session or path): a plain store loop beats a
            // fill call per run. The lengths were validated to sum to n above.
            var i = 0
            for k in 0..<runs {
                let v = values[k]
                let end = i &+ Int(truncatingIfNeeded: lengths[k])
                while i < end {
                    out[i] = v
                    i &+= 1
                }
            }
        case .dictionary:
            guard !nested else { throw FormatError(.corrupt, "nested dictionary encoding", offset: r.position) }
            let d = Int(try r.u32("dictionary size"))
            guard d >= 1, d <= n else { throw FormatError(.corrupt, "dictionary of \(d) values for \(n) rows", offset: r.position - 4) }
            let base = try r.u64("dictionary base")
            let values = UnsafeMutablePointer<T>.allocate(capacity: d)
            defer { values.deallocate() }
            try BitPacking.read(&r, count: d, base: base ^ flip, into: values)
            let codeRaw = try r.u8("code encoding")
            guard let codeEncoding = ChunkEncoding(rawValue: codeRaw) else {
                throw FormatError(.corrupt, "unknown code encoding \(codeRaw)", offset: r.position - 1)
            }
            let codeArray = try [UInt32](unsafeUninitializedCapacity: n) { buf, k in
                try decode(&r, encoding: codeEncoding, count: n, flip: 0, into: buf.baseAddress!, nested: true)
                k = n
            }
            // One pass: each code is clamped into the dictionary for the lookup, and the largest
            // is checked afterwards, so a corrupt code throws without reading out of bounds.
            var maxCode: UInt32 = 0
            let last = UInt32(d - 1)
            codeArray.withUnsafeBufferPointer { codes in
                if expand {
                    for i in 0..<n {
                        let code = codes[i]
                        maxCode = max(maxCode, code)
                        out[i] = values[Int(min(code, last))]
                    }
                } else {
                    for i in 0..<n { maxCode = max(maxCode, codes[i]) }
                }
            }
            guard Int(maxCode) < d else { throw FormatError(.corrupt, "code \(maxCode) outside dictionary of \(d)", offset: r.position) }
            if let keep {
                let lanes = [UInt64](UnsafeBufferPointer(start: UnsafeRawPointer(values).assumingMemoryBound(to: UInt64.self), count: d))
                keep.pointee = BlockCodes(values: lanes, codes: codeArray)
            }
        case .sparse:
            guard !nested else { throw FormatError(.corrupt, "nested sparse encoding", offset: r.position) }
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
            out.update(repeating: T(truncatingIfNeeded: fill ^ flip), count: n)
            // Scatter by set bits, a word at a time; the count must match exactly and no bit may
            // lie past the last row.
            var k = 0
            var word = 0
            let bytes = bitmap.count
            while word * 8 < bytes {
                var bits = SparseBitmap.word(bitmap, word)
                let rowBase = word * 64
                try SparseBitmap.check(bits, word: word, listedBefore: k, listed: m, rows: n, offset: r.position)
                while bits != 0 {
                    out[rowBase &+ bits.trailingZeroBitCount] = values[k]
                    k &+= 1
                    bits &= bits &- 1
                }
                word += 1
            }
            guard k == m else { throw FormatError(.corrupt, "sparse bitmap lists \(k) of \(m) rows", offset: r.position) }
        }
    }
}
