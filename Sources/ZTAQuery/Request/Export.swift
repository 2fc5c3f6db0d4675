import ZTAFormat
import ZTAStorage

/// `type` of `GET /api/export`.
public enum ExportType: String, Sendable { case summary, pageviews, events, all }
/// `format` of `GET /api/export`.
public enum ExportFormat: String, Sendable { case json, csv, ndjson }

/// A parsed `GET /api/export` request (api.md §6): period params (default `30d`), `format`,
/// `type`, `limit` (default 10000; 0 = unlimited for csv/ndjson; json ≤ 100000), `offset`.
public struct ExportRequest: Sendable {
    public var siteId: String
    public var window: TimeWindow
    public var type: ExportType
    public var format: ExportFormat
    /// 0 = unlimited.
    public var limit: Int
    public var offset: Int

    public static func parse(_ params: [String: String], timezone: String, now: Int64) throws(QueryError) -> ExportRequest {
        guard let site = params["siteId"], !site.isEmpty else { throw QueryError("Site ID required") }
        guard let tz = SiteTimeZone(timezone) else { throw QueryError("Invalid timezone") }
        let window = try Periods.resolve(params, style: .dashboard, defaultPeriod: "30d", allowRealtime: false, tz: tz, now: now)
        var format = ExportFormat.json
        if let f = params["format"], !f.isEmpty {
            guard let v = ExportFormat(rawValue: f) else { throw QueryError("Invalid format") }
            format = v
        }
        var type = ExportType.summary
        if let t = params["type"], !t.isEmpty {
            guard let v = ExportType(rawValue: t) else { throw QueryError("Invalid type") }
            type = v
        }
        let limit = try intParam(params["limit"], default: 10000,
                                 range: format == .json ? 1...100_000 : 0...Int(Int32.max), name: "limit")
        let offset = try intParam(params["offset"], default: 0, range: 0...Int(Int32.max), name: "offset")
        return ExportRequest(siteId: site, window: window, type: type, format: format, limit: limit, offset: offset)
    }

    /// `zta-<type>-<YYYY-MM-DD>.<ext>` for `Content-Disposition` (date = today in the site zone at `now`).
    public func filename(now: Int64) -> String {
        "zta-\(type.rawValue)-\(window.timeZone.date(at: now)).\(format.rawValue)"
    }
}

/// One exported field: its name and how to read it from a chunk row.
enum ExportField {
    case ts(String), site, type, id(String, Bool), string(String, Column), value, int32(String, Column), depth

    var name: String {
        switch self {
        case .ts(let n): n
        case .site: "site"
        case .type: "type"
        case .id(let n, _): n
        case .string(let n, _): n
        case .value: "value"
        case .int32(let n, _): n
        case .depth: "scroll_depth"
        }
    }

    static let pageviews: [ExportField] = [.ts("timestamp"), .string("path", .path), .string("referrer", .referrer),
        .string("utm_source", .utmSource), .string("utm_medium", .utmMedium), .string("utm_campaign", .utmCampaign),
        .string("channel", .channel), .string("device", .device), .string("browser", .browser), .string("os", .os),
        .string("country", .country), .string("region", .region)]
    static let events: [ExportField] = [.ts("timestamp"), .string("name", .name), .string("category", .category),
        .string("label", .label), .value, .string("path", .path), .string("device", .device), .string("browser", .browser),
        .string("os", .os), .string("country", .country)]
    /// An events.md §2 import line, `visitor`/`session` as decimal strings (re-importable).
    static let all: [ExportField] = [.ts("ts"), .site, .type, .id("visitor", true), .id("session", false),
        .string("path", .path), .string("referrer", .referrer), .string("utm_source", .utmSource),
        .string("utm_medium", .utmMedium), .string("utm_campaign", .utmCampaign), .string("channel", .channel),
        .string("device", .device), .string("browser", .browser), .string("os", .os), .string("country", .country),
        .string("region", .region), .string("name", .name), .string("category", .category), .string("label", .label),
        .value, .int32("time_on_page", .timeOnPage), .int32("x", .x), .int32("y", .y), .depth,
        .string("element", .element), .string("text", .text)]
}

