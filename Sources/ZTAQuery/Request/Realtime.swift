import ZTAFormat
public import ZTAStorage

/// A parsed `GET /api/realtime` request (api.md §6): the site, the reference instant **now**
/// and the site's time zone (for the `HH:MM` minute labels).
public struct RealtimeRequest: Sendable {
    public var siteId: String
    /// The reference instant (ms since the epoch): the server clock or the `date` parameter.
    /// The window is `[now − 5 min, now)`.
    public var now: Int64
    public var timeZone: SiteTimeZone

    public init(siteId: String, now: Int64, timeZone: SiteTimeZone) {
        self.siteId = siteId
        self.now = now
        self.timeZone = timeZone
    }

    /// Parses `siteId` and `date` (a local date — now = its last ms — or an RFC 3339 timestamp);
    /// the first failure wins: `Site ID required`, `Invalid timezone`, `Invalid date reference`.
    public static func parse(_ params: [String: String], timezone: String, now: Int64) throws(QueryError) -> RealtimeRequest {
        guard let site = params["siteId"], !site.isEmpty else { throw QueryError("Site ID required") }
        guard let tz = SiteTimeZone(timezone) else { throw QueryError("Invalid timezone") }
        var ref = now
        if let d = params["date"], !d.isEmpty {
            guard let r = Periods.parseReference(d, tz: tz) else { throw QueryError("Invalid date reference") }
            ref = r
        }
        return RealtimeRequest(siteId: site, now: ref, timeZone: tz)
    }

    /// `[now − 5 min, now)`.
    public var window: (from: Int64, to: Int64) { (now - 5 * 60_000, now) }

    /// What a realtime answer reads: `[min(now − 5 min, start of the first minute), now)`.
    package var scanWindow: (from: Int64, to: Int64) {
        (min(window.from, minuteStart - 4 * 60_000), now)
    }

    /// Start of now's clock minute in the site time zone (an instant).
    var minuteStart: Int64 {
        let l = timeZone.local(now)
        return now - (l - floorDiv(l, 60_000) * 60_000)
    }
}

extension QueryEngine {
    /// Body of `GET /api/realtime` (api.md §6), from one scan of the engine's source.
    public func realtime(_ r: RealtimeRequest) throws -> [UInt8] {
        try realtimeBackend.realtime(r).render(r)
    }

    /// Body of `GET /api/realtime` over `source`:
    /// `{ activeVisitors, pageviewsLast5Min, pageBreakdown, recentPageviews, visitorsPerMinute,
    /// trafficSources, timestamp }`.
    ///
    /// - activeVisitors: distinct visitors with any event in W (heartbeats included);
    /// - pageBreakdown: active visitors by the path of their latest event in W (ties on the
    ///   timestamp: the smaller path), ≤ 20, by count desc then path;
    /// - recentPageviews: ≤ 10 newest pageviews in W (ties: path asc);
    /// - visitorsPerMinute: distinct visitors in now's clock minute and the 4 before (site time
    ///   zone, events before now), oldest first;
    /// - trafficSources: pageviews in W by referrer, empty as `(direct)`, by count desc then source.
    public static func realtime(_ r: RealtimeRequest, source: any EventSource) throws -> [UInt8] {
        let agg = try RealtimeAggregate.collect(r, source: source)
        return agg.render(r)
    }
}

