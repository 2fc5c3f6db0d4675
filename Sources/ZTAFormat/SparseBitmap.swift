/// The row bitmap of a `sparse` chunk (docs/format.md): bit i set ⇔ row i is listed, LSB-first,
/// ⌈n/8⌉ bytes. Read a 64-row word at a time by both the full decode (scatter) and the gather at
/// picked rows, which must accept and refuse exactly the same bitmaps.
enum SparseBitmap {
    /// Word `word` (rows `64·word ..< 64·word + 64`), zero-padded past the bitmap's last byte.
    @inline(__always)
    static func word(_ bitmap: UnsafeRawBufferPointer, _ word: Int) -> UInt64 {
        let at = word * 8
        if at + 8 <= bitmap.count {
            return bitmap.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian
        }
        var bits: UInt64 = 0
        for j in at..<bitmap.count { bits |= UInt64(bitmap[j]) << UInt64((j - at) * 8) }
        return bits
    }

    /// Refuses a word that would list more than `m` rows in all (`before` are listed in earlier
    /// words) or a row at or past `n`.
    @inline(__always)
    static func check(_ bits: UInt64, word: Int, listedBefore before: Int, listed m: Int, rows n: Int, offset: Int) throws(FormatError) {
        guard before + bits.nonzeroBitCount <= m, bits == 0 || word * 64 + 63 - bits.leadingZeroBitCount < n else {
            throw FormatError(.corrupt, "sparse bitmap does not match \(m) listed rows of \(n)", offset: offset)
        }
    }
}