/// A sink for export bytes; csv/ndjson are written in pieces of about 64 KiB.
public typealias ExportSink = ([UInt8]) throws -> Void

extension QueryEngine {
    /// The json body of `GET /api/export`: `{ site_id, period: { start, end }, type, count, truncated, data }`.
    public func export(_ r: ExportRequest) throws -> [UInt8] {
        var w = JSONWriter(capacity: 1 << 16)
        w.beginObject()
        w.key("site_id"); w.string(r.siteId)
        w.key("period"); w.beginObject()
        w.key("start"); w.string(isoUTC(r.window.from))
        w.key("end"); w.string(isoUTC(r.window.to))
        w.endObject()
        w.key("type"); w.string(r.type.rawValue)
        let renderer = ExportRenderer(names: fieldNames(r.type), format: .json)
        var data: [UInt8] = []
        var count = 0
        // json pages are at most 100,000 rows (ExportRequest.parse), so the body is bounded.
        let truncated = try exportRows(r) { values in
            if count > 0 { data.append(UInt8(ascii: ",")) }
            renderer.append(values, to: &data)
            count += 1
        }
        w.key("count"); w.int(count)
        w.key("truncated"); w.bool(truncated)
        w.key("data"); w.beginArray()
        w.raw(data)
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Streams the csv or ndjson body of `GET /api/export` (header line first for csv). Memory
    /// stays bounded whatever the window or `limit`: rows come from a merge over the
    /// time-ordered blocks (see `ExportMerge`), and bytes leave in ~64 KiB pieces.
    public func exportStream(_ r: ExportRequest, _ sink: ExportSink) throws {
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 16 + 4096)
        let renderer = ExportRenderer(names: fieldNames(r.type), format: r.format)
        renderer.appendHeader(to: &buf)
        _ = try exportRows(r) { values in
            renderer.append(values, to: &buf)
            if buf.count >= 1 << 16 { try sink(buf); buf.removeAll(keepingCapacity: true) }
        }
        if !buf.isEmpty { try sink(buf) }
    }

    static let summaryFields = ["date", "pageviews", "unique_visitors", "sessions", "bounces", "bounce_rate",
                                "avg_time_on_page", "visit_duration"]

    private func fieldNames(_ t: ExportType) -> [String] {
        t == .summary ? Self.summaryFields : fields(t).map(\.name)
    }

    private func fields(_ t: ExportType) -> [ExportField] {
        switch t {
        case .pageviews: ExportField.pageviews
        case .events: ExportField.events
        default: ExportField.all
        }
    }

    /// Produces each row of the page as its values, in the export's order; returns whether
    /// rows exist after the page.
    private func exportRows(_ r: ExportRequest, _ emit: ([ExportValue]) throws -> Void) throws -> Bool {
        let limit = r.limit == 0 ? Int.max : r.limit
        if r.type == .summary {
            var q = AggregateQuery(site: r.siteId, window: r.window, filters: [])
            let b = try Bucketing.make(r.window, interval: .day)
            q.series = b
            let res = try aggregates.aggregate(q)
            let end = r.offset >= b.count ? b.count : min(b.count, r.offset.addingReportingOverflow(limit).overflow ? Int.max : r.offset + limit)
            if r.offset < b.count {
                for i in r.offset..<end {
                    let a = res.series[i]
                    try emit([.string(b.labels[i]), .int(Int64(a.pageviews)), .int(Int64(a.visitors)), .int(Int64(a.sessions)),
                              .int(Int64(a.bounces)), .fixed(a.bounceRate1dp, decimals: 1), .int(Int64(a.avgTimeOnPage)),
                              .int(Int64(a.visitDuration))])
                }
            }
            return end < b.count
        }

        let fields = fields(r.type)
        var cols = ColumnSet([.ts, .type])
        for f in fields {
            switch f {
            case .string(_, let c), .int32(_, let c): cols.insert(c)
            case .id(_, let isVisitor): cols.insert(isVisitor ? .visitor : .session)
            case .value: cols.insert(.value)
            case .depth: cols.insert(.scrollDepth)
            default: break
            }
        }
        let wantType: UInt8? = r.type == .pageviews ? EventType.pageview.rawValue : r.type == .events ? EventType.event.rawValue : nil
        let sp = try source.scanPlan(ScanRequest(site: r.siteId, from: r.window.from, to: r.window.to, columns: cols))
        var seen = 0
        var truncated = false
        let merge = ExportMerge(tasks: sp.tasks, window: r.window, type: wantType, threads: threads) { a, i, b, j in
            Self.compareRows(a, i, b, j, fields)
        }
        try merge.run { c, i in
            defer { seen += 1 }
            if seen < r.offset { return true }
            if seen - r.offset >= limit { truncated = true; return false }
            try emit(fields.map { Self.value(of: $0, c, i, site: r.siteId) })
            return true
        }
        return truncated
    }