/// The accumulators of one realtime scan. The window is a few minutes of one site, so the
/// state is small; strings are resolved per dictionary code, not per row.
package struct RealtimeAggregate {
    var active = Set<UInt64>()
    /// Latest event per active visitor: (ts, path).
    var latest: [UInt64: (Int64, String)] = [:]
    var pageviews = 0
    /// Pageviews in W: (ts, path, country).
    var recent: [(Int64, String, String)] = []
    var sources: [String: Int] = [:]
    var perMinute = Array(repeating: Set<UInt64>(), count: 5)

    package init() {}

    /// Folds one event of the scan window into the accumulators — the per-row logic of
    /// `collect`, for a store that returns the window's rows one at a time (ClickHouse).
    package mutating func add(ts t: Int64, type: UInt8, visitor v: UInt64, path: String, referrer: String, country: String,
                              in r: RealtimeRequest) {
        let (from, now) = r.window
        let firstMinute = r.minuteStart - 4 * 60_000
        guard t >= min(from, firstMinute) && t < now else { return }
        if t >= firstMinute {
            let k = Int((t &- firstMinute) / 60_000)
            if k < 5 { perMinute[k].insert(v) }
        }
        guard t >= from else { return }
        active.insert(v)
        if let l = latest[v], l.0 > t || (l.0 == t && !path.utf8.lexicographicallyPrecedes(l.1.utf8)) {
        } else {
            latest[v] = (t, path)
        }
        if type == EventType.pageview.rawValue {
            pageviews += 1
            recent.append((t, path, country))
            sources[referrer.isEmpty ? "(direct)" : referrer, default: 0] += 1
        }
    }

    static func collect(_ r: RealtimeRequest, source: any EventSource) throws -> RealtimeAggregate {
        let (from, now) = r.window
        let firstMinute = r.minuteStart - 4 * 60_000
        let scanFrom = min(from, firstMinute)
        let plan = try source.scanPlan(ScanRequest(site: r.siteId, from: scanFrom, to: now,
                                                   columns: ColumnSet([.ts, .type, .visitor, .path, .referrer, .country])))
        var a = RealtimeAggregate()
        let pv = EventType.pageview.rawValue
        for task in plan.tasks {
            let c = try task.load()
            guard let paths = c.string(.path), let refs = c.string(.referrer), let countries = c.string(.country) else { continue }
            let pathValues = paths.dictionary.values, refValues = refs.dictionary.values
            let countryValues = countries.dictionary.values
            // Pageviews per referrer code, folded into `sources` once per chunk.
            var refCounts = [Int](repeating: 0, count: refValues.count)
            for i in 0..<c.count {
                let t = c.ts[i]
                guard t >= scanFrom && t < now else { continue }
                let v = c.visitor[i]
                if t >= firstMinute {
                    let k = Int((t &- firstMinute) / 60_000)
                    if k < 5 { a.perMinute[k].insert(v) }
                }
                guard t >= from else { continue }
                a.active.insert(v)
                let path = pathValues[Int(paths.codes[i])]
                // Keep the stored event when it is later, or as late with a path ≤ this one.
                if let l = a.latest[v], l.0 > t || (l.0 == t && !path.utf8.lexicographicallyPrecedes(l.1.utf8)) {
                } else {
                    a.latest[v] = (t, path)
                }
                if c.type[i] == pv {
                    a.pageviews += 1
                    a.recent.append((t, path, countryValues[Int(countries.codes[i])]))
                    refCounts[Int(refs.codes[i])] &+= 1
                }
            }
            for (code, n) in refCounts.enumerated() where n > 0 {
                let ref = refValues[code]
                a.sources[ref.isEmpty ? "(direct)" : ref, default: 0] += n
            }
        }
        return a
    }

    /// Count desc, then the key by UTF-8 bytes.
    static func byCountThenKey(_ a: (key: String, value: Int), _ b: (key: String, value: Int)) -> Bool {
        a.value != b.value ? a.value > b.value : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
    }

    func render(_ r: RealtimeRequest) -> [UInt8] {
        var byPage: [String: Int] = [:]
        for (_, l) in latest { byPage[l.1, default: 0] += 1 }
        let pages = byPage.sorted(by: Self.byCountThenKey).prefix(20)
        let newest = recent.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) }.prefix(10)
        let srcs = sources.sorted(by: Self.byCountThenKey)

        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        w.key("activeVisitors"); w.int(active.count)
        w.key("pageviewsLast5Min"); w.int(pageviews)
        w.key("pageBreakdown")
        w.beginObject()
        for (path, n) in pages { w.key(path); w.int(n) }
        w.endObject()
        w.key("recentPageviews")
        w.beginArray()
        for (t, path, country) in newest {
            w.beginObject()
            w.key("page"); w.string(path)
            w.key("timestamp"); w.string(isoUTC(t))
            w.key("country"); w.string(country)
            w.endObject()
        }
        w.endArray()
        w.key("visitorsPerMinute")
        w.beginArray()
        let firstMinute = r.minuteStart - 4 * 60_000
        for k in 0..<5 {
            let l = r.timeZone.local(firstMinute + Int64(k) * 60_000)
            let mins = Int((l - floorDiv(l, msPerDay) * msPerDay) / 60_000)
            w.beginObject()
            w.key("minute"); w.string(pad(mins / 60, 2) + ":" + pad(mins % 60, 2))
            w.key("visitors"); w.int(perMinute[k].count)
            w.endObject()
        }
        w.endArray()
        w.key("trafficSources")
        w.beginArray()
        for (s, n) in srcs {
            w.beginObject()
            w.key("source"); w.string(s)
            w.key("count"); w.int(n)
            w.endObject()
        }
        w.endArray()
        w.key("timestamp"); w.string(isoUTC(r.now))
        w.endObject()
        return w.bytes
    }
}
