/// Proleptic Gregorian calendar arithmetic on day counts since 1970-01-01 (H. Hinnant's
/// `days_from_civil` / `civil_from_days`): no Foundation, no time zone, exact for any Int64 year.
/// Shared by partitioning, import timestamps, query buckets and the workload generator.
public enum CivilDays {
    /// Days since 1970-01-01 of `year-month-day` (month 1...12, day 1...31).
    @inline(__always)
    public static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date `days` after 1970-01-01.
    @inline(__always)
    public static func date(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Whole days since the epoch of a UTC timestamp in ms (floor, also before 1970).
    @inline(__always)
    public static func days(ofMs ms: Int64) -> Int64 {
        ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
    }
}
