/// The half-open query window `[from, to)` of api.md §4, with what responses echo about it.
public struct TimeWindow: Sendable {
    /// ms since the epoch, UTC.
    public var from: Int64
    public var to: Int64
    /// The period name (`7d`, `custom`, …).
    public var period: String
    public var timeZone: SiteTimeZone
    /// The inclusive custom dates, when the period is `custom`.
    public var customFrom: CivilDate?
    public var customTo: CivilDate?
}

/// Bucket size of a time series (api.md §4).
public enum Interval: String, Sendable {
    case hour, day, week, month

    static func parse(_ s: String) throws(QueryError) -> Interval {
        guard let i = Interval(rawValue: s) else { throw QueryError("Invalid interval") }
        return i
    }

    /// api.md §4 defaults: hour for 24h/day, month for 6mo/12mo, else day.
    static func defaultFor(period: String) -> Interval {
        switch period {
        case "24h", "day": .hour
        case "6mo", "12mo": .month
        default: .day
        }
    }
}

/// Period names and window resolution (api.md §4).
enum Periods {
    static let statsAPINames = ["realtime", "24h", "day", "7d", "30d", "90d", "365d", "6mo", "12mo", "custom"]
    static let dashboardNames = ["24h", "day", "7d", "30d", "90d", "365d", "6mo", "12mo", "custom"]

    /// How the custom bounds are named and reported in errors.
    enum Style { case statsAPI, dashboard }

    /// Resolves period params to a window. `params` holds the raw query parameters.
    static func resolve(_ params: [String: String], style: Style, defaultPeriod: String,
                        allowRealtime: Bool, tz: SiteTimeZone, now: Int64) throws(QueryError) -> TimeWindow {
        let fromKey = style == .statsAPI ? "date_from" : "startDate"
        let toKey = style == .statsAPI ? "date_to" : "endDate"
        let names = allowRealtime ? statsAPINames : dashboardNames
        let fromRaw = params[fromKey].flatMap { $0.isEmpty ? nil : $0 }
        let toRaw = params[toKey].flatMap { $0.isEmpty ? nil : $0 }
        var period = params["period"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPeriod

        if style == .dashboard {
            // startDate/endDate override `period`; one alone is an error.
            if fromRaw != nil || toRaw != nil {
                guard fromRaw != nil, toRaw != nil else { throw QueryError("Both startDate and endDate are required") }
                period = "custom"
            } else {
                guard names.contains(period) else { throw invalidPeriod(names) }
                if period == "custom" { throw QueryError("Both startDate and endDate are required") }
            }
        } else {
            // No `period` means the default (7d) even when date_from/date_to are present: they are
            // read only for `custom` (api.md §4, §6).
            guard names.contains(period) else { throw invalidPeriod(names) }
            if period == "custom", fromRaw == nil || toRaw == nil {
                throw QueryError("date_from and date_to are required for custom period")
            }
        }

        var customFrom = CivilDate(daysSinceEpoch: 0), customTo = CivilDate(daysSinceEpoch: 0)
        if period == "custom" {
            guard let fromRaw, let toRaw, let f = parseBound(fromRaw), let t = parseBound(toRaw) else {
                throw QueryError("Invalid date format. Use YYYY-MM-DD")
            }
            guard f <= t else {
                throw QueryError(style == .statsAPI ? "date_from must not be after date_to" : "startDate must not be after endDate")
            }
            customFrom = f; customTo = t
        }

        var ref = now
        if let d = params["date"], !d.isEmpty {
            guard let r = parseReference(d, tz: tz) else { throw QueryError("Invalid date reference") }
            ref = r
        }
        let today = tz.date(at: ref)
        let from: Int64, to: Int64
        switch period {
        case "custom":
            from = tz.startOfDay(customFrom)
            to = tz.startOfDay(customTo.adding(days: 1))
        case "realtime":
            from = ref - 5 * 60_000
            to = ref
        case "24h":
            let l = tz.local(ref)
            let h = ref - (l - floorDiv(l, msPerHour) * msPerHour)
            from = h - 23 * msPerHour
            to = h + msPerHour
        case "day":
            from = tz.startOfDay(today)
            to = tz.startOfDay(today.adding(days: 1))
        case "7d", "30d", "90d", "365d":
            let n = Int(period.dropLast()) ?? 7
            from = tz.startOfDay(today.adding(days: -(n - 1)))
            to = tz.startOfDay(today.adding(days: 1))
        case "6mo", "12mo":
            let n = Int(period.dropLast(2)) ?? 6
            from = tz.startOfDay(today.firstOfMonth(adding: -(n - 1)))
            to = tz.startOfDay(today.firstOfMonth(adding: 1))
        default:
            throw invalidPeriod(names)
        }
        // The bounds only of a custom period (stats-api echoes `date_from`/`date_to` for it alone).
        let custom = period == "custom"
        return TimeWindow(from: from, to: to, period: period, timeZone: tz,
                          customFrom: custom ? customFrom : nil, customTo: custom ? customTo : nil)
    }

    static func invalidPeriod(_ names: [String]) -> QueryError {
        QueryError("Invalid period. Must be one of: " + names.joined(separator: ", "))
    }

    /// A custom bound: `YYYY-MM-DD` within 2000-01-01 … 2099-12-31.
    static func parseBound(_ s: String) -> CivilDate? {
        guard let d = CivilDate.parse(s), d.year >= 2000, d.year <= 2099 else { return nil }
        return d
    }

    /// The `date` reference: a local date (now = its last ms) or an RFC 3339 timestamp with offset.
    static func parseReference(_ s: String, tz: SiteTimeZone) -> Int64? {
        if let d = CivilDate.parse(s) { return tz.startOfDay(d.adding(days: 1)) - 1 }
        return parseRFC3339(s)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → ms since the epoch.
    static func parseRFC3339(_ s: String) -> Int64? {
        let u = Array(s.utf8)
        guard u.count >= 20, let d = CivilDate.parse(String(decoding: u[0..<10], as: UTF8.self)) else { return nil }
        guard u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: "t") || u[10] == UInt8(ascii: " "),
              u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"),
              let hh = digits(u, 11, 2), let mm = digits(u, 14, 2), let ss = digits(u, 17, 2),
              hh < 24, mm < 60, ss < 61 else { return nil }
        var i = 19
        var ms: Int64 = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            let start = i
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                ms += Int64(u[i] - 48) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        guard i < u.count else { return nil }
        var offset: Int64 = 0
        if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
            guard i + 1 == u.count else { return nil }
        } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            guard u.count == i + 6, u[i + 3] == UInt8(ascii: ":"), let oh = digits(u, i + 1, 2), let om = digits(u, i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offset = Int64(oh * 60 + om) * 60_000 * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        } else { return nil }
        let local = d.daysSinceEpoch * msPerDay + Int64(hh * 3600 + mm * 60 + min(ss, 59)) * 1000 + ms
        return local - offset
    }
}

