/// Patched bit-packing ("packed integers" in docs/format.md): n unsigned values stored in w bits
/// each, LSB-first, plus exceptions for the few values wider than w.
///
///     u8    width w (0...64)
///     u32   exception count e (0 when w = 64)
///     bytes ceil(n*w/8): the low w bits of every value, value i at bit i*w (LSB-first)
///     if e > 0:
///       bytes ceil(e*pw/8): exception positions, strictly ascending, pw = bitWidth(n - 1) bits each
///       u8    width hw of the exception high parts (1...64-w)
///       bytes ceil(e*hw/8): exception high parts, value >> w
///
/// Exceptions let a few outliers (a night-time gap between timestamps, a returning visitor's
/// old dictionary code) keep their full width without widening every value. The writer picks
/// the w that minimises the total size.
enum BitPacking {
    /// Number of bits needed for `v` (0 for 0).
    @inline(__always)
    static func bitWidth(_ v: UInt64) -> Int { 64 - v.leadingZeroBitCount }

    /// Bytes taken by `n` values of `w` bits.
    @inline(__always)
    static func packedBytes(_ n: Int, _ w: Int) -> Int { (n * w + 7) >> 3 }

    /// Bits of an exception position among `n` values.
    @inline(__always)
    static func positionWidth(_ n: Int) -> Int { n <= 1 ? 0 : bitWidth(UInt64(n - 1)) }

    /// The width minimising the packed size including exceptions, and that size in bytes.
    static func chooseWidth(_ values: UnsafeBufferPointer<UInt64>) -> (width: Int, size: Int) {
        var hist = [Int](repeating: 0, count: 65)
        hist.withUnsafeMutableBufferPointer { h in
            for v in values { h[64 - v.leadingZeroBitCount] &+= 1 }
        }
        return chooseWidth(histogram: hist, count: values.count)
    }

    /// `chooseWidth` from a histogram of bit widths (`hist[w]` = values needing exactly w bits),
    /// so callers can size a candidate encoding without materialising its values.
    static func chooseWidth(histogram hist: [Int], count n: Int) -> (width: Int, size: Int) {
        var widest = 64
        while widest > 0 && hist[widest] == 0 { widest -= 1 }
        let pw = positionWidth(n)
        var best = (width: widest, size: 5 + packedBytes(n, widest))
        var above = 0  // values wider than w
        var w = widest
        while w >= 0 {
            let size = 5 + packedBytes(n, w) + (above > 0 ? 1 + packedBytes(above, pw) + packedBytes(above, widest - w) : 0)
            if size < best.size { best = (w, size) }
            if w > 0 { above += hist[w] }
            w -= 1
        }
        return best
    }

    /// Appends `values` at exactly `w` bits each (no exceptions: values are masked to `w` bits).
    /// Bits gather in a register and leave as whole little-endian words: one store per 64 bits,
    /// instead of a load-OR-store per value.
    static func pack(_ values: UnsafeBufferPointer<UInt64>, width w: Int, to out: inout ByteWriter) {
        guard w > 0, !values.isEmpty else { return }
        let n = values.count
        let start = out.count
        let size = packedBytes(n, w)
        // Room for whole-word stores past the end; trimmed below.
        out.bytes.append(contentsOf: repeatElement(0, count: size + 8))
        let mask: UInt64 = w == 64 ? ~0 : (1 &<< UInt64(w)) &- 1
        let width = UInt64(w)
        out.bytes.withUnsafeMutableBytes { raw in
            var p = raw.baseAddress! + start
            var acc: UInt64 = 0
            var bits: UInt64 = 0  // bits held in acc, always < 64 between values
            for v in values {
                let x = v & mask
                acc |= x &<< bits
                bits &+= width
                if bits >= 64 {
                    p.storeBytes(of: acc.littleEndian, as: UInt64.self)
                    p += 8
                    bits &-= 64
                    // The high part of x that did not fit (none when it ended exactly on the word).
                    acc = bits == 0 ? 0 : x &>> (width &- bits)
                }
            }
            if bits > 0 { p.storeBytes(of: acc.littleEndian, as: UInt64.self) }
        }
        out.bytes.removeLast(out.count - start - size)
    }

    /// Appends the patched form of `values` (see the type comment).
    static func write(_ values: UnsafeBufferPointer<UInt64>, to out: inout ByteWriter) {
        let n = values.count
        let (w, _) = chooseWidth(values)
        let mask: UInt64 = w == 64 ? ~0 : (1 << UInt64(w)) &- 1
        var exceptions: [Int] = []
        if w < 64 {
            for (i, v) in values.enumerated() where v > mask { exceptions.append(i) }
        }
        out.u8(UInt8(w))
        out.u32(UInt32(exceptions.count))
        pack(values, width: w, to: &out)
        if !exceptions.isEmpty {
            let positions = exceptions.map { UInt64($0) }
            positions.withUnsafeBufferPointer { pack($0, width: positionWidth(n), to: &out) }
            let highs = exceptions.map { values[$0] >> UInt64(w) }
            let hw = bitWidth(highs.max()!)
            out.u8(UInt8(hw))
            highs.withUnsafeBufferPointer { pack($0, width: hw, to: &out) }
        }
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
        guard e > 0 else { return }
        let pw = positionWidth(n)
        let positionBytes = try reader.bytes(packedBytes(e, pw), "exception positions")
        let hw = Int(try reader.u8("exception width"))
        guard hw >= 1, hw <= 64 - w else { throw FormatError(.corrupt, "exception width \(hw) with base width \(w)", offset: reader.position - 1) }
        let highBytes = try reader.bytes(packedBytes(e, hw), "exception values")
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * e)
        defer { scratch.deallocate() }
        unpack(positionBytes, count: e, width: pw, base: 0, into: scratch)
        unpack(highBytes, count: e, width: hw, base: 0, into: scratch + e)
        var previous = -1
        for k in 0..<e {
            let p = Int(scratch[k])
            guard p > previous, p < n else {
                throw FormatError(.corrupt, "exception position \(p) out of order or range", offset: reader.position)
            }
            previous = p
            out[p] = out[p] &+ T(truncatingIfNeeded: scratch[e + k] << UInt64(w))
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
        } else if w == 64 {
            // Full-width values (64-bit ids): plain little-endian words.
            let tb = T(truncatingIfNeeded: base)
            while i < n {
                out[i] = tb &+ T(truncatingIfNeeded: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i &<< 3, as: UInt64.self)))
                i &+= 1
            }
        } else {
            // 57...63 bits: a value spans at most 9 bytes, so one word plus the next byte's bits.
            let len = src.count
            let tb = T(truncatingIfNeeded: base)
            while i < n {
                let bit = i &* w
                let byte = bit &>> 3
                if byte &+ 9 > len { break }
                let shift = UInt64(bit & 7)
                let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
                let next = UInt64(p.load(fromByteOffset: byte &+ 8, as: UInt8.self))
                // For shift 0 the next byte is not needed (w <= 63 < 64 bits of word); the mask drops it.
                let hi = shift == 0 ? 0 : next &<< (64 &- shift)
                out[i] = tb &+ T(truncatingIfNeeded: ((word &>> shift) | hi) & mask)
                i &+= 1
            }
        }
        // Tail (and widths above 56 near the end): assemble each value from single bytes.
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
