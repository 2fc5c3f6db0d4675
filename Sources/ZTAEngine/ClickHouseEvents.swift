import Foundation
public import ZTAClickHouse
public import ZTAFormat
public import ZTAQuery
public import ZTAStorage

/// The ClickHouse event store behind the `EventBackend` seam (issue 14).
///
/// Built: the aggregate queries (stats, stats-api, dashboard, summaries, the summary export)
/// compiled to SQL; heatmaps and realtime (their rows fetched by SQL, computed by the shared
/// code); goals, funnels, row exports and the site list's last pageview over
/// `ClickHouseEventSource` (rows selected by SQL, day slice by day slice, run through the shared
/// operators); tracked events through a local outbox and a background shipper (below); NDJSON
/// imports (parsed by the engine's importer into a scratch directory, so events.md §2/§4 apply
/// exactly as on the embedded store, then shipped under an import id allocated in ClickHouse);
/// deletion by site, import and date (retention) as mutations.
///
/// With an outbox (`init(config:outboxDirectory:…)`, what `ztas serve --events` uses), `ingest`
/// appends the events to the outbox's WAL and returns once that is fsync'd — the same
/// durability as the embedded store's acknowledgement — and `OutboxShipper` inserts them in
/// batches, exactly once, in the background: they are visible to queries a moment later (the
/// linger plus one insert; longer while ClickHouse is unreachable). Without one (tests, tools),
/// `ingest` inserts at once.
public final class ClickHouseEvents: EventBackend {
    public let config: ClickHouseConfig
    public let queries: QueryEngine
    let writer: ClickHouseEventWriter
    let client: ClickHouseClient
    /// The durable queue tracked events are acknowledged from (nil: direct inserts).
    public let outbox: EventOutbox?
    /// Moves the outbox's events into ClickHouse once `startShipping` was called.
    public let shipper: OutboxShipper?
    /// Serialises import id allocation within this process (across API servers it is a known
    /// limit: see docs/architecture.md).
    private let importLock = NSLock()

    /// A store whose `ingest` inserts straight into ClickHouse (no durability of its own).
    public init(config: ClickHouseConfig, threads: Int = 2) {
        self.config = config
        self.queries = QueryEngine(source: ClickHouseEventSource(config: config), aggregates: ClickHouseAggregates(config: config),
                                   heatmaps: ClickHouseHeatmaps(config: config), realtime: ClickHouseRealtime(config: config),
                                   threads: threads)
        self.writer = ClickHouseEventWriter(config: config)
        self.client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        self.outbox = nil
        self.shipper = nil
    }

    /// A store whose tracked events are acknowledged from the outbox in `outboxDirectory`
    /// (opened, or created; e.g. `DATA/clickhouse-outbox`). Shipping starts with
    /// `startShipping()`; `close()` stops it.
    public init(config: ClickHouseConfig, outboxDirectory: String, shipping: OutboxShipper.Options = OutboxShipper.Options(),
                fileSystem: FileSystemSeam = POSIXFileSystem(), threads: Int = 2) throws {
        self.config = config
        self.queries = QueryEngine(source: ClickHouseEventSource(config: config), aggregates: ClickHouseAggregates(config: config),
                                   heatmaps: ClickHouseHeatmaps(config: config), realtime: ClickHouseRealtime(config: config),
                                   threads: threads)
        self.writer = ClickHouseEventWriter(config: config)
        self.client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        let outbox = try EventOutbox.open(directory: outboxDirectory, fileSystem: fileSystem)
        self.outbox = outbox
        self.shipper = OutboxShipper(outbox: outbox, config: config, options: shipping)
    }

    /// Starts the background shipper (no-op without an outbox). `onError` hears every failed
    /// round (each is retried).
    public func startShipping(onError: (@Sendable (String) -> Void)? = nil) {
        shipper?.start(onError: onError)
    }

    public func ingest(_ records: [EventRecord]) throws {
        if let outbox {
            try outbox.append(records)
        } else {
            try writer.insert(records)
        }
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

    /// Stops the shipper (what is not shipped stays in the outbox for the next start) and
    /// releases the outbox.
    public func close() throws {
        shipper?.stop()
        outbox?.close()
    }

    /// Counts, then deletes with a mutation on every server holding rows and waits for it.
    private func delete(_ condition: String) throws -> Int {
        try ClickHouseDeletion(config: config).delete(where: condition)
    }
}
