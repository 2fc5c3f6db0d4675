import Foundation

/// Deleting rows of the events table by condition, on every server that holds them.
///
/// ClickHouse deletes with a mutation (`ALTER TABLE … DELETE WHERE …`), which on a cluster
/// without ZooKeeper must be run on each shard's `events_local` (a `Distributed` table takes no
/// mutations). 18.16 has no `mutations_sync`, so each server's `system.mutations` is polled until
/// nothing is pending: the rows are gone when `delete` returns.
public struct ClickHouseDeletion: Sendable {
    public let config: ClickHouseConfig
    /// How long one server's mutations may run before `delete` gives up (they go on).
    public var timeoutSeconds: Double = 300

    public init(config: ClickHouseConfig) { self.config = config }

    /// Counts the rows matching `condition` (SQL over the events columns), deletes them and
    /// waits; returns the count (0: nothing was run).
    @discardableResult
    public func delete(where condition: String) throws(ClickHouseError) -> Int {
        let client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        let counted = try TabSeparated.parse(try client.query("SELECT count() FROM events WHERE \(condition) FORMAT TabSeparated",
                                                              database: config.database))
        let n = try Self.firstInt(counted)
        if n == 0 { return 0 }
        let table = config.cluster == nil ? "events" : "events_local"
        let servers = config.cluster == nil ? [config.endpoint] : config.shards
        for e in servers {
            let c = ClickHouseClient(endpoint: e, user: config.user, password: config.password)
            _ = try c.query("ALTER TABLE \(table) DELETE WHERE \(condition)", database: config.database)
            let deadline = Date().addingTimeInterval(timeoutSeconds)
            while true {
                let pending = try TabSeparated.parse(try c.query(
                    "SELECT count() FROM system.mutations WHERE database = \(SQL.literal(config.database)) AND table = \(SQL.literal(table)) AND is_done = 0 FORMAT TabSeparated"))
                let left = try Self.firstInt(pending)
                if left == 0 { break }
                guard Date() < deadline else { throw ClickHouseError("\(e): deletion still running after \(Int(timeoutSeconds)) s") }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        return Int(truncatingIfNeeded: n)
    }

    /// The first field of a one-number answer (0 when empty).
    static func firstInt(_ rows: [[[UInt8]]]) throws(ClickHouseError) -> Int64 {
        guard let f = rows.first?.first else { return 0 }
        return try TabSeparated.int64(f)
    }
}
