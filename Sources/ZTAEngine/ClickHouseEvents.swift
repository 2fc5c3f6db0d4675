import Foundation
public import ZTAClickHouse
public import ZTAFormat
public import ZTAQuery
import ZTAStorage

/// The ClickHouse event store behind the `EventBackend` seam (issue 14, first part).
///
/// Built: the aggregate queries (stats, stats-api, dashboard, summaries, the summary export)
/// compiled to SQL; direct inserts of tracked records; NDJSON imports (parsed by the engine's
/// importer into a scratch directory, so events.md §2/§4 apply exactly as on the embedded store,
/// then shipped under an import id allocated in ClickHouse); deletion by site, import and date as
/// mutations. Not yet: the WAL-backed background shipper (tracked events are inserted at once),
/// heatmaps, goals, funnels, realtime and row exports on ClickHouse — those answer with a clear
/// error until their SQL lands.
public final class ClickHouseEvents: EventBackend {
    public let config: ClickHouseConfig
    public let queries: QueryEngine
    let writer: ClickHouseEventWriter
    let client: ClickHouseClient
    /// Serialises import id allocation within this process (across API servers it is a known
    /// limit: see docs/architecture.md).
    private let importLock = NSLock()

    public init(config: ClickHouseConfig, threads: Int = 2) {
        self.config = config
        self.queries = QueryEngine(source: NotOnClickHouse(), aggregates: ClickHouseAggregates(config: config), threads: threads)
        self.writer = ClickHouseEventWriter(config: config)
        self.client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
    }

    public func ingest(_ records: [EventRecord]) throws {
        try writer.insert(records)
    }

    public func importNDJSON(input: ImportInput, options: ImportOptions,
                             progress: ((ImportProgress) -> Void)?) throws -> ImportSummary {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("ztas-ch-import-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let local = try Database(path: scratch)
        var summary = try local.importNDJSON(input: input, options: options, progress: progress)
        try local.store.flush()
        importLock.lock()
        defer { importLock.unlock() }
        let id = try nextImportId()
        try writer.copy(from: local.store, sites: local.store.sites(), importId: id)
        try local.close()
        summary.importId = id
        return summary
    }

    /// One more than the largest import id stored.
    private func nextImportId() throws -> UInt32 {
        let rows = try TabSeparated.parse(try client.query("SELECT max(import_id) FROM events FORMAT TabSeparated",
                                                           database: config.database))
        let current = try rows.first?.first.map { try TabSeparated.int64($0) } ?? 0
        guard current < Int64(UInt32.max) else { throw ClickHouseError("import ids exhausted") }
        return UInt32(current + 1)
    }

    @discardableResult
    public func deleteSite(_ site: String) throws -> Int {
        try delete("site = \(SQL.literal(site))")
    }

    @discardableResult
    public func deleteImport(site: String, importId: UInt32) throws -> Int {
        try delete("site = \(SQL.literal(site)) AND import_id = \(importId)")
    }

    @discardableResult
    public func applyRetention(site: String, cutoff: Int64) throws -> Int {
        try delete("site = \(SQL.literal(site)) AND ts < \(cutoff)")
    }

    public func close() throws {}

    /// Counts, then deletes with a mutation on every server holding rows, and waits until the
    /// mutation is done (18.16 has no `mutations_sync`), so the rows are gone when this returns.
    private func delete(_ condition: String) throws -> Int {
        let counted = try TabSeparated.parse(try client.query("SELECT count() FROM events WHERE \(condition) FORMAT TabSeparated",
                                                              database: config.database))
        let n = try counted.first?.first.map { try TabSeparated.int64($0) } ?? 0
        if n == 0 { return 0 }
        let table = config.cluster == nil ? "events" : "events_local"
        let servers = config.cluster == nil ? [config.endpoint] : config.shards
        for e in servers {
            let c = ClickHouseClient(endpoint: e, user: config.user, password: config.password)
            _ = try c.query("ALTER TABLE \(table) DELETE WHERE \(condition)", database: config.database)
            let deadline = Date().addingTimeInterval(300)
            while true {
                let pending = try TabSeparated.parse(try c.query(
                    "SELECT count() FROM system.mutations WHERE database = \(SQL.literal(config.database)) AND table = \(SQL.literal(table)) AND is_done = 0 FORMAT TabSeparated"))
                if try pending.first?.first.map({ try TabSeparated.int64($0) }) ?? 0 == 0 { break }
                guard Date() < deadline else { throw ClickHouseError("\(e): deletion still running after 300 s") }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        return Int(truncatingIfNeeded: n)
    }
}

/// The scan source of the queries not yet compiled to ClickHouse SQL: each answers with a clear
/// error instead of silently reading nothing.
struct NotOnClickHouse: EventSource {
    func scanPlan(_ request: ScanRequest) throws -> ScanPlan {
        throw QueryError("This query is not available on the ClickHouse event store yet", status: 501)
    }
}
