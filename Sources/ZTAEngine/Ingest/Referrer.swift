/// Referrer normalisation of `events.md` §6.16: lower-case, no leading `www.`.
public enum Referrer {
    /// The stored form of an imported referrer: ASCII letters lower-cased (host names are ASCII;
    /// other bytes are kept as they are), then one leading `www.` removed.
    public static func normalized(_ referrer: String) -> String {
        var bytes = Array(referrer.utf8)
        let n = bytes.withUnsafeMutableBytes { normalize(in: $0) }
        return String(decoding: bytes[(bytes.count - n)...], as: UTF8.self)
    }

    /// Normalises `bytes` in place and returns the length of the result, which is the tail of
    /// the buffer (`bytes.count - result` leading bytes are dropped).
    @inline(__always)
    static func normalize(in bytes: UnsafeMutableRawBufferPointer) -> Int {
        for i in 0..<bytes.count {
            let b = bytes[i]
            if b &- 0x41 < 26 { bytes[i] = b | 0x20 }
        }
        if bytes.count >= 4, bytes[0] == 0x77, bytes[1] == 0x77, bytes[2] == 0x77, bytes[3] == 0x2E {
            return bytes.count - 4
        }
        return bytes.count
    }

    /// Whether `normalize` would change the bytes (most referrers are already normal).
    @inline(__always)
    static func needsNormalizing(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count >= 4, bytes[0] | 0x20 == 0x77, bytes[1] | 0x20 == 0x77, bytes[2] | 0x20 == 0x77, bytes[3] == 0x2E {
            return true
        }
        for b in bytes where b &- 0x41 < 26 { return true }
        return false
    }
}
