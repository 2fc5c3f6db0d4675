/// Patched bit-packing ("packed integers" in docs/format.md): n unsigned values stored in w bits
/// each, LSB-first, plus exceptions for the few values wider than w.
///
///     u8    width w (0...64)
///     u32   exception count e
///     bytes ceil(n*w/8) packed low w bits of every value, value i at bit i*w (LSB-first)
///     u32×e exception positions, strictly ascending, each < n
///     u64×e exception high parts: value >> w
///
/// Exceptions let a few outliers (a night-time gap between timestamps, a returning visitor's
/// old dictionary code) keep their full width without widening every value. The writer picks
/// the w that minimises the total size.
enum BitPacking {
    static let exceptionCost = 12

    /// Number of bits needed for `v` (0 for 0).
    @inline(__always)
    static func bitWidth(_ v: UInt64) -> Int { 64 - v.leadingZeroBitCount }

    /// Bytes taken by `n` values of `w` bits.
    @inline(__always)
    static func packedBytes(_ n: Int, _ w: Int) -> Int { (n * w + 7) >> 3 }

    /// The width minimising packed size + exception cost, and the resulting byte size.
    static func chooseWidth(_ values: UnsafeBufferPointer<UInt64>) -> (width: Int, size: Int) {
        var hist = [Int](repeating: 0, count: 65)
        hist.withUnsafeMutableBufferPointer { h in
            for v in values { h[64 - v.leadingZeroBitCount] &+= 1 }
        }
        let n = values.count
        var best = (width: 64, size: 5 + packedBytes(n, 64))
        var above = 0  // values wider than w
        var w = 64
        while w >= 0 {
            let size = 5 + packedBytes(n, w) + above * exceptionCost
            if size < best.size { best = (w, size) }
            if w > 0 { above += hist[w] }
            w -= 1
        }
        return best
    }

    /// Appends the packed form of `values` (see the type comment).
    static func write(_ values: UnsafeBufferPointer<UInt64>, to out: inout ByteWriter) {
        let (w, _) = chooseWidth(values)
        let mask: UInt64 = w == 64 ? ~0 : (1 << UInt64(w)) &- 1
        var exceptions: [Int] = []
        if w < 64 {
            for (i, v) in values.enumerated() where v > mask { exceptions.append(i) }
        }
        out.u8(UInt8(w))
        out.u32(UInt32(exceptions.count))
        if w > 0 {
            let start = out.count
            let nbytes = packedBytes(values.count, w)
            out.bytes.append(contentsOf: repeatElement(0, count: nbytes + 8))
            out.bytes.withUnsafeMutableBytes { raw in
                let base = raw.baseAddress! + start
                var bit = 0
                for v in values {
                    let x = v & mask
                    let byte = bit >> 3, shift = bit & 7
                    // OR into up to 9 bytes: low part via a 64-bit word, spill into the 9th byte.
                    let lo = base.loadUnaligned(fromByteOffset: byte, as: UInt64.self) | (x << UInt64(shift))
                    base.storeBytes(of: lo, toByteOffset: byte, as: UInt64.self)
                    if shift + w > 64 {
                        base.storeBytes(of: base.load(fromByteOffset: byte + 8, as: UInt8.self) | UInt8(truncatingIfNeeded: x >> UInt64(64 - shift)),
                                        toByteOffset: byte + 8, as: UInt8.self)
                    }
                    bit += w
                }
            }
            out.bytes.removeLast(8)  // scratch room for the word-wide ORs above
        }
        for i in exceptions { out.u32(UInt32(i)) }
        for i in exceptions { out.u64(values[i] >> UInt64(w)) }
    }

    /// Reads `n` packed values from `reader`, writing `T(truncatingIfNeeded: base &+ value)` to
    /// `out[0..<n]`. Wrapping arithmetic in `T` gives the same low bits as in UInt64, which lets
    /// narrow columns decode directly into their own width.
    static func read<T: FixedWidthInteger & UnsignedInteger>(
        _ reader: inout ByteReader, count n: Int, base: UInt64, into out: UnsafeMutablePointer<T>
    ) throws {
        let w = Int(try reader.u8("bit width"))
        guard w <= 64 else { throw FormatError(.corrupt, "bit width \(w) > 64", offset: reader.position - 1) }
        let e = Int(try reader.u32("exception count"))
        guard e <= n, e == 0 || w < 64 else { throw FormatError(.corrupt, "\(e) exceptions for \(n) values of width \(w)", offset: reader.position - 4) }
        let packed = try reader.bytes(packedBytes(n, w), "packed values")
        unpack(packed, count: n, width: w, base: base, into: out)
        if e > 0 {
            let positions = try reader.bytes(4 * e, "exception positions")
            let highs = try reader.bytes(8 * e, "exception values")
            var previous = -1
            for k in 0..<e {
                let p = Int(positions.le(4 * k, as: UInt32.self))
                guard p > previous, p < n else {
                    throw FormatError(.corrupt, "exception position \(p) out of order or range", offset: reader.position)
                }
                previous = p
                let high = highs.le(8 * k, as: UInt64.self)
                out[p] = out[p] &+ T(truncatingIfNeeded: high << UInt64(w))
            }
        }
    }

    /// Unpacks `n` values of width `w` from `src` (which holds at least ceil(n*w/8) bytes).
    @inline(__always)
    static func unpack<T: FixedWidthInteger & UnsignedInteger>(
        _ src: UnsafeRawBufferPointer, count n: Int, width w: Int, base: UInt64, into out: UnsafeMutablePointer<T>
    ) {
        if w == 0 {
            out.update(repeating: T(truncatingIfNeeded: base), count: n)
            return
        }
        let mask: UInt64 = w == 64 ? ~0 : (1 << UInt64(w)) &- 1
        let p = src.baseAddress!
        var i = 0
        if w <= 56 {
            // Fast path: one unaligned 64-bit load per value while 8 bytes remain readable.
            let len = src.count
            let tb = T(truncatingIfNeeded: base)
            while i < n {
                let bit = i &* w
                let byte = bit &>> 3
                if byte &+ 8 > len { break }
                let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
                out[i] = tb &+ T(truncatingIfNeeded: (word &>> UInt64(bit & 7)) & mask)
                i &+= 1
            }
        }
        // Tail (and widths above 56): assemble each value from single bytes.
        while i < n {
            let bit = i * w
            var x: UInt64 = 0
            var got = 0
            var byte = bit >> 3
            var shift = bit & 7
            while got < w {
                let b = UInt64(p.load(fromByteOffset: byte, as: UInt8.self)) >> UInt64(shift)
                x |= b << UInt64(got)
                got += 8 - shift
                shift = 0
                byte += 1
            }
            out[i] = T(truncatingIfNeeded: base &+ (x & mask))
            i += 1
        }
    }
}
