import ZTAFormat
import ZTAQuery
import ZTAStorage

/// `GET /api/realtime` (api.md §6): one small scan of the last five minutes.
enum Realtime {
    static func body(_ source: any EventSource, site: String, tz: SiteTimeZone, now: Int64) throws -> JSONValue {
        let from = now - 5 * 60_000
        let minuteStart = now - floorMod(tz.local(now), 60_000)
        let scanFrom = min(from, minuteStart - 4 * 60_000)
        let plan = try source.scanPlan(ScanRequest(site: site, from: scanFrom, to: now,
                                                   columns: ColumnSet([.ts, .type, .visitor, .path, .referrer, .country])))
        var active = Set<UInt64>()
        var latest: [UInt64: (Int64, String)] = [:]
        var pageviews = 0
        var recent: [(Int64, String, String)] = []
        var sources: [String: Int] = [:]
        var perMinute = Array(repeating: Set<UInt64>(), count: 5)
        let pv = EventType.pageview.rawValue
        for task in plan.tasks {
            let c = try task.load()
            let paths = c.string(.path)!, refs = c.string(.referrer)!, countries = c.string(.country)!
            for i in 0..<c.count {
                let t = c.ts[i]
                guard t >= scanFrom && t < now else { continue }
                let v = c.visitor[i]
                if t >= minuteStart - 4 * 60_000 {
                    let k = Int((t - (minuteStart - 4 * 60_000)) / 60_000)
                    if k >= 0 && k < 5 { perMinute[k].insert(v) }
                }
                guard t >= from else { continue }
                active.insert(v)
                let path = paths.dictionary.values[Int(paths.codes[i])]
                if let l = latest[v], l.0 > t || (l.0 == t && l.1 <= path) {} else { latest[v] = (t, path) }
                if c.type[i] == pv {
                    pageviews += 1
                    recent.append((t, path, countries.dictionary.values[Int(countries.codes[i])]))
                    let r = refs.dictionary.values[Int(refs.codes[i])]
                    sources[r.isEmpty ? "(direct)" : r, default: 0] += 1
                }
            }
        }
        var byPage: [String: Int] = [:]
        for (_, l) in latest { byPage[l.1, default: 0] += 1 }
        let pages = byPage.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.prefix(20)
        recent.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) }
        let minutes: [JSONValue] = (0..<5).map { k in
            let local = tz.local(minuteStart - Int64(4 - k) * 60_000)
            let mins = floorMod(local, 86_400_000) / 60_000
            let label = (mins / 60 < 10 ? "0" : "") + "\(mins / 60):" + (mins % 60 < 10 ? "0" : "") + "\(mins % 60)"
            return .object([("minute", .string(label)), ("visitors", .int(perMinute[k].count))])
        }
        let srcs = sources.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return .object([
            ("activeVisitors", .int(active.count)),
            ("pageviewsLast5Min", .int(pageviews)),
            ("pageBreakdown", .object(pages.map { ($0.key, .int($0.value)) })),
            ("recentPageviews", .array(recent.prefix(10).map { .object([("page", .string($0.1)), ("timestamp", .string(Clock.iso($0.0))),
                                                                        ("country", .string($0.2))]) })),
            ("visitorsPerMinute", .array(minutes)),
            ("trafficSources", .array(srcs.map { .object([("source", .string($0.key)), ("count", .int($0.value))]) })),
            ("timestamp", .string(Clock.iso(now))),
        ])
    }

    static func floorMod(_ a: Int64, _ m: Int64) -> Int64 { ((a % m) + m) % m }
}
