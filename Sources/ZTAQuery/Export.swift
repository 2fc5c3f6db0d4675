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
        var rows: [[UInt8]] = []
        let truncated = try exportRows(r, limitOverride: nil) { rows.append($0) }
        w.key("count"); w.int(rows.count)
        w.key("truncated"); w.bool(truncated)
        w.key("data"); w.beginArray()
        for row in rows { w.raw(row) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Streams the csv or ndjson body of `GET /api/export` (header line first for csv).
    public func exportStream(_ r: ExportRequest, _ sink: ExportSink) throws {
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 16)
        let names = r.type == .summary ? Self.summaryFields : fields(r.type).map(\.name)
        if r.format == .csv {
            for (i, n) in names.enumerated() { if i > 0 { buf.append(44) }; appendCSV(n, &buf) }
            buf.append(contentsOf: [13, 10])
        }
        _ = try exportRows(r, limitOverride: nil) { json in
            if r.format == .ndjson {
                buf.append(contentsOf: json); buf.append(10)
            } else {
                appendCSVRow(json, &buf)
            }
            if buf.count >= 1 << 16 { try sink(buf); buf.removeAll(keepingCapacity: true) }
        }
        if !buf.isEmpty { try sink(buf) }
    }

    static let summaryFields = ["date", "pageviews", "unique_visitors", "sessions", "bounces", "bounce_rate",
                                "avg_time_on_page", "visit_duration"]

    private func fields(_ t: ExportType) -> [ExportField] {
        switch t {
        case .pageviews: ExportField.pageviews
        case .events: ExportField.events
        default: ExportField.all
        }
    }

    /// Produces each row of the page as a JSON object; returns whether rows exist after the page.
    private func exportRows(_ r: ExportRequest, limitOverride: Int?, _ emit: ([UInt8]) throws -> Void) throws -> Bool {
        let limit = r.limit == 0 ? Int.max : r.limit
        if r.type == .summary {
            var q = AggregateQuery(site: r.siteId, window: r.window, filters: [])
            let b = try Bucketing.make(r.window, interval: .day)
            q.series = b
            let res = try AggregateExecutor(plan: AggregatePlan(q), threads: threads).run(source: source)
            let end = r.offset >= b.count ? b.count : min(b.count, r.offset.addingReportingOverflow(limit).overflow ? Int.max : r.offset + limit)
            if r.offset < b.count {
                for i in r.offset..<end {
                    let a = res.series[i]
                    var w = JSONWriter(capacity: 256)
                    w.beginObject()
                    w.key("date"); w.string(b.labels[i])
                    w.key("pageviews"); w.int(a.pageviews)
                    w.key("unique_visitors"); w.int(a.visitors)
                    w.key("sessions"); w.int(a.sessions)
                    w.key("bounces"); w.int(a.bounces)
                    w.key("bounce_rate"); w.fixed(a.bounceRate1dp, decimals: 1)
                    w.key("avg_time_on_page"); w.int(a.avgTimeOnPage)
                    w.key("visit_duration"); w.int(a.visitDuration)
                    w.endObject()
                    try emit(w.bytes)
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
        var chunks: [ColumnChunk] = []
        // Row references (chunk, row) of the wanted rows, then one sort by (ts, fields in order).
        var refs: [(ts: Int64, c: UInt32, i: UInt32)] = []
        let from = r.window.from, to = r.window.to
        try WaveScanner(threads: threads).run(sp.tasks, prepare: { $0 }) { wave in
            for c in wave {
                let ci = UInt32(chunks.count)
                chunks.append(c)
                for i in 0..<c.count {
                    let t = c.ts[i]
                    if t >= from && t < to && (wantType == nil || c.type[i] == wantType!) { refs.append((t, ci, UInt32(i))) }
                }
            }
        }
        refs.sort { a, b in
            if a.ts != b.ts { return a.ts < b.ts }
            return compareRows(chunks[Int(a.c)], Int(a.i), chunks[Int(b.c)], Int(b.i), fields) < 0
        }
        guard r.offset < refs.count else { return false }
        let end = limit >= refs.count - r.offset ? refs.count : r.offset + limit
        for k in r.offset..<end {
            let c = chunks[Int(refs[k].c)], i = Int(refs[k].i)
            var w = JSONWriter(capacity: 512)
            w.beginObject()
            for f in fields {
                w.key(f.name)
                switch f {
                case .ts: w.string(isoUTC(c.ts[i]))
                case .site: w.string(r.siteId)
                case .type: w.string(EventType(rawValue: c.type[i])?.name ?? "pageview")
                case .id(_, let isVisitor): w.string(String(isVisitor ? c.visitor[i] : c.session[i]))
                case .string(_, let col):
                    let s = c.string(col)!
                    w.string(s.dictionary.values[Int(s.codes[i])])
                case .value: writeNumber(c.value[i], &w)
                case .int32(_, let col): w.int(Int(col == .timeOnPage ? c.timeOnPage[i] : col == .x ? c.x[i] : c.y[i]))
                case .depth: w.int(Int(c.scrollDepth[i]))
                }
            }
            w.endObject()
            try emit(w.bytes)
        }
        return end < refs.count
    }

    /// Orders two rows of equal ts by the export's fields in order (strings by bytes).
    private func compareRows(_ a: ColumnChunk, _ i: Int, _ b: ColumnChunk, _ j: Int, _ fields: [ExportField]) -> Int {
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
                let sa = a.string(col)!, sb = b.string(col)!
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

    private func writeNumber(_ v: Double, _ w: inout JSONWriter) {
        if v == v.rounded(), v.magnitude < 1e15 { w.int(Int64(v)) } else { w.double(v) }
    }

    /// Converts one JSON row object (flat, string and number values) into a CSV line.
    private func appendCSVRow(_ json: [UInt8], _ out: inout [UInt8]) {
        // Rows are flat objects written by this file: walk `"key":value` pairs.
        var i = 1, first = true
        while i < json.count - 1 {
            // Skip key.
            i += 1
            while json[i] != 0x22 { if json[i] == 0x5C { i += 1 }; i += 1 }
            i += 2  // closing quote and colon
            if !first { out.append(44) }
            first = false
            if json[i] == 0x22 {
                var s: [UInt8] = []
                i += 1
                while json[i] != 0x22 {
                    if json[i] == 0x5C {
                        i += 1
                        switch json[i] {
                        case UInt8(ascii: "n"): s.append(10)
                        case UInt8(ascii: "r"): s.append(13)
                        case UInt8(ascii: "t"): s.append(9)
                        case UInt8(ascii: "b"): s.append(8)
                        case UInt8(ascii: "f"): s.append(12)
                        case UInt8(ascii: "u"):
                            let hex = String(decoding: json[(i + 1)...(i + 4)], as: UTF8.self)
                            s.append(UInt8(UInt32(hex, radix: 16) ?? 0))
                            i += 4
                        default: s.append(json[i])
                        }
                    } else { s.append(json[i]) }
                    i += 1
                }
                i += 1
                appendCSV(String(decoding: s, as: UTF8.self), &out)
            } else {
                while json[i] != 44 && json[i] != 0x7D { out.append(json[i]); i += 1 }
            }
            if json[i] == 44 { i += 1 }
        }
        out.append(contentsOf: [13, 10])
    }

    /// RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled.
    private func appendCSV(_ s: String, _ out: inout [UInt8]) {
        let needs = s.utf8.contains { $0 == 44 || $0 == 0x22 || $0 == 10 || $0 == 13 }
        if !needs { out.append(contentsOf: s.utf8); return }
        out.append(0x22)
        for c in s.utf8 { if c == 0x22 { out.append(0x22) }; out.append(c) }
        out.append(0x22)
    }
}