    /// One field of one row.
    private static func value(of f: ExportField, _ c: ColumnChunk, _ i: Int, site: String) -> ExportValue {
        switch f {
        case .ts: return .string(isoUTC(c.ts[i]))
        case .site: return .string(site)
        case .type: return .string(EventType(rawValue: c.type[i])?.name ?? "pageview")
        case .id(_, let isVisitor): return .string(String(isVisitor ? c.visitor[i] : c.session[i]))
        case .string(_, let col):
            guard let s = c.string(col) else { return .string("") }
            return .string(s.dictionary.values[Int(s.codes[i])])
        case .value:
            let v = c.value[i]
            return v == v.rounded() && v.magnitude < 1e15 ? .int(Int64(v)) : .double(v)
        case .int32(_, let col): return .int(Int64(col == .timeOnPage ? c.timeOnPage[i] : col == .x ? c.x[i] : c.y[i]))
        case .depth: return .int(Int64(c.scrollDepth[i]))
        }
    }

    /// Orders two rows of equal ts by the export's fields in order (strings by bytes).
    private static func compareRows(_ a: ColumnChunk, _ i: Int, _ b: ColumnChunk, _ j: Int, _ fields: [ExportField]) -> Int {
        for f in fields {
            switch f {
            case .ts, .site: continue
            case .type:
                let x = EventType(rawValue: a.type[i])?.name ?? "", y = EventType(rawValue: b.type[j])?.name ?? ""
                if x != y { return bytesLess(x, y) ? -1 : 1 }
            case .id(_, let isVisitor):
                let x = String(isVisitor ? a.visitor[i] : a.session[i]), y = String(isVisitor ? b.visitor[j] : b.session[j])
                if x != y { return bytesLess(x, y) ? -1 : 1 }
            case .string(_, let col):
                guard let sa = a.string(col), let sb = b.string(col) else { continue }
                let x = sa.dictionary.values[Int(sa.codes[i])], y = sb.dictionary.values[Int(sb.codes[j])]
                if !x.utf8.elementsEqual(y.utf8) { return bytesLess(x, y) ? -1 : 1 }
            case .value:
                if a.value[i] != b.value[j] { return a.value[i] < b.value[j] ? -1 : 1 }
            case .int32(_, let col):
                let x = col == .timeOnPage ? a.timeOnPage[i] : col == .x ? a.x[i] : a.y[i]
                let y = col == .timeOnPage ? b.timeOnPage[j] : col == .x ? b.x[j] : b.y[j]
                if x != y { return x < y ? -1 : 1 }
            case .depth:
                if a.scrollDepth[i] != b.scrollDepth[j] { return a.scrollDepth[i] < b.scrollDepth[j] ? -1 : 1 }
            }
        }
        return 0
    }
}
