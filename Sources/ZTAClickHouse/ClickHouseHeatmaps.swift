import ZTAFormat
package import ZTAQuery

/// The ClickHouse store's `HeatmapBackend`: one page's rows by SQL (the table's `(site, ts)`
/// order key prunes to the site and window; `path` and `type` are filtered on the server), handed
/// to the same heatmap code as the embedded scan's rows; the pages list is a `GROUP BY path`.
package final class ClickHouseHeatmaps: HeatmapBackend {
    let client: ClickHouseClient
    let database: String

    package init(config: ClickHouseConfig) {
        client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        database = config.database
    }

    package func pageRows(_ q: PageRowsQuery) throws -> HeatmapRows {
        let body = try client.query(Self.pageRowsSQL(q), database: database)
        var builder = PageRowsBuilder(q)
        var r = RowBinaryReader(body)
        // Each distinct element and text becomes a String once.
        var elements = RowBinaryStrings(capacity: 0), texts = RowBinaryStrings(capacity: 0)
        while !r.atEnd {
            let ts = try r.int(Int64.self), type = try r.int(UInt8.self)
            let session = try r.int(UInt64.self), visitor = try r.int(UInt64.self)
            let x = try r.int(Int32.self), y = try r.int(Int32.self), depth = try r.int(Int8.self), top = try r.int(Int32.self)
            let deviceOK = try r.int(UInt8.self) != 0
            elements.append(try r.string(), in: body)
            texts.append(try r.string(), in: body)
            builder.append(ts: ts, type: type, session: session, visitor: visitor, x: x, y: y, depth: depth, top: top,
                           deviceOK: deviceOK, element: elements.lastValue, text: texts.lastValue)
        }
        return builder.finish()
    }

    /// `ts, type, session, visitor, x, y, scroll_depth, time_on_page, device OK, element, text`
    /// of the page's rows in `RowBinary`, each cast to the width read; columns outside the
    /// payload are constants (not read from disk).
    static func pageRowsSQL(_ q: PageRowsQuery) -> String {
        func col(_ c: Column, empty: String = "0") -> String {
            RowBinary.cast(q.payload.contains(c) ? ClickHouseSchema.name(c) : empty, c.kind)
        }
        let deviceOK = q.device.map { "\(ClickHouseSchema.name(.device)) = \(SQL.literal($0))" } ?? "1"
        let types = q.types.map { String($0.rawValue) }.sorted().joined(separator: ", ")
        let cols = [RowBinary.cast("ts", .int64), RowBinary.cast("type", .uint8), col(.session), col(.visitor), col(.x), col(.y),
                    col(.scrollDepth), col(.timeOnPage), RowBinary.cast(deviceOK, .uint8), col(.element, empty: "''"),
                    col(.text, empty: "''")]
        return """
            SELECT \(cols.joined(separator: ", ")) FROM events
            WHERE site = \(SQL.literal(q.site)) AND ts >= \(q.window.from) AND ts < \(q.window.to)
              AND \(ClickHouseSchema.name(.path)) = \(SQL.literal(q.path)) AND type IN (\(types.isEmpty ? "255" : types))
            ORDER BY ts FORMAT RowBinary
            """
    }

    package func pageCounts(site: String, window: TimeWindow, device: String?) throws -> [HeatmapPageCount] {
        let body = try client.query(Self.pageCountsSQL(site: site, window: window, device: device), database: database)
        return try TabSeparated.parse(body).map { f throws(ClickHouseError) in
            guard f.count == 4 else { throw ClickHouseError("heatmap pages: expected 4 columns, got \(f.count)") }
            return HeatmapPageCount(path: String(decoding: f[0], as: UTF8.self), clicks: Int(try TabSeparated.int64(f[1])),
                                    moves: Int(try TabSeparated.int64(f[2])), scrolls: Int(try TabSeparated.int64(f[3])))
        }
    }

    static func pageCountsSQL(site: String, window: TimeWindow, device: String?) -> String {
        let c = EventType.click.rawValue, m = EventType.move.rawValue, s = EventType.scroll.rawValue
        let dev = device.map { " AND \(ClickHouseSchema.name(.device)) = \(SQL.literal($0))" } ?? ""
        return """
            SELECT \(ClickHouseSchema.name(.path)), countIf(type = \(c)), countIf(type = \(m)), countIf(type = \(s)) FROM events
            WHERE site = \(SQL.literal(site)) AND ts >= \(window.from) AND ts < \(window.to) AND type IN (\(c), \(m), \(s))\(dev)
            GROUP BY \(ClickHouseSchema.name(.path)) FORMAT TabSeparated
            """
    }
}
