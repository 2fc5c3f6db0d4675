public import ZTAFormat

/// The ClickHouse tables of the event store and their migrations (`ztas clickhouse init|migrate`).
///
/// One server: `events`, a `MergeTree` partitioned by UTC month and ordered by `(site, ts)`.
/// A cluster: `events_local` (that `MergeTree`) on every shard and `events`, a `Distributed`
/// table over them sharded by `cityHash64(site)` — all of a site's events, so all of its
/// sessions, on one shard. Queries and inserts always name `events`.
///
/// `ts` is Int64 ms (18.16 has no `DateTime64`). The low-cardinality string columns are
/// `LowCardinality(String)` on servers from 19.1 on; on 18.x that type exists only behind the
/// experimental setting `allow_experimental_low_cardinality_type`, so there they are plain
/// `String` (the schema records which; the SQL ztas writes is the same for both).
public enum ClickHouseSchema {
    /// The newest schema version this build knows.
    /// 1: the events tables. 2: `batch_id UInt64 DEFAULT 0`, the outbox batch a tracked row was
    /// shipped in (0 for imported and migrated rows) — ClickHouse 18.16 deduplicates inserts
    /// only on replicated tables, so the shipper finds a retried batch by this id instead.
    public static let currentVersion = 2

    /// The column holding the outbox batch id (not an events.md column: ClickHouse only).
    public static let batchIdColumn = "batch_id"

    /// The column name of `c` in ClickHouse (`import` is spelled `import_id`).
    public static func name(_ c: Column) -> String {
        c == .importId ? "import_id" : c.wireName
    }

    /// Columns events.md §1 calls low cardinality (few distinct values per site).
    static let lowCardinality: Set<Column> = [.site, .referrer, .utmSource, .utmMedium, .utmCampaign, .channel, .device,
                                              .browser, .os, .country]

    /// The ClickHouse type of `c`.
    static func type(_ c: Column, lowCardinality lc: Bool) -> String {
        switch c.kind {
        case .int64: "Int64"
        case .uint64: "UInt64"
        case .int32: "Int32"
        case .int8: "Int8"
        case .uint8: "UInt8"
        case .uint32: "UInt32"
        case .double: "Float64"
        case .string: lc && lowCardinality.contains(c) ? "LowCardinality(String)" : "String"
        }
    }

    /// Whether a server of `version` (`SELECT version()`, e.g. `18.16.1`) takes
    /// `LowCardinality` without experimental settings.
    public static func supportsLowCardinality(serverVersion version: String) -> Bool {
        guard let major = Int(version.split(separator: ".").first ?? "") else { return false }
        return major >= 19
    }

    /// The column list of the events table, in `Column` order (the order inserts use).
    static func columnsDDL(lowCardinality lc: Bool) -> String {
        Column.allCases.map { "    \(name($0)) \(type($0, lowCardinality: lc))" }.joined(separator: ",\n")
    }

