import ZTAFormat

/// Timestamps of import lines (`events.md` §2): ISO 8601 strings and their accepted range.
public enum ImportTimestamp {
    /// 2000-01-01T00:00:00Z, the first accepted `ts` (inclusive).
    public static let minMs: Int64 = 946_684_800_000
    /// 2100-01-01T00:00:00Z, the end of the accepted range (exclusive).
    public static let endMs: Int64 = 4_102_444_800_000

    /// Whether `ms` lies in `[2000-01-01, 2100-01-01)`.
    @inline(__always)
    public static func inRange(_ ms: Int64) -> Bool { ms >= minMs && ms < endMs }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff…]][Z|±HH[:MM]]` to ms since the epoch (UTC).
    /// `T` may also be `t` or a space; a missing offset means UTC; fractional digits beyond
    /// milliseconds are truncated. Returns nil for anything else or an impossible date/time.
    public static func parseISO8601(_ s: String) -> Int64? {
        var s = s
        return s.withUTF8 { parseISO8601(UnsafeRawBufferPointer($0)) }
    }

    /// Byte-level form of `parseISO8601(_:)`.
    public static func parseISO8601(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let n = bytes.count
        guard n >= 16 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int64? {
            let d = bytes[i] &- 0x30
            return d < 10 ? Int64(d) : nil
        }
        @inline(__always) func two(_ i: Int) -> Int64? {
            guard let a = digit(i), let b = digit(i + 1) else { return nil }
            return a * 10 + b
        }
        guard let y1 = two(0), let y2 = two(2), bytes[4] == 0x2D, let month = two(5), bytes[7] == 0x2D,
              let day = two(8), bytes[10] == 0x54 || bytes[10] == 0x74 || bytes[10] == 0x20,
              let hour = two(11), bytes[13] == 0x3A, let minute = two(14)
        else { return nil }
        let year = y1 * 100 + y2
        guard month >= 1, month <= 12, day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59 else { return nil }
        var i = 16
        var second: Int64 = 0
        var millis: Int64 = 0
        if i < n, bytes[i] == 0x3A {
            guard i + 3 <= n, let s = two(i + 1), s <= 59 else { return nil }
            second = s
            i += 3
            if i < n, bytes[i] == 0x2E || bytes[i] == 0x2C {
                i += 1
                var digits = 0
                while i < n, let d = digit(i) {
                    if digits < 3 { millis = millis * 10 + d }
                    digits += 1
                    i += 1
                }
                guard digits > 0 else { return nil }
                if digits == 1 { millis *= 100 } else if digits == 2 { millis *= 10 }
            }
        }
        var offsetMinutes: Int64 = 0
        if i < n {
            let c = bytes[i]
            if c == 0x5A || c == 0x7A {
                i += 1
            } else if c == 0x2B || c == 0x2D {
                guard i + 3 <= n, let oh = two(i + 1), oh <= 23 else { return nil }
                i += 3
                var om: Int64 = 0
                if i < n {
                    if bytes[i] == 0x3A { i += 1 }
                    guard i + 2 <= n, let m = two(i), m <= 59 else { return nil }
                    om = m
                    i += 2
                }
                offsetMinutes = (oh * 60 + om) * (c == 0x2D ? -1 : 1)
            } else {
                return nil
            }
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year, month, day)
        let local = ((days * 24 + hour) * 60 + minute) * 60 + second
        return (local - offsetMinutes * 60) * 1000 + millis
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        CivilDays.days(year: y, month: m, day: d)
    }
}
