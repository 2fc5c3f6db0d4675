import ZTAFormat
package import ZTAQuery

/// The ClickHouse store's `RealtimeBackend`: the few minutes of one site that realtime reads,
/// fetched by SQL and folded by the shared `RealtimeAggregate.add` — latest path per visitor
/// (ties: the smaller path by bytes) and distinct visitors per minute come out exactly as on the
/// embedded store without window functions.
package final class ClickHouseRealtime: RealtimeBackend {
    let client: ClickHouseClient
    let database: String

    package init(config: ClickHouseConfig) {
        client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        database = config.database
    }

    package func realtime(_ r: RealtimeRequest) throws -> RealtimeAggregate {
        let body = try client.query(Self.sql(r), database: database)
        var a = RealtimeAggregate()
        for f in try TabSeparated.parse(body) {
            guard f.count == 6 else { throw ClickHouseError("realtime rows: expected 6 columns, got \(f.count)") }
            a.add(ts: try TabSeparated.int64(f[0]), type: UInt8(truncatingIfNeeded: try TabSeparated.int64(f[1])),
                  visitor: try TabSeparated.uint64(f[2]), path: String(decoding: f[3], as: UTF8.self),
                  referrer: String(decoding: f[4], as: UTF8.self), country: String(decoding: f[5], as: UTF8.self), in: r)
        }
        return a
    }

    static func sql(_ r: RealtimeRequest) -> String {
        let (from, to) = r.scanWindow
        let cols = [Column.visitor, .path, .referrer, .country].map(ClickHouseSchema.name).joined(separator: ", ")
        return """
            SELECT ts, type, \(cols) FROM events
            WHERE site = \(SQL.literal(r.siteId)) AND ts >= \(from) AND ts < \(to) FORMAT TabSeparated
            """
    }
}
