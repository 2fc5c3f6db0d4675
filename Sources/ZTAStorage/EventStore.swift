import Foundation
import Synchronization
public import ZTAFormat

/// Tunables of the store.
public struct StoreOptions: Sendable {
    /// Flush the memtable to segments when it holds this many rows.
    public var flushRows = 1_000_000
    /// … or when its first row is this old (ms).
    public var flushAgeMs: Int64 = 5 * 60 * 1000
    /// Rows per segment block.
    public var blockRows = 65_536
    /// Whether an append that takes the memtable past `flushRows` flushes it itself. A server
    /// with a background flusher turns this off: then only an append that finds the memtable at
    /// twice `flushRows` (the flusher has fallen behind) flushes inline, which still bounds the
    /// memtable's memory, and no group of writers waits for a flush on the way to its ack.
    public var flushOnAppend = true
    public init() {}
}

/// An open segment: its manifest entry, its mapping and a reader over it.
final class SegmentHandle: @unchecked Sendable {
    let meta: SegmentMeta
    let file: MappedFile
    let reader: SegmentReader

    init(meta: SegmentMeta, directory: String) throws {
        self.meta = meta
        let path = directory + "/" + meta.relativePath
        file = try MappedFile(path: path)
        do {
            reader = try SegmentReader(bytes: file.bytes, file: path)
        } catch let e as FormatError {
            throw StorageError(e)
        }
    }
}

/// What to delete.
public enum DeletionCriterion: Sendable {
    /// Every event of the site.
    case all
    /// The events written by one import.
    case importId(UInt32)
    /// Events with `ts` before the cut-off (ms), for retention.
    case olderThan(Int64)
}

/// The columnar, time-partitioned event store of one data directory.
///
/// Writes: `append` frames events into the WAL, group-commits (one fsync for every writer
/// waiting), then adds them to the memtable, where queries see them at once. `flush` turns the
/// memtable into immutable segments and advances the manifest; bulk imports write segments
/// directly. Every change of the set of segments is one atomic manifest replacement.
public final class EventStore: EventSource, @unchecked Sendable {
    public let directory: String
    public let options: StoreOptions
    private let dirLock: DirectoryLock?
    /// A read-only store sees the directory as of its open (segments + WAL) and never writes.
    public let isReadOnly: Bool
    /// Every change to the files goes through this (faults are injected here in tests).
    let fs: FileSystemSeam

    // Guarded by `stateLock`: what readers snapshot.
    private let stateLock = NSLock()
    private var manifest: Manifest
    private var segments: [UInt64: SegmentHandle] = [:]
    private var memtable = Memtable()
    private var frozen: [Memtable] = []

    // Serialises WAL writes + memtable inserts, and WAL rotation.
    private let commitLock = NSLock()
    private var wal: WALFile?
    private var closed = false
    private var failure: StorageError?

    // Serialises every manifest change (flush, import commit, deletion, a compaction's swap).
    private let maintenanceLock = NSLock()
    // Serialises compactions. A compaction reads, merges and writes outside `maintenanceLock`
    // (seconds for a big partition) and takes it only for its swap, so flushes — and with them
    // the ingest path — never wait for a merge.
    private let compactionLock = NSLock()

    private let timings = Mutex(WriteTimings())

    // Group commit queue.
    private let queue = NSCondition()
    private var pending: [(bytes: [UInt8], records: [EventRecord])] = []
    private var nextTicket: UInt64 = 1
    private var durableTicket: UInt64 = 0
    private var leaderActive = false
    private var failedThrough: (UInt64, StorageError)?

    var walDirectory: String { directory + "/wal" }

    /// Opens (creating if needed) the data directory, replays the WAL, and takes the lock.
    /// `fileSystem` is the seam every write goes through (tests pass a fault-injecting one).
    public static func open(directory: String, options: StoreOptions = StoreOptions(),
                            fileSystem: FileSystemSeam = POSIXFileSystem()) throws -> EventStore {
        try FileSystem.makeDirectories(directory + "/wal")
        try FileSystem.makeDirectories(directory + "/events")
        let lock = try DirectoryLock(directory: directory)
        return try EventStore(directory: directory, options: options, lock: lock, fs: fileSystem)
    }

