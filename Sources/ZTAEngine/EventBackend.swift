public import ZTAFormat
public import ZTAQuery

/// The event store a server or command works with — the seam between them and the engine.
///
/// Two implementations: `Database` (the embedded columnar engine, the default) and, for data
/// that outgrows one machine, the ClickHouse store (issue 14). Callers go through this protocol
/// only, so no handler knows which store holds the events; the query layer renders the answers
/// of both from the same typed results (`QueryEngine` over the store's `AggregateBackend`).
public protocol EventBackend: AnyObject, Sendable {
    /// Runs the logical queries (stats, stats-api, dashboard, summaries, …) on this store and
    /// renders them; the same presentation code for every store.
    var queries: QueryEngine { get }

    /// Durably stores tracked events; returns once they are acknowledged (visible to the next
    /// query on the embedded store; durable and queued for shipping on a remote one).
    func ingest(_ records: [EventRecord]) throws

    /// Imports NDJSON (events.md §2) under a new import id.
    func importNDJSON(input: ImportInput, options: ImportOptions,
                      progress: ((ImportProgress) -> Void)?) throws -> ImportSummary

    /// Deletes every event of a site; returns the number of rows removed when the store knows it.
    @discardableResult func deleteSite(_ site: String) throws -> Int

    /// Deletes the events one import wrote.
    @discardableResult func deleteImport(site: String, importId: UInt32) throws -> Int

    /// Deletes a site's events older than `cutoff` (ms since the epoch): retention, and deletion
    /// by date.
    @discardableResult func applyRetention(site: String, cutoff: Int64) throws -> Int

    /// Releases the store (flushes what it holds in memory).
    func close() throws
}

extension Database: EventBackend {}

extension EventBackend {
    /// Imports without progress reports.
    public func importNDJSON(input: ImportInput, options: ImportOptions = ImportOptions()) throws -> ImportSummary {
        try importNDJSON(input: input, options: options, progress: nil)
    }
}
