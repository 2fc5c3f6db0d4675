public import ZTAFormat
public import ZTAStorage
public import ZTAQuery

/// The facade a program uses: one data directory, its event store, imports, queries and
/// maintenance. `ztas` commands, the server and the benchmarks all go through this.
public final class Database: @unchecked Sendable {
    public let path: String
    public let store: EventStore

    /// Opens (creating if needed) the data directory. Fails with `StorageError.locked` when another
    /// process holds it.
    /// `fileSystem` is the seam the store writes through (tests inject faults there).
    public init(path: String, options: StoreOptions = StoreOptions(), fileSystem: FileSystemSeam = POSIXFileSystem()) throws {
        self.path = path
        self.store = try EventStore.open(directory: path, options: options, fileSystem: fileSystem)
        self.queries = QueryEngine(source: store)
    }

    /// Opens for queries only, without the directory lock (a CLI query beside a running server).
    public init(path: String, readOnlyQueries: Bool) throws {
        self.path = path
        self.store = readOnlyQueries ? try EventStore.openReadOnly(directory: path) : try EventStore.open(directory: path)
        self.queries = QueryEngine(source: store)
    }

    /// The query engine over this database's events.
    public let queries: QueryEngine

    /// Durably appends tracked events (WAL + group commit); visible to the next query.
    public func ingest(_ records: [EventRecord]) throws {
        try store.append(records)
    }

    /// Flushes in-memory rows to segments and releases the directory.
    public func close() throws {
        try store.close()
    }

    /// Checks every checksum of a data directory without opening it for writing.
    public static func verify(path: String) -> VerifyReport {
        EventStore.verify(directory: path)
    }

    /// Deletes every event of a site.
    @discardableResult
    public func deleteSite(_ site: String) throws -> Int { try store.delete(site: site, .all) }

    /// Deletes the events written by one import of a site.
    @discardableResult
    public func deleteImport(site: String, importId: UInt32) throws -> Int { try store.delete(site: site, .importId(importId)) }

    /// Deletes a site's events older than `cutoff` (ms since the epoch).
    @discardableResult
    public func applyRetention(site: String, cutoff: Int64) throws -> Int { try store.delete(site: site, .olderThan(cutoff)) }
}
