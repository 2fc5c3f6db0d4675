import Foundation
import ZTAFormat

/// A calendar date (proleptic Gregorian), without a time zone.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int, month: Int, day: Int
    public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int64 { CivilDays.days(year: Int64(year), month: Int64(month), day: Int64(day)) }

    /// The date `days` after 1970-01-01.
    public init(daysSinceEpoch z: Int64) {
        let d = CivilDays.date(days: z)
        self.init(year: Int(d.year), month: Int(d.month), day: Int(d.day))
    }

    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + Int64(days)) }

    /// The first day of the month `months` after this date's month.
    public func firstOfMonth(adding months: Int) -> CivilDate {
        let idx = year * 12 + (month - 1) + months
        let y = idx >= 0 ? idx / 12 : (idx - 11) / 12
        return CivilDate(year: y, month: idx - y * 12 + 1, day: 1)
    }

    /// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    public var isoWeekdayIndex: Int {
        let r = (daysSinceEpoch + 3) % 7
        return Int(r < 0 ? r + 7 : r)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// Parses exactly `YYYY-MM-DD` (a real calendar date), else nil.
    public static func parse(_ s: String) -> CivilDate? {
        let u = Array(s.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-") else { return nil }
        guard let y = digits(u, 0, 4), let m = digits(u, 5, 2), let d = digits(u, 8, 2) else { return nil }
        guard m >= 1, m <= 12, d >= 1, d <= daysIn(year: y, month: m) else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

func digits(_ u: [UInt8], _ at: Int, _ n: Int) -> Int? {
    guard at + n <= u.count else { return nil }
    var v = 0
    for i in at..<(at + n) {
        let c = u[i]
        guard c >= 48, c <= 57 else { return nil }
        v = v * 10 + Int(c - 48)
    }
    return v
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

let msPerHour: Int64 = 3_600_000
let msPerDay: Int64 = 86_400_000

/// The site's IANA time zone, with the conversions queries need: UTC offsets, local midnights,
/// local hour starts and RFC 3339 labels. Used once per query to build bucket boundaries,
/// never per row.
public struct SiteTimeZone: Sendable {
    public let identifier: String
    let tz: TimeZone

    /// nil for an unknown IANA name.
    public init?(_ identifier: String) {
        guard let tz = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        self.tz = tz
    }

    /// Offset from UTC in ms at the instant `t` (ms since the epoch).
    public func offset(at t: Int64) -> Int64 {
        Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t) / 1000))) * 1000
    }

    /// Local wall-clock ms (as if UTC) at instant `t`.
    public func local(_ t: Int64) -> Int64 { t + offset(at: t) }

    /// The local calendar date at instant `t`.
    public func date(at t: Int64) -> CivilDate {
        CivilDate(daysSinceEpoch: floorDiv(local(t), msPerDay))
    }

    /// The first instant of the local day `d` (local midnight, or the end of a DST gap that
    /// swallows midnight).
    public func startOfDay(_ d: CivilDate) -> Int64 {
        startOfLocal(d.daysSinceEpoch * msPerDay)
    }

    /// The first instant whose local wall-clock time is `l` (or, inside a gap, the gap's end).
    func startOfLocal(_ l: Int64) -> Int64 {
        var best: Int64? = nil
        // The offsets in force around `l` are among those at these probe instants.
        for probe in [l - 36 * msPerHour, l, l + 36 * msPerHour] {
            let o = offset(at: probe)
            let t = l - o
            if offset(at: t) == o, best.map({ t < $0 }) ?? true { best = t }
        }
        if let best { return best }
        // `l` falls in a gap: the day starts at the transition, between the two candidates.
        var lo = l - offset(at: l - 36 * msPerHour), hi = l - offset(at: l + 36 * msPerHour)
        if lo > hi { swap(&lo, &hi) }
        // Invariant: local(lo) < l ≤ local(hi).
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if local(mid) >= l { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// RFC 3339 local time of instant `t` with its offset, seconds precision (`+00:00`, never `Z`).
    public func rfc3339(_ t: Int64) -> String {
        let o = offset(at: t)
        let l = t + o
        let d = CivilDate(daysSinceEpoch: floorDiv(l, msPerDay))
        let msOfDay = l - floorDiv(l, msPerDay) * msPerDay
        let secs = Int(msOfDay / 1000)
        let om = Int(o.magnitude / 60000)
        return d.description + "T" + pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2)
            + (o < 0 ? "-" : "+") + pad(om / 60, 2) + ":" + pad(om % 60, 2)
    }

    /// The first instant in `(t, limit]` whose offset differs from the offset at `t`, given that
    /// the offset at `limit` differs (at most one change in between, as within an hour).
    func offsetChange(after t: Int64, by limit: Int64) -> Int64 {
        let o = offset(at: t)
        var lo = t, hi = limit
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if offset(at: mid) == o { lo = mid } else { hi = mid }
        }
        return hi
    }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` of instant `t` (api.md `ts`).
func isoUTC(_ t: Int64) -> String {
    var w = [UInt8]()
    appendISOUTC(t, into: &w)
    return String(decoding: w, as: UTF8.self)
}

/// Appends `YYYY-MM-DDTHH:MM:SS.sssZ` without building intermediate strings (export hot path).
func appendISOUTC(_ t: Int64, into w: inout [UInt8]) {
    let days = floorDiv(t, msPerDay)
    let d = CivilDate(daysSinceEpoch: days)
    let ms = t - days * msPerDay
    @inline(__always) func put(_ v: Int, _ n: Int) {
        var div = 1
        for _ in 1..<n { div *= 10 }
        while div > 0 { w.append(UInt8(48 + (v / div) % 10)); div /= 10 }
    }
    put(d.year, 4); w.append(45); put(d.month, 2); w.append(45); put(d.day, 2)
    w.append(84)
    let s = Int(ms / 1000)
    put(s / 3600, 2); w.append(58); put(s / 60 % 60, 2); w.append(58); put(s % 60, 2)
    w.append(46); put(Int(ms % 1000), 3); w.append(90)
}
