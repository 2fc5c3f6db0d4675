import Foundation
import ZTAFormat
@testable import ZTAQuery

/// A naive, row-at-a-time evaluator written straight from events.md §3 and §6, independent of
/// the engine's kernels (own glob matcher, own bucket generation via Foundation `Calendar`,
/// own rounding via `Decimal`). Property tests compare the engine against it.
enum Reference {
    // MARK: matching

    /// Glob match by recursion over bytes (`*` = any run, incl. empty).
    static func glob(_ p: [UInt8], _ v: [UInt8]) -> Bool {
        if p.isEmpty { return v.isEmpty }
        if p[0] == UInt8(ascii: "*") {
            for k in 0...v.count where glob(Array(p.dropFirst()), Array(v[k...])) { return true }
            return false
        }
        return !v.isEmpty && v[0] == p[0] && glob(Array(p.dropFirst()), Array(v.dropFirst()))
    }

    /// A filter spec as the tests generate it: property, negation, raw patterns (stars literal as `*`,
    /// no escapes — the generator never emits a literal star).
    struct FilterSpec {
        var property: String
        var negated: Bool
        var patterns: [String]
        var text: String {
            property + (negated ? "!=" : "==") + patterns.map { $0.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: ";", with: "\\;").replacingOccurrences(of: "|", with: "\\|") }.joined(separator: "|")
        }
        func matches(_ value: String) -> Bool {
            let any = patterns.contains { p in
                if property == "source" && p == "(direct)" { return value.isEmpty }
                return glob(Array(p.utf8), Array(value.utf8))
            }
            return any != negated
        }
        var sessionLevel: Bool { property != "page" && property != "event_name" }
    }

    static func value(_ r: EventRecord, _ property: String) -> String {
        switch property {
        case "page", "entry_page": r.path
        case "source", "referrer": r.referrer
        case "channel": r.channel
        case "country": r.country
        case "region": r.region
        case "device": r.device
        case "browser": r.browser
        case "os": r.os
        case "utm_source": r.utmSource
        case "utm_medium": r.utmMedium
        case "utm_campaign": r.utmCampaign
        case "event_name": r.name
        default: fatalError(property)
        }
    }

    // MARK: evaluation of one interval

    struct Session {
        var rows: [EventRecord] = []
        var entry: EventRecord?
        var pv = 0, ev = 0
        var minTs = Int64.max, maxTs = Int64.min
        func value(_ p: String) -> String {
            if let e = entry { return Reference.value(e, p) }
            return p == "channel" ? "direct" : ""
        }
        var bounce: Bool { pv == 1 && ev == 0 }
    }

    struct Acc {
        var pageviews = 0, events = 0, sessions = 0, bounces = 0
        var visitors = Set<UInt64>()
        var durMs: Int64 = 0, spv = 0, engSum: Int64 = 0, engCnt = 0
    }

    /// Per group value (nil property = one group ""), the aggregates of interval [from, to).
    static func evaluate(_ all: [EventRecord], from: Int64, to: Int64, filters: [FilterSpec], property: String?) -> [String: Acc] {
        let rows = all.filter { $0.ts >= from && $0.ts < to }
        var sessions: [UInt64: Session] = [:]
        for r in rows {
            var s = sessions[r.session] ?? Session()
            s.rows.append(r)
            s.minTs = min(s.minTs, r.ts); s.maxTs = max(s.maxTs, r.ts)
            if r.type == .pageview {
                s.pv += 1
                if let e = s.entry {
                    if r.ts < e.ts || (r.ts == e.ts && r.path.utf8.lexicographicallyPrecedes(e.path.utf8)) { s.entry = r }
                } else { s.entry = r }
            }
            if r.type == .event { s.ev += 1 }
            sessions[r.session] = s
        }
        func kept(_ r: EventRecord, _ s: Session) -> Bool {
            filters.allSatisfy { f in f.sessionLevel ? f.matches(s.value(f.property)) : f.matches(value(r, f.property)) }
        }
        var groups: [String: Acc] = [:]
        for (_, s) in sessions {
            let keptRows = s.rows.filter { kept($0, s) }
            let counted = keptRows.contains { $0.type == .pageview || $0.type == .event }
            let keptPv = keptRows.filter { $0.type == .pageview }.count
            func addSession(_ g: String) {
                var a = groups[g] ?? Acc()
                a.sessions += 1
                a.bounces += s.bounce ? 1 : 0
                a.durMs += s.maxTs - s.minTs
                a.spv += keptPv
                groups[g] = a
            }
            func addRow(_ g: String, _ r: EventRecord) {
                var a = groups[g] ?? Acc()
                if r.type == .pageview { a.pageviews += 1 }
                if r.type == .event { a.events += 1 }
                if r.type == .pageview || r.type == .event { a.visitors.insert(r.visitor) }
                if r.type == .engagement && r.timeOnPage > 0 { a.engSum += Int64(r.timeOnPage); a.engCnt += 1 }
                groups[g] = a
            }
            switch property {
            case nil:
                if counted { addSession("") }
                for r in keptRows { addRow("", r) }
            case "page"?:
                if counted { addSession(s.entry?.path ?? "") }
                for r in keptRows { addRow(r.path, r) }
            case "event_name"?:
                if counted {
                    for n in Set(keptRows.filter { $0.type == .event }.map(\.name)) { addSession(n) }
                }
                for r in keptRows { addRow(r.name, r) }
            case let p?:
                var g = s.value(p)
                if p == "source" && g.isEmpty { g = "(direct)" }
                if counted { addSession(g) }
                for r in keptRows { addRow(g, r) }
            }
        }
        // Row sets (events.md §6.2).
        switch property {
        case nil: break
        case "page"?:
            groups = groups.filter { $0.value.pageviews + $0.value.events > 0 }
        case "event_name"?:
            let names = Set(rows.filter { r in r.type == .event && kept(r, sessions[r.session]!) }.map(\.name))
            groups = groups.filter { names.contains($0.key) }
        default:
            groups = groups.filter { $0.value.sessions > 0 }
        }
        return groups
    }

    // MARK: metrics

    /// `num / den` rounded half away from zero to `scale` digits, via Decimal (independent of the engine).
    static func round(_ num: Int64, _ den: Int64, _ scale: Int) -> Double {
        if den == 0 { return 0 }
        var d = Decimal(num) / Decimal(den)
        var out = Decimal()
        NSDecimalRound(&out, &d, scale, .plain)
        return NSDecimalNumber(decimal: out).doubleValue
    }

    static func metric(_ a: Acc, _ m: String) -> Any {
        switch m {
        case "visitors": a.visitors.count
        case "pageviews": a.pageviews
        case "events": a.events
        case "sessions", "visits": a.sessions
        case "bounces": a.bounces
        case "bounce_rate": round(Int64(a.bounces) * 100, Int64(a.sessions), 1)
        case "visit_duration": Int(round(a.durMs, Int64(a.sessions) * 1000, 0))
        case "views_per_visit": round(Int64(a.spv), Int64(a.sessions), 2)
        case "avg_time_on_page": Int(round(a.engSum, Int64(a.engCnt), 0))
        default: fatalError(m)
        }
    }

    /// Exact value for ordering, as (numerator, denominator).
    static func exact(_ a: Acc, _ m: String) -> (Double, Double) {
        switch m {
        case "bounce_rate": (Double(a.bounces), Double(a.sessions))
        case "visit_duration": (Double(a.durMs), Double(a.sessions))
        case "views_per_visit": (Double(a.spv), Double(a.sessions))
        case "avg_time_on_page": (Double(a.engSum), Double(a.engCnt))
        default: (Double(metric(a, m) as! Int), 1)
        }
    }

    // MARK: buckets (Foundation Calendar)

    static func buckets(from: Int64, to: Int64, interval: String, tz: TimeZone) -> [(Int64, Int64, String)] {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let df = DateFormatter()
        df.locale = Locale(identifier: "en_US_POSIX")
        df.timeZone = tz
        df.dateFormat = interval == "hour" ? "yyyy-MM-dd'T'HH:mm:ssxxxxx" : "yyyy-MM-dd"
        var out: [(Int64, Int64, String)] = []
        if interval == "hour" {
            // The test zones have whole-hour offsets: local hour starts are UTC hour starts.
            var t = from
            while t < to {
                out.append((t, min(t + 3_600_000, to), df.string(from: Date(timeIntervalSince1970: Double(t) / 1000))))
                t += 3_600_000
            }
            return out
        }
        let startDate = Date(timeIntervalSince1970: Double(from) / 1000)
        var unitStart: Date
        switch interval {
        case "week":
            var c = Calendar(identifier: .iso8601)
            c.timeZone = tz
            unitStart = c.dateInterval(of: .weekOfYear, for: startDate)!.start
        case "month": unitStart = cal.dateInterval(of: .month, for: startDate)!.start
        default: unitStart = cal.startOfDay(for: startDate)
        }
        while Int64((unitStart.timeIntervalSince1970 * 1000).rounded()) < to {
            let comp: Calendar.Component = interval == "month" ? .month : .day
            let n = interval == "week" ? 7 : 1
            let next = cal.startOfDay(for: cal.date(byAdding: comp, value: n, to: cal.date(byAdding: .hour, value: 12, to: unitStart)!)!)
            let a = max(from, Int64((unitStart.timeIntervalSince1970 * 1000).rounded()))
            let b = min(to, Int64((next.timeIntervalSince1970 * 1000).rounded()))
            out.append((a, b, df.string(from: unitStart)))
            unitStart = next
        }
        return out
    }

    // MARK: stats-api results

    /// The `results` of a stats-api request, as JSON-like values.
    static func statsAPI(_ records: [EventRecord], from: Int64, to: Int64, tz: TimeZone, filters: [FilterSpec],
                         property: String?, interval: String?, metrics: [String], limit: Int, offset: Int) -> [[String: Any]] {
        let ms = metrics.map { $0 == "visits" ? "sessions" : $0 }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if let p = property {
            let groups = evaluate(records, from: from, to: to, filters: filters, property: p)
            let first = ms[0]
            let ordered = groups.sorted { a, b in
                let (x, y) = exact(a.value, first), (u, v) = exact(b.value, first)
                let l = y == 0 ? 0 : x * (v == 0 ? 1 : v), r = v == 0 ? 0 : u * (y == 0 ? 1 : y)
                if l != r { return l > r }
                return a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
            }
            return ordered.dropFirst(offset).prefix(limit).map { g in
                var row: [String: Any] = [p: g.key]
                for m in ms { row[m] = metric(g.value, m) }
                return row
            }
        }
        return buckets(from: from, to: to, interval: interval ?? "day", tz: tz).map { b in
            let a = evaluate(records, from: b.0, to: b.1, filters: filters, property: nil)[""] ?? Acc()
            var row: [String: Any] = ["date": b.2]
            for m in ms { row[m] = metric(a, m) }
            return row
        }
    }
}