    /// Opens a data directory for reading only, without its lock: queries from another process
    /// (the CLI while a server runs) see the segments and WAL as they are at this moment.
    public static func openReadOnly(directory: String) throws -> EventStore {
        guard FileSystem.exists(directory + "/" + Manifest.fileName) else {
            throw StorageError(.invalid, "no ztas data directory at \(directory)", file: directory)
        }
        return try EventStore(directory: directory, options: StoreOptions(), lock: nil, fs: POSIXFileSystem())
    }

    private init(directory: String, options: StoreOptions, lock: DirectoryLock?, fs: FileSystemSeam) throws {
        self.directory = directory
        self.fs = fs
        self.options = options
        self.dirLock = lock
        self.isReadOnly = lock == nil
        let readOnly = lock == nil
        let manifestPath = directory + "/" + Manifest.fileName
        var m: Manifest
        if FileSystem.exists(manifestPath) {
            m = try Manifest.decode(try FileSystem.readAll(manifestPath), file: manifestPath)
        } else {
            m = Manifest()
            try fs.writeAtomically(manifestPath, m.encode())
        }
        var handles: [UInt64: SegmentHandle] = [:]
        for meta in m.segments {
            handles[meta.id] = try SegmentHandle(meta: meta, directory: directory)
        }
        if !readOnly { try EventStore.removeOrphans(directory: directory, manifest: m, fs: fs) }
        // Replay every WAL generation not yet flushed, oldest first.
        let walDir = directory + "/wal"
        let generations = try FileSystem.list(walDir).compactMap(WALFile.parseName).sorted()
        let walStart = m.walStart
        let live = generations.filter { $0 >= walStart }
        let replay = Memtable()
        for (i, seq) in live.enumerated() {
            let path = walDir + "/" + WALFile.name(seq)
            let file = try MappedFile(path: path)
            let scan = try WALRecord.scan(file.bytes, file: path)
            if scan.tornAt != nil && i != live.count - 1 && !readOnly {
                throw StorageError(.corrupt, "WAL file ends in a partial record but is not the newest", file: path, offset: scan.tornAt)
            }
            for (offset, payload) in scan.payloads {
                let records: [EventRecord]
                do {
                    records = try payload.withUnsafeBytes { try WALRecord.decodeEvents($0) }
                } catch let e as WALRecord.BadPayload {
                    throw StorageError(.corrupt, "WAL record is malformed: \(e.reason)", file: path, offset: offset)
                }
                replay.append(records, now: EventStore.nowMs())
            }
        }
        if !readOnly {
            for seq in generations where seq < walStart {
                fs.remove(walDir + "/" + WALFile.name(seq))
            }
        }
        let newWAL = readOnly ? nil : try WALFile(directory: walDir, seq: max(generations.last ?? 0, walStart - 1) + 1, fs: fs)
        manifest = m
        segments = handles
        memtable = replay
        wal = newWAL
    }