    static func mergeTreeDDL(table: String, lowCardinality lc: Bool) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
        \(columnsDDL(lowCardinality: lc))
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC'))
        ORDER BY (site, ts)
        SETTINGS index_granularity = 8192
        """
    }

    static func distributedDDL(cluster: String, database: String, lowCardinality lc: Bool) -> String {
        """
        CREATE TABLE IF NOT EXISTS events (
        \(columnsDDL(lowCardinality: lc))
        ) ENGINE = Distributed(\(cluster), \(database), events_local, cityHash64(site))
        """
    }

    /// The table that records applied versions (one per server).
    static let versionTableDDL = """
        CREATE TABLE IF NOT EXISTS ztas_schema_version (version UInt32, applied_at DateTime, note String) ENGINE = TinyLog
        """

    /// One statement of a migration step. `addsColumn`: the statement adds this column to this
    /// table and is skipped when the column is there already — 18.16 has no `ADD COLUMN IF NOT
    /// EXISTS`, and a step cut short (one table altered, not the next) must be able to run again.
    struct MigrationStatement: Equatable {
        var sql: String
        var addsColumn: (table: String, column: String)?

        static func == (a: MigrationStatement, b: MigrationStatement) -> Bool {
            a.sql == b.sql && a.addsColumn?.table == b.addsColumn?.table && a.addsColumn?.column == b.addsColumn?.column
        }
    }

    /// The statements of one migration step for one server, in order. On a cluster every
    /// shard gets `events_local` and its own `events` (`Distributed`), and columns are added to
    /// both, the local table first.
    static func migration(to version: Int, config: ClickHouseConfig, lowCardinality lc: Bool) -> [MigrationStatement] {
        switch version {
        case 1:
            if let cluster = config.cluster {
                return [MigrationStatement(sql: mergeTreeDDL(table: "events_local", lowCardinality: lc)),
                        MigrationStatement(sql: distributedDDL(cluster: cluster, database: config.database, lowCardinality: lc))]
            }
            return [MigrationStatement(sql: mergeTreeDDL(table: "events", lowCardinality: lc))]
        case 2:
            let tables = config.cluster == nil ? ["events"] : ["events_local", "events"]
            return tables.map { t in
                MigrationStatement(sql: "ALTER TABLE \(t) ADD COLUMN \(batchIdColumn) UInt64 DEFAULT 0",
                                   addsColumn: (t, batchIdColumn))
            }
        default:
            return []
        }
    }
}

/// Creates and migrates the schema on every server of a store (each shard of a cluster: DDL
/// without ZooKeeper has no `ON CLUSTER`, so ztas applies it to each server itself).
public struct ClickHouseMigrator: Sendable {
    public let config: ClickHouseConfig

    public init(config: ClickHouseConfig) { self.config = config }

    /// The servers that hold tables: every shard, or the one server.
    var servers: [ClickHouseEndpoint] { config.cluster == nil ? [config.endpoint] : config.shards }

    func client(_ e: ClickHouseEndpoint) -> ClickHouseClient {
        ClickHouseClient(endpoint: e, user: config.user, password: config.password)
    }

    /// The schema version of each server (0: not initialised).
    public func versions() throws(ClickHouseError) -> [(ClickHouseEndpoint, Int)] {
        var out: [(ClickHouseEndpoint, Int)] = []
        for e in servers { out.append((e, try version(client(e)))) }
        return out
    }

    func version(_ c: ClickHouseClient) throws(ClickHouseError) -> Int {
        let exists = try TabSeparated.parse(try c.query(
            "SELECT count() FROM system.tables WHERE database = \(SQL.literal(config.database)) AND name = 'ztas_schema_version' FORMAT TabSeparated"))
        guard let f = exists.first?.first, try TabSeparated.int64(f) > 0 else { return 0 }
        let rows = try TabSeparated.parse(try c.query("SELECT max(version) FROM ztas_schema_version FORMAT TabSeparated",
                                                      database: config.database))
        guard let v = rows.first?.first else { return 0 }
        return Int(truncatingIfNeeded: try TabSeparated.int64(v))
    }

    func hasColumn(_ c: ClickHouseClient, table: String, column: String) throws(ClickHouseError) -> Bool {
        let rows = try TabSeparated.parse(try c.query(
            "SELECT count() FROM system.columns WHERE database = \(SQL.literal(config.database)) AND table = \(SQL.literal(table)) AND name = \(SQL.literal(column)) FORMAT TabSeparated"))
        guard let f = rows.first?.first else { return false }
        return try TabSeparated.int64(f) > 0
    }

    /// For a server about to use the store: every server reachable and at exactly the current
    /// schema version. The error says what to run (`ztas clickhouse init` or `migrate`).
    public func requireCurrentSchema() throws(ClickHouseError) {
        let current = ClickHouseSchema.currentVersion
        for e in servers {
            let v: Int
            do { v = try version(client(e)) } catch {
                throw ClickHouseError("the ClickHouse event store at \(e) is unreachable or refused the schema check (\(error.message))")
            }
            if v == 0 {
                throw ClickHouseError("\(e): database \(config.database) has no ztas schema; run `ztas clickhouse init --events …` first")
            }
            if v < current {
                throw ClickHouseError("\(e): schema version \(v) is older than this ztas needs (\(current)); run `ztas clickhouse migrate --events …`")
            }
            if v > current {
                throw ClickHouseError("\(e): schema version \(v) is newer than this ztas (\(current)); upgrade ztas")
            }
        }
    }

    /// `init`: creates the database and brings every server to the current version. Returns a
    /// line per server and step for the operator.
    @discardableResult
    public func initialise() throws(ClickHouseError) -> [String] {
        var log: [String] = []
        for e in servers {
            _ = try client(e).query("CREATE DATABASE IF NOT EXISTS \(config.database)")
            log.append("\(e): database \(config.database) ready")
        }
        return log + (try migrate(requireInitialised: false))
    }

    /// `migrate`: applies the steps each server lacks, in order, recording each one. With
    /// `requireInitialised`, a server without the database or version table is an error (run
    /// `init` first).
    @discardableResult
    public func migrate(requireInitialised: Bool = true) throws(ClickHouseError) -> [String] {
        var log: [String] = []
        for e in servers {
            let c = client(e)
            let current = try version(c)
            if current == 0 && requireInitialised {
                throw ClickHouseError("\(e): database \(config.database) is not initialised (run `ztas clickhouse init`)")
            }
            if current > ClickHouseSchema.currentVersion {
                throw ClickHouseError("\(e): schema version \(current) is newer than this ztas (\(ClickHouseSchema.currentVersion))")
            }
            if current == ClickHouseSchema.currentVersion { log.append("\(e): schema at version \(current)"); continue }
            let serverVersion = try String(decoding: c.query("SELECT version()"), as: UTF8.self).filter { $0 != "\n" }
            let lc = ClickHouseSchema.supportsLowCardinality(serverVersion: serverVersion)
            _ = try c.query(ClickHouseSchema.versionTableDDL, database: config.database)
            for v in (current + 1)...ClickHouseSchema.currentVersion {
                for statement in ClickHouseSchema.migration(to: v, config: config, lowCardinality: lc) {
                    if let add = statement.addsColumn, try hasColumn(c, table: add.table, column: add.column) { continue }
                    _ = try c.query(statement.sql, database: config.database)
                }
                let note = "server \(serverVersion); \(lc ? "LowCardinality(String)" : "String") dictionary columns"
                _ = try c.query("INSERT INTO ztas_schema_version VALUES (\(v), now(), \(SQL.literal(note)))", database: config.database)
                log.append("\(e): migrated to version \(v) (\(note))")
            }
        }
        return log
    }
}