/// Time-series buckets: `boundaries[i] ..< boundaries[i+1]` is bucket `i`, labelled `labels[i]`.
public struct Bucketing: Sendable {
    public var interval: Interval
    public var boundaries: [Int64]
    public var labels: [String]
    public var count: Int { labels.count }
    /// Whether the buckets are the calendar units of `interval` in the window's time zone (as
    /// `make` builds them); false for hand-made boundaries (e.g. `summaries`' windows and fillers),
    /// which a store that computes buckets from calendar functions must treat as plain ranges.
    package var calendar = true

    static let maxBuckets = 5000

    /// One bucket per calendar unit of the site time zone intersecting the window, clipped to it.
    static func make(_ w: TimeWindow, interval: Interval) throws(QueryError) -> Bucketing {
        let tz = w.timeZone
        var bounds: [Int64] = [w.from]
        var labels: [String] = []
        if w.from >= w.to { return Bucketing(interval: interval, boundaries: [w.from, w.to], labels: []) }
        switch interval {
        case .hour:
            var t = w.from
            while t < w.to {
                labels.append(tz.rfc3339(t))
                let o = tz.offset(at: t)
                let l = t + o
                var next = (floorDiv(l, msPerHour) + 1) * msPerHour - o
                if tz.offset(at: next) != o {
                    // A transition inside this hour: the next bucket starts at the transition if that
                    // is a local hour start, else at the next local hour start after it.
                    let change = tz.offsetChange(after: t, by: next)
                    let o2 = tz.offset(at: change)
                    let l2 = change + o2
                    let rem = l2 - floorDiv(l2, msPerHour) * msPerHour
                    next = rem == 0 ? change : change + (msPerHour - rem)
                }
                t = min(next, w.to)
                bounds.append(t)
                if labels.count > maxBuckets { throw QueryError("Too many buckets for this interval") }
            }
        case .day, .week, .month:
            let first = tz.date(at: w.from)
            var unit: CivilDate
            switch interval {
            case .week: unit = first.adding(days: -first.isoWeekdayIndex)
            case .month: unit = CivilDate(year: first.year, month: first.month, day: 1)
            default: unit = first
            }
            var start = w.from
            while start < w.to {
                let nextUnit: CivilDate
                switch interval {
                case .week: nextUnit = unit.adding(days: 7)
                case .month: nextUnit = unit.firstOfMonth(adding: 1)
                default: nextUnit = unit.adding(days: 1)
                }
                labels.append(unit.description)
                let end = min(tz.startOfDay(nextUnit), w.to)
                bounds.append(end)
                start = end
                unit = nextUnit
                if labels.count > maxBuckets { throw QueryError("Too many buckets for this interval") }
            }
        }
        return Bucketing(interval: interval, boundaries: bounds, labels: labels)
    }

    /// The bucket of `t` (which must lie in `[boundaries.first, boundaries.last)`), by binary search.
    @inline(__always)
    static func find(_ t: Int64, _ b: UnsafePointer<Int64>, _ n: Int) -> Int {
        var lo = 0, hi = n  // bucket index in [lo, hi)
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if b[mid] <= t { lo = mid } else { hi = mid }
        }
        return lo
    }
}