    /// Deletes what a crash can leave behind: temp files and segment files the manifest does not list.
    static func removeOrphans(directory: String, manifest: Manifest, fs: FileSystemSeam) throws {
        let live = Set(manifest.segments.map(\.relativePath))
        let events = directory + "/events"
        for site in try FileSystem.list(events) {
            let siteDir = events + "/" + site
            guard FileSystem.isDirectory(siteDir) else { continue }
            for month in try FileSystem.list(siteDir) {
                let monthDir = siteDir + "/" + month
                guard FileSystem.isDirectory(monthDir) else { continue }
                for name in try FileSystem.list(monthDir) {
                    let rel = "events/\(site)/\(month)/\(name)"
                    if !live.contains(rel) { fs.remove(directory + "/" + rel) }
                }
                FileSystem.removeEmptyDirectory(monthDir)
            }
            FileSystem.removeEmptyDirectory(siteDir)
        }
        fs.remove(directory + "/" + Manifest.fileName + ".tmp")
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Durable writes

    /// Appends events durably: returns once their WAL record is fsync'd (group commit) and they are
    /// visible to queries. Throws if the write could not be made durable; nothing is acknowledged then.
    public func append(_ records: [EventRecord]) throws {
        if records.isEmpty { return }
        var framed: [UInt8] = []
        WALRecord.frame(WALRecord.encodeEvents(records), into: &framed)
        queue.lock()
        let ticket = nextTicket
        nextTicket += 1
        pending.append((framed, records))
        while durableTicket < ticket {
            if let (through, err) = failedThrough, ticket <= through {
                queue.unlock()
                throw err
            }
            if !leaderActive {
                leaderActive = true
                let batch = pending
                pending = []
                let last = nextTicket - 1
                queue.unlock()
                var err: StorageError?
                do { try commit(batch) } catch let e as StorageError { err = e } catch {
                    err = StorageError(.io, "\(error)")
                }
                queue.lock()
                leaderActive = false
                if let err { failedThrough = (last, err) } else { durableTicket = last }
                queue.broadcast()
            } else {
                queue.wait()
            }
        }
        queue.unlock()
        if options.flushOnAppend {
            try flushIfNeeded(inline: true)
        } else if memtableRows >= 2 * options.flushRows {
            try flush(wait: true, inline: true)
        }
    }

    /// Commit and flush timings so far (for `/metrics`).
    public var writeTimings: WriteTimings { timings.withLock { $0 } }

    /// Writes one group to the WAL, fsyncs, then makes it visible.
    private func commit(_ batch: [(bytes: [UInt8], records: [EventRecord])]) throws {
        commitLock.lock()
        defer { commitLock.unlock() }
        if let failure { throw failure }
        guard let wal, !closed else { throw StorageError(.invalid, closed ? "the store is closed" : "the store is open read-only") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.reduce(0) { $0 + $1.bytes.count })
        for b in batch { bytes.append(contentsOf: b.bytes) }
        let started = ContinuousClock.now
        defer {
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            timings.withLock { $0.commits.record(seconds) }
        }
        do {
            try wal.appendDurably(bytes)
        } catch let e as StorageError {
            // `.unavailable`: the WAL cut itself back to its last durable record, so the next
            // append may simply try again (ENOSPC clears). Anything else leaves the file's
            // state unknown: refuse further writes.
            if e.code != .unavailable { failure = e }
            throw e
        }
        let now = EventStore.nowMs()
        stateLock.lock()
        for b in batch { memtable.append(b.records, now: now) }
        stateLock.unlock()
    }

    /// Flushes when the memtable is over its size or age threshold.
    public func flushIfNeeded() throws {
        try flushIfNeeded(inline: false)
    }

    private func flushIfNeeded(inline: Bool) throws {
        stateLock.lock()
        let rows = memtable.rows
        let first = memtable.firstAppendAt
        stateLock.unlock()
        guard rows >= options.flushRows || (first.map { EventStore.nowMs() - $0 >= options.flushAgeMs } ?? false) else { return }
        // Called after every append: while another flush (or manifest change) is under way the
        // caller goes on rather than wait for it on the ingest path — the rows are durable in
        // the WAL — unless the memtable has grown to twice its size, which bounds its memory.
        try flush(wait: rows >= 2 * options.flushRows, inline: inline)
    }

    /// Turns the current memtable into segments: freeze it and start a new WAL generation,
    /// write one segment per partition, commit them in the manifest, then drop old WAL files.
    public func flush() throws {
        try flush(wait: true, inline: false)
    }

    /// `flush()`; with `wait: false` it returns at once, flushing nothing, when another
    /// manifest change holds the maintenance lock. `inline`: called by an append (counted).
    private func flush(wait: Bool, inline: Bool) throws {
        if isReadOnly { return }
        if wait { maintenanceLock.lock() } else if !maintenanceLock.try() { return }
        defer { maintenanceLock.unlock() }
        let started = ContinuousClock.now
        var flushed = false
        defer {
            if flushed {
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                timings.withLock {
                    $0.flushes.record(seconds)
                    if inline { $0.inlineFlushes += 1 }
                }
            }
        }
        commitLock.lock()
        stateLock.lock()
        // Tables a failed flush left frozen are written again now, with the new one: their
        // rows are only in WAL generations this flush will let go of.
        let leftovers = frozen
        if memtable.isEmpty && leftovers.isEmpty {
            stateLock.unlock()
            commitLock.unlock()
            return
        }
        let table = memtable
        memtable = Memtable()
        frozen.append(table)
        stateLock.unlock()
        let newWAL: WALFile
        do {
            guard let current = wal else { throw StorageError(.invalid, "the store is closed") }
            newWAL = try WALFile(directory: walDirectory, seq: current.seq + 1, fs: fs)
        } catch {
            stateLock.lock()
            frozen.removeAll { $0 === table }
            memtable = table
            stateLock.unlock()
            commitLock.unlock()
            throw error
        }
        wal?.close()
        wal = newWAL
        commitLock.unlock()

        let tables = leftovers + [table]
        var pieces: [PartitionKey: [ColumnChunk]] = [:]
        for t in tables {
            for (key, p) in t.partitions { pieces[key, default: []].append(contentsOf: p.chunks()) }
        }
        let parts = pieces.map { key, chunks -> (PartitionKey, ColumnChunk) in
            let whole = ColumnChunk.concatenate(chunks)
            return (key, whole.gather(whole.timestampOrder()))
        }
        try commitSegments(parts, walStart: newWAL.seq, removing: [], releasing: tables)
        flushed = true
        for seq in (try? FileSystem.list(walDirectory).compactMap(WALFile.parseName)) ?? [] where seq < newWAL.seq {
            fs.remove(walDirectory + "/" + WALFile.name(seq))
        }
    }

    /// Writes each chunk (one partition, sorted by ts) as a new segment file, then commits them and
    /// the removal of `removing` in one manifest swap. Caller holds `maintenanceLock`.
    private func commitSegments(_ parts: [(PartitionKey, ColumnChunk)], walStart: UInt64?,
                                removing: [SegmentMeta], releasing tables: [Memtable]) throws {
        let added = try writeSegments(parts)
        try publish(added, walStart: walStart, removing: removing, releasing: tables)
    }

    /// Encodes and durably writes one segment file per part. Needs no lock: the files are not
    /// referenced until `publish`, and an unpublished file left by a crash is removed at open.
    private func writeSegments(_ parts: [(PartitionKey, ColumnChunk)]) throws -> [SegmentHandle] {
        if isReadOnly { throw StorageError(.invalid, "the store is open read-only") }
        var added: [SegmentHandle] = []
        do {
            for (key, chunk) in parts where chunk.count > 0 {
                stateLock.lock()
                let id = manifest.nextSegmentId
                manifest.nextSegmentId += 1
                stateLock.unlock()
                let bytes: [UInt8]
                do {
                    bytes = try SegmentWriter.encode(chunk, site: key.site, blockRows: options.blockRows)
                } catch let e as FormatError { throw StorageError(e) }
                var lo = UInt32.max, hi = UInt32.min
                for v in chunk.importId { lo = min(lo, v); hi = max(hi, v) }
                let meta = SegmentMeta(id: id, partition: key, rows: chunk.count, minTs: chunk.ts.first ?? 0, maxTs: chunk.ts.last ?? 0,
                                       bytes: bytes.count, minImport: lo, maxImport: hi)
                let path = directory + "/" + meta.relativePath
                try FileSystem.makeDirectories(FileSystem.directoryName(path))
                do {
                    try fs.writeAtomically(path, bytes)
                } catch let e as StorageError where e.afterCommit {
                    // In place but maybe not durable: unpublished, so it is cleaned up below.
                    fs.remove(path)
                    throw e
                }
                added.append(try SegmentHandle(meta: meta, directory: directory))
            }
        } catch {
            for h in added { fs.remove(directory + "/" + h.meta.relativePath) }
            throw error
        }
        return added
    }

    /// Writes the k-way merge of `members` (one partition's segments, in id order; the rows
    /// `keep` keeps) as a new, unpublished segment, streaming it to disk a block at a time
    /// (see `SegmentMerge`).
    private func mergeSegments(_ members: [SegmentHandle], _ key: PartitionKey,
                               keep: SegmentMerge.RowFilter? = nil) throws -> SegmentHandle {
        if isReadOnly { throw StorageError(.invalid, "the store is open read-only") }
        stateLock.lock()
        let id = manifest.nextSegmentId
        manifest.nextSegmentId += 1
        stateLock.unlock()
        // The path depends only on the id and partition; the counts are filled in after the merge.
        var meta = SegmentMeta(id: id, partition: key, rows: 0, minTs: 0, maxTs: 0, bytes: 0, minImport: 0, maxImport: 0)
        let path = directory + "/" + meta.relativePath
        try FileSystem.makeDirectories(FileSystem.directoryName(path))
        var merged = MergedSegment()
        do {
            try fs.writeAtomically(path) { write in
                do {
                    merged = try SegmentMerge.merge(members.map(\.reader), site: key.site, blockRows: options.blockRows,
                                                    keep: keep, write: write)
                } catch let e as FormatError { throw StorageError(e) }
            }
        } catch let e as StorageError where e.afterCommit {
            fs.remove(path) // in place but maybe not durable; never published
            throw e
        }
        meta = SegmentMeta(id: id, partition: key, rows: merged.rows, minTs: merged.minTs, maxTs: merged.maxTs,
                           bytes: merged.bytes, minImport: merged.minImport, maxImport: merged.maxImport)
        do {
            return try SegmentHandle(meta: meta, directory: directory)
        } catch {
            fs.remove(path)
            throw error
        }
    }

    /// Swaps in a manifest with `added` and without `removing` (caller holds `maintenanceLock`).
    /// On failure before the new manifest is in place, the added files are removed and the store
    /// is unchanged. A failure after it (the directory fsync) leaves the store in the new state
    /// — memory matches the files — and is rethrown, so callers do not count on its durability
    /// (a flush then keeps the old WAL files).
    private func publish(_ added: [SegmentHandle], walStart: UInt64?, removing: [SegmentMeta],
                         releasing tables: [Memtable]) throws {
        stateLock.lock()
        var next = manifest
        stateLock.unlock()
        let removed = Set(removing.map(\.id))
        next.segments.removeAll { removed.contains($0.id) }
        next.segments.append(contentsOf: added.map(\.meta))
        if let walStart { next.walStart = walStart }
        var lateFailure: StorageError?
        do {
            try fs.writeAtomically(directory + "/" + Manifest.fileName, next.encode())
        } catch let e as StorageError where e.afterCommit {
            lateFailure = e
        } catch {
            for h in added { fs.remove(directory + "/" + h.meta.relativePath) }
            throw error
        }
        stateLock.lock()
        let nextSeg = manifest.nextSegmentId
        manifest = next
        manifest.nextSegmentId = max(nextSeg, next.nextSegmentId)
        for m in removing { segments[m.id] = nil }
        for h in added { segments[h.meta.id] = h }
        frozen.removeAll { f in tables.contains { $0 === f } }
        stateLock.unlock()
        if let lateFailure { throw lateFailure }
        // Readers that still hold a removed segment keep its mapping; the name goes now.
        for m in removing { fs.remove(directory + "/" + m.relativePath) }
    }

    // MARK: - Bulk import

    /// Reserves a new import id (persisted at once, so ids are never reused).
    public func allocateImportId() throws -> UInt32 {
        if isReadOnly { throw StorageError(.invalid, "the store is open read-only") }
        maintenanceLock.lock()
        defer { maintenanceLock.unlock() }
        stateLock.lock()
        var next = manifest
        stateLock.unlock()
        let id = next.nextImportId
        next.nextImportId += 1
        do {
            try fs.writeAtomically(directory + "/" + Manifest.fileName, next.encode())
        } catch let e as StorageError where e.afterCommit {
            // The new manifest is in place: the id is spent either way.
            stateLock.lock()
            manifest.nextImportId = next.nextImportId
            stateLock.unlock()
            throw e
        }
        stateLock.lock()
        manifest.nextImportId = next.nextImportId
        stateLock.unlock()
        return id
    }

    /// Writes a batch of rows (any sites, any order, every column filled) straight to segments,
    /// bypassing the WAL; the batch becomes visible atomically with one manifest swap.
    public func importBatch(_ chunks: [ColumnChunk]) throws {
        var byPartition: [PartitionKey: [ColumnChunk]] = [:]
        for c in chunks where c.count > 0 {
            for (key, part) in c.splitByPartition() { byPartition[key, default: []].append(part) }
        }
        if byPartition.isEmpty { return }
        let parts = byPartition.sorted { $0.key < $1.key }.map { key, pieces -> (PartitionKey, ColumnChunk) in
            if pieces.count == 1 { return (key, pieces[0]) }
            let whole = ColumnChunk.concatenate(pieces)
            return (key, whole.gather(whole.timestampOrder()))
        }
        // Encoding and writing run outside the maintenance lock, so concurrent importers (the
        // parser threads of one import) encode in parallel and only the manifest swap is serial.
        let added = try writeSegments(parts)
        maintenanceLock.lock()
        defer { maintenanceLock.unlock() }
        try publish(added, walStart: nil, removing: [], releasing: [])
    }

    // MARK: - Deletion

    /// Deletes a site's events matching `criterion` by rewriting the affected segments and swapping
    /// the manifest (crash-safe like a flush). Returns the number of events removed.
    @discardableResult
    public func delete(site: String, _ criterion: DeletionCriterion) throws -> Int {
        try flush()
        maintenanceLock.lock()
        defer { maintenanceLock.unlock() }
        stateLock.lock()
        let affected = segments.values.filter { h in
            guard h.meta.partition.site == site else { return false }
            switch criterion {
            case .all: return true
            case .importId(let id): return h.meta.minImport <= id && id <= h.meta.maxImport
            case .olderThan(let cut): return h.meta.minTs < cut
            }
        }
        stateLock.unlock()
        if affected.isEmpty { return 0 }
        // Each affected segment is rewritten without the matching rows by a one-input merge with
        // a row filter, a block at a time (memory does not grow with the segments' size).
        let keep: SegmentMerge.RowFilter = { chunk in
            var rows: [Int32] = []
            rows.reserveCapacity(chunk.count)
            for i in 0..<chunk.count {
                let drop: Bool
                switch criterion {
                case .all: drop = true
                case .importId(let id): drop = chunk.importId[i] == id
                case .olderThan(let cut): drop = chunk.ts[i] < cut
                }
                if !drop { rows.append(Int32(i)) }
            }
            return rows
        }
        var added: [SegmentHandle] = []
        var replaced: [SegmentMeta] = []
        var removedRows = 0
        do {
            for h in affected {
                let kept = try SegmentMerge.keptRows(h.reader, keep)
                removedRows += h.meta.rows - kept
                if kept == h.meta.rows { continue }
                replaced.append(h.meta)
                if kept > 0 { added.append(try mergeSegments([h], h.meta.partition, keep: keep)) }
            }
        } catch {
            for h in added { fs.remove(directory + "/" + h.meta.relativePath) }
            throw error
        }
        if replaced.isEmpty { return 0 }
        try publish(added, walStart: nil, removing: replaced, releasing: [])
        return removedRows
    }


    // MARK: - Compaction

    /// Merges up to `maxInputs` segments of one partition into one (re-sorted, fresh
    /// dictionaries and statistics), committed by one manifest swap: after a crash either the old
    /// set or the new segment is live, never both. Returns (segments merged, their bytes, the new
    /// segment's bytes); a partition of fewer than two segments is left alone.
    ///
    /// The merge holds one decoded block per input, so `maxInputs` bounds its memory (~7 MB a
    /// full block): a partition that collected dozens of segments during a burst of tracking is
    /// merged in several steps instead of one with dozens of blocks in memory. The inputs are the
    /// partition's smallest segments (size-tiered: a large segment is not rewritten again for
    /// every few small ones that arrive); call again until one segment is left to merge it all.
    ///
    /// The merge runs outside `maintenanceLock` (flushes and imports go on; they only add
    /// segments), which is taken for the swap alone. If a deletion rewrote one of the merged
    /// segments meanwhile, the merge is dropped (its file removed) and the store is unchanged:
    /// the next pass merges again.
    @discardableResult
    public func compact(_ key: PartitionKey, maxInputs: Int = 8) throws -> (segments: Int, bytesBefore: Int, bytesAfter: Int) {
        compactionLock.lock()
        defer { compactionLock.unlock() }
        stateLock.lock()
        let members = segments.values.filter { $0.meta.partition == key }
            .sorted { ($0.meta.rows, $0.meta.id) < ($1.meta.rows, $1.meta.id) }
            .prefix(max(2, maxInputs))
            .sorted { $0.meta.id < $1.meta.id }
        stateLock.unlock()
        let before = members.reduce(0) { $0 + $1.meta.bytes }
        if members.count < 2 { return (members.count, before, before) }
        let added = [try mergeSegments(Array(members), key)]
        maintenanceLock.lock()
        defer { maintenanceLock.unlock() }
        stateLock.lock()
        let intact = members.allSatisfy { segments[$0.meta.id] != nil }
        stateLock.unlock()
        guard intact else {
            for h in added { fs.remove(directory + "/" + h.meta.relativePath) }
            return (members.count, before, before)
        }
        try publish(added, walStart: nil, removing: members.map(\.meta), releasing: [])
        return (members.count, before, added.reduce(0) { $0 + $1.meta.bytes })
    }

    // MARK: - Reading

    /// The live segments' manifest entries.
    public var segmentList: [SegmentMeta] {
        stateLock.lock()
        defer { stateLock.unlock() }
        return manifest.segments
    }

    /// Rows held in memory (not yet in segments).
    public var memtableRows: Int {
        stateLock.lock()
        defer { stateLock.unlock() }
        return memtable.rows + frozen.reduce(0) { $0 + $1.rows }
    }

    /// Every site with stored events.
    public func sites() -> [String] {
        stateLock.lock()
        defer { stateLock.unlock() }
        var s = Set(manifest.segments.map(\.partition.site))
        for t in frozen + [memtable] { for k in t.partitions.keys { s.insert(k.site) } }
        return s.sorted()
    }

    public func scanPlan(_ request: ScanRequest) throws -> ScanPlan {
        var stats = ScanStats()
        stateLock.lock()
        let segs = segments.values.filter { $0.meta.partition.site == request.site }
        var memChunks: [ColumnChunk] = []
        var memPartitions = Set<PartitionKey>()
        for t in frozen + [memtable] {
            for (key, p) in t.partitions where key.site == request.site {
                let (lo, hi) = key.range
                memPartitions.insert(key)
                if hi <= request.from || lo >= request.to || p.maxTs < request.from || p.minTs >= request.to { continue }
                memChunks.append(contentsOf: p.chunks())
            }
        }
        stateLock.unlock()

        var partitions = Set<PartitionKey>(memPartitions)
        var keptPartitions = Set<PartitionKey>()
        var tasks: [ChunkTask] = []
        for h in segs.sorted(by: { ($0.meta.minTs, $0.meta.id) < ($1.meta.minTs, $1.meta.id) }) {
            partitions.insert(h.meta.partition)
            stats.segmentsTotal += 1
            stats.blocksTotal += h.reader.blockCount
            let (plo, phi) = h.meta.partition.range
            if phi <= request.from || plo >= request.to { continue }
            keptPartitions.insert(h.meta.partition)
            if h.meta.maxTs < request.from || h.meta.minTs >= request.to { continue }
            stats.segmentsKept += 1
            let reader = h.reader
            for b in 0..<reader.blockCount {
                let bs = reader.blockStats(b)
                let lo = bs.min(.ts), hi = bs.max(.ts)
                if hi < request.from || lo >= request.to { continue }
                if let f = request.blockFilter {
                    let ctx = BlockPruneContext(stats: bs) { c in try? reader.dictionary(c) }
                    if !f(ctx) { continue }
                }
                stats.blocksKept += 1
                stats.rowsKept += bs.rowCount
                var columns = request.columns
                let idsAsCodes = request.idsAsCodes
                if let filter = request.rowFilter {
                    if request.tsOnlyAtEdges && lo >= request.from && hi < request.to {
                        columns = ColumnSet(rawValue: columns.rawValue & ~ColumnSet([.ts]).rawValue)
                    }
                    let late = request.lateColumns
                    tasks.append(ChunkTask(rowCount: bs.rowCount, minTs: lo, maxTs: hi) { [h, columns] in
                        do { return try h.reader.decodeBlock(b, columns: columns, late: late, select: filter) } catch let e as FormatError { throw StorageError(e) }
                    })
                    continue
                }
                tasks.append(ChunkTask(rowCount: bs.rowCount, minTs: lo, maxTs: hi) { [h, columns] in
                    do { return try h.reader.decodeBlock(b, columns: columns, idsAsCodes: idsAsCodes) } catch let e as FormatError { throw StorageError(e) }
                })
            }
        }
        for key in memPartitions {
            let (lo, hi) = key.range
            if !(hi <= request.from || lo >= request.to) { keptPartitions.insert(key) }
        }
        for c in memChunks where c.count > 0 {
            stats.memtableRows += c.count
            stats.rowsKept += c.count
            let lo = c.ts.min()!, hi = c.ts.max()!
            let filter = request.rowFilter
            tasks.append(ChunkTask(rowCount: c.count, minTs: lo, maxTs: hi) { filter.map { c.gather($0(c)) } ?? c })
        }
        stats.partitionsTotal = partitions.count
        stats.partitionsKept = keptPartitions.count
        tasks.sort { $0.minTs < $1.minTs }
        return ScanPlan(tasks: tasks, stats: stats)
    }

    /// Flushes the memtable and releases the directory. Later appends fail.
    public func close() throws {
        try flush()
        commitLock.lock()
        wal?.close()
        closed = true
        commitLock.unlock()
        dirLock?.release()
    }
}
