import ZTAFormat

/// Byte-level NDJSON output for the workload generator: a reusable buffer, JSON string escaping
/// done once per vocabulary entry, and allocation-free number and timestamp formatting.

/// JSON-escaped strings stored back to back (without quotes), so writing one is a copy.
struct EscapedStrings: Sendable {
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    var count: Int { starts.count - 1 }

    /// Adds `s` escaped as JSON (`asciiOnly` also escapes non-ASCII as `\uXXXX`, with surrogate
    /// pairs above U+FFFF) and returns its index.
    @discardableResult
    mutating func add(_ s: String, asciiOnly: Bool = false) -> Int {
        for scalar in s.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x22: arena += [0x5C, 0x22]
            case 0x5C: arena += [0x5C, 0x5C]
            case 0x0A: arena += [0x5C, 0x6E]
            case 0x0D: arena += [0x5C, 0x72]
            case 0x09: arena += [0x5C, 0x74]
            case 0..<0x20: appendUnicodeEscape(v)
            case 0x80...:
                if asciiOnly {
                    if v >= 0x10000 {
                        let u = v - 0x10000
                        appendUnicodeEscape(0xD800 + (u >> 10))
                        appendUnicodeEscape(0xDC00 + (u & 0x3FF))
                    } else {
                        appendUnicodeEscape(v)
                    }
                } else {
                    arena += Array(String(scalar).utf8)
                }
            default: arena.append(UInt8(v))
            }
        }
        starts.append(arena.count)
        return count - 1
    }

    private mutating func appendUnicodeEscape(_ v: UInt32) {
        let hex = Array("0123456789abcdef".utf8)
        arena += [0x5C, 0x75, hex[Int(v >> 12) & 15], hex[Int(v >> 8) & 15], hex[Int(v >> 4) & 15], hex[Int(v) & 15]]
    }

    @inline(__always)
    func write(_ i: Int, to out: inout LineWriter) {
        let a = starts[i], n = starts[i + 1] - a
        arena.withUnsafeBufferPointer { out.bytes($0.baseAddress! + a, n) }
    }

    func length(_ i: Int) -> Int { starts[i + 1] - starts[i] }
}

/// An output buffer flushed to a sink in blocks of whole lines.
struct LineWriter: ~Copyable {
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0
    /// Flush once this much is buffered; lines are far shorter than `capacity - flushAt`.
    let flushAt: Int

    init(flushAt: Int = 1 << 20) {
        self.flushAt = flushAt
        capacity = flushAt + (64 << 10)
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    var isFull: Bool { count >= flushAt }

    mutating func flush(_ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if count == 0 { return }
        try sink(UnsafeRawBufferPointer(start: buffer, count: count))
        count = 0
    }

    @inline(__always) mutating func byte(_ b: UInt8) {
        buffer[count] = b
        count &+= 1
    }

    @inline(__always) mutating func bytes(_ p: UnsafePointer<UInt8>, _ n: Int) {
        (buffer + count).update(from: p, count: n)
        count &+= n
    }

    @inline(__always) mutating func raw(_ s: StaticString) {
        bytes(s.utf8Start, s.utf8CodeUnitCount)
    }

    /// A decimal integer.
    @inline(__always) mutating func int(_ v0: Int64) {
        var v = v0
        if v < 0 {
            byte(0x2D)
            v = -v
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        let n = withUnsafeMutableBytes(of: &tmp) { t -> Int in
            var i = 24
            repeat {
                i -= 1
                t[i] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
                v /= 10
            } while v > 0
            (buffer + count).update(from: t.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, count: 24 - i)
            return 24 - i
        }
        count &+= n
    }

    /// `n` decimal digits, zero-padded.
    @inline(__always) mutating func digits(_ v: Int, _ n: Int) {
        var v = v
        var i = n
        while i > 0 {
            i -= 1
            buffer[count + i] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
            v /= 10
        }
        count &+= n
    }

    /// Lower-case hex of `v`, all 16 digits.
    @inline(__always) mutating func hex16(_ v: UInt64) { hex(v, 16) }

    @inline(__always) mutating func hex(_ v: UInt64, _ n: Int) {
        var i = n
        var v = v
        while i > 0 {
            i -= 1
            let d = UInt8(truncatingIfNeeded: v & 15)
            buffer[count + i] = d < 10 ? d &+ 0x30 : d &+ 0x57
            v >>= 4
        }
        count &+= n
    }

    /// A UUID-shaped id (8-4-4-4-12 hex) from two 64-bit values.
    @inline(__always) mutating func uuid(_ a: UInt64, _ b: UInt64) {
        hex(a >> 32, 8); byte(0x2D)
        hex((a >> 16) & 0xFFFF, 4); byte(0x2D)
        hex(0x4000 | (a & 0x0FFF), 4); byte(0x2D)
        hex(0x8000 | ((b >> 48) & 0x3FFF), 4); byte(0x2D)
        hex(b & 0xFFFF_FFFF_FFFF, 12)
    }

    /// `cents / 100` with two decimals (`12.30`), or an integer when `cents` is a multiple of 100.
    @inline(__always) mutating func money(_ cents: Int) {
        int(Int64(cents / 100))
        let c = cents % 100
        if c != 0 {
            byte(0x2E)
            digits(c, 2)
        }
    }

    /// `ms` as ISO 8601 in the local time of `offsetMinutes` (`Z` when 0, else `±hh:mm`),
    /// with milliseconds, or without the fraction when `ms` is a whole second and `fraction` is false.
    mutating func isoTimestamp(_ ms: Int64, offsetMinutes: Int, fraction: Bool = true) {
        let local = ms + Int64(offsetMinutes) * 60_000
        let days = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
        let (y, m, d) = LineWriter.civil(fromDays: days)
        let msOfDay = Int(local - days * 86_400_000)
        digits(y, 4); byte(0x2D); digits(m, 2); byte(0x2D); digits(d, 2); byte(0x54)
        digits(msOfDay / 3_600_000, 2); byte(0x3A)
        digits(msOfDay / 60_000 % 60, 2); byte(0x3A)
        digits(msOfDay / 1000 % 60, 2)
        if fraction || msOfDay % 1000 != 0 {
            byte(0x2E)
            digits(msOfDay % 1000, 3)
        }
        if offsetMinutes == 0 {
            byte(0x5A)
        } else {
            byte(offsetMinutes < 0 ? 0x2D : 0x2B)
            let a = abs(offsetMinutes)
            digits(a / 60, 2); byte(0x3A); digits(a % 60, 2)
        }
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let d = CivilDays.date(days: days)
        return (Int(d.year), Int(d.month), Int(d.day))
    }
}
