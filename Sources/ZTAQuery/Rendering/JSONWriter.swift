/// A small, fast JSON writer into a byte buffer (Foundation's encoder is far too slow for
/// result bodies of thousands of rows). Callers emit tokens in order; commas are automatic.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// True when the next value in the current container needs a leading comma.
    private var needComma = false

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    @inline(__always) private mutating func sep() {
        if needComma { bytes.append(UInt8(ascii: ",")) }
        needComma = true
    }

    mutating func beginObject() { sep(); bytes.append(UInt8(ascii: "{")); needComma = false }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); needComma = true }
    mutating func beginArray() { sep(); bytes.append(UInt8(ascii: "[")); needComma = false }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); needComma = true }

    /// Writes `"name":` — the next value call must follow.
    mutating func key(_ name: String) {
        sep()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needComma = false
    }

    mutating func string(_ s: String) { sep(); appendQuoted(s) }
    mutating func int(_ v: Int) { sep(); appendInt(Int64(v)) }
    mutating func int(_ v: Int64) { sep(); appendInt(v) }
    mutating func uint(_ v: UInt64) { sep(); appendUInt(v) }
    mutating func bool(_ v: Bool) { sep(); bytes.append(contentsOf: v ? Array("true".utf8) : Array("false".utf8)) }
    mutating func null() { sep(); bytes.append(contentsOf: Array("null".utf8)) }

    /// A fixed-point decimal: `fixed(412, decimals: 1)` writes `41.2`, `fixed(0, decimals: 2)` `0.0`.
    /// Trailing zeros are trimmed but one fractional digit is kept, so the value reads as a float.
    mutating func fixed(_ v: Int64, decimals: Int) {
        sep()
        if decimals == 0 { appendInt(v); bytes.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")]); return }
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        let m = v.magnitude
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        appendUInt(m / scale)
        bytes.append(UInt8(ascii: "."))
        var frac = m % scale
        var digits = decimals
        while digits > 1 && frac % 10 == 0 { frac /= 10; digits -= 1 }
        // Left-pad the fraction with zeros to its digit count (e.g. 0.05).
        var tmp = [UInt8](repeating: UInt8(ascii: "0"), count: digits)
        var i = digits - 1
        while frac > 0 && i >= 0 { tmp[i] = UInt8(ascii: "0") + UInt8(frac % 10); frac /= 10; i -= 1 }
        bytes.append(contentsOf: tmp)
    }

    /// A double in its shortest round-trip form (finite values only; others become 0).
    mutating func double(_ v: Double) {
        sep()
        guard v.isFinite else { bytes.append(UInt8(ascii: "0")); return }
        if v == v.rounded(), v.magnitude < 1e15 {
            appendInt(Int64(v))
            bytes.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")])
            return
        }
        bytes.append(contentsOf: Array(v.description.utf8))
    }

    /// Raw, already-encoded JSON (e.g. a pre-rendered fragment).
    mutating func raw(_ b: [UInt8]) { sep(); bytes.append(contentsOf: b) }

    // MARK: - scalars

    @inline(__always) private mutating func appendInt(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        appendUInt(v.magnitude)
    }

    @inline(__always) private mutating func appendUInt(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(ascii: "0") &+ UInt8(v)); return }
        var buf: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ 20 digits
        var n = v
        var len = 0
        withUnsafeMutableBytes(of: &buf) { p in
            while n > 0 { p[23 - len] = UInt8(ascii: "0") &+ UInt8(n % 10); n /= 10; len += 1 }
            bytes.append(contentsOf: p[(24 - len)...])
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var start = 0
            for i in 0..<u.count {
                let c = u[i]
                // Escape quotes, backslashes and control characters; everything else (incl. UTF-8
                // multi-byte sequences) is copied through as-is.
                if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i])) }
                start = i + 1
                switch c {
                case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
                case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              JSONWriter.hex[Int(c >> 4)], JSONWriter.hex[Int(c & 15)]])
                }
            }
            if start < u.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
