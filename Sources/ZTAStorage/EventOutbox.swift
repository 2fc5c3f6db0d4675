import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import ZTAFormat

/// Records read from an outbox to be shipped together, under one id.
public struct OutboxBatch: Sendable {
    /// Deterministic: derived from the outbox's id and `start`, so the same batch read again
    /// after a crash or a failed insert carries the same id (`EventOutbox.batchId`).
    public let id: UInt64
    /// Where its first record starts and where its last ends (always in one log file).
    public let start: OutboxPosition
    public let end: OutboxPosition
    public let records: [EventRecord]
    /// The batch was being sent when the outbox was last told about it (`markInFlight`) and
    /// was not marked shipped since: the remote store may hold it, whole or in part.
    public let resumed: Bool

    public var rows: Int { records.count }
}

/// A durable queue of tracked events on the way to a remote store (the ClickHouse outbox,
/// `DATA/clickhouse-outbox/`): the engine's WAL files and record format, plus a cursor.
///
/// `append` frames the events as one WAL record, writes and fsyncs it (through the file-system
/// seam, cut back on failure exactly like the engine's WAL) and returns: that is the
/// acknowledgement. One reader (the shipper) takes batches from the cursor with `nextBatch`,
/// records the batch it is about to send with `markInFlight` and advances with `markShipped`;
/// log files wholly behind the cursor are deleted. A new log file starts at every open (a torn
/// tail left by a crash stays behind in an older file, where it marks that file's end) and when
/// the active file passes `fileBytes`.
///
/// Appends of concurrent callers are serialised (one write and fsync each); the server's ingest
/// writer already merges the requests of a round into one call.
public final class EventOutbox: @unchecked Sendable {
    public let directory: String
    /// Random, fixed when the outbox was created (kept in the cursor file).
    public let outboxId: UInt64
    /// The active log file is rotated once it holds this many bytes.
    public let fileBytes: Int
    /// Every write goes through this (tests inject faults and crashes).
    let fs: FileSystemSeam
    private let dirLock: DirectoryLock

    // Guarded by `mutex`: the writing side (appends run under it).
    private let mutex = NSLock()
    private var wal: WALFile?
    private var pending: Int
    /// A write failure that left the active file in an unknown state: appends are refused.
    private var failure: Error?
    // Guarded by `cursorLock`: the reading side. A lock of its own so that an append (an
    // `/api/track` acknowledgement) never waits for the cursor's fsyncs.
    private let cursorLock = NSLock()
    private var cursor: OutboxCursor

    /// Reads of a finished file take at most this many bytes at a time (one record more when
    /// a record is bigger).
    static let readBytes = 32 << 20

    var cursorPath: String { directory + "/" + OutboxCursor.fileName }

    /// Opens (creating if needed) the outbox in `directory` and takes its lock.
    public static func open(directory: String, fileSystem: FileSystemSeam = POSIXFileSystem(),
                            fileBytes: Int = 64 << 20) throws -> EventOutbox {
        try FileSystem.makeDirectories(directory)
        let lock = try DirectoryLock(directory: directory)
        return try EventOutbox(directory: directory, fs: fileSystem, fileBytes: fileBytes, lock: lock)
    }

    private init(directory: String, fs: FileSystemSeam, fileBytes: Int, lock: DirectoryLock) throws {
        self.directory = directory
        self.fs = fs
        self.fileBytes = max(1, fileBytes)
        self.dirLock = lock
        let path = directory + "/" + OutboxCursor.fileName
        fs.remove(path + ".tmp")
        let files = try FileSystem.list(directory).compactMap(WALFile.parseName).sorted()
        let c: OutboxCursor
        if FileSystem.exists(path) {
            c = try OutboxCursor.decode(try FileSystem.readAll(path), file: path)
        } else {
            // The cursor is written before the first log file, so log files without one were
            // damaged from outside: starting over would ship them again under reused ids.
            guard files.isEmpty else {
                throw StorageError(.corrupt, "the outbox has log files but no cursor; move the directory aside to start a new outbox",
                                   file: path)
            }
            c = OutboxCursor(outboxId: UInt64.random(in: 1...UInt64.max), shipped: OutboxPosition(file: 0, offset: 0), inFlightEnd: nil)
            try fs.writeAtomically(path, c.encode())
        }
        // Files wholly behind the cursor were shipped; a crash between the cursor's move and
        // their unlink leaves them.
        for f in files where f < c.shipped.file { fs.remove(directory + "/" + WALFile.name(f)) }
        var rows = 0
        for f in files where f >= c.shipped.file {
            let from = f == c.shipped.file ? c.shipped.offset : 0
            let read = try Self.readRecords(directory + "/" + WALFile.name(f), from: from, limit: nil, maxBytes: Int.max)
            for p in read { rows += Self.rowCount(p.bytes) }
        }
        cursor = c
        outboxId = c.outboxId
        pending = rows
        // Numbered past every file there was (shipped ones included): a batch's id comes from
        // its file and offset, so positions must never repeat.
        wal = try WALFile(directory: directory, seq: max(files.last ?? 0, c.shipped.file) + 1, fs: fs)
    }

    /// The id of the batch starting at `start` in outbox `outboxId`: a 64-bit mix of both,
    /// never 0 (the id of rows that came from imports and migrations).
    public static func batchId(outboxId: UInt64, start: OutboxPosition) -> UInt64 {
        func mix(_ x: UInt64) -> UInt64 {  // splitmix64's finaliser
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let h = mix(outboxId ^ mix(start.file ^ mix(UInt64(truncatingIfNeeded: start.offset))))
        return h == 0 ? 1 : h
    }

    // MARK: - Writing

    /// Makes `records` durable (one WAL record, written and fsync'd) before returning. Throws if
    /// they could not be: nothing is acknowledged then (`.unavailable` after a write the file
    /// was cut back from — a later append may work).
    public func append(_ records: [EventRecord]) throws {
        if records.isEmpty { return }
        var framed: [UInt8] = []
        WALRecord.frame(WALRecord.encodeEvents(records), into: &framed)
        mutex.lock()
        defer { mutex.unlock() }
        if let failure { throw failure }
        guard let wal else { throw StorageError(.invalid, "the outbox is closed", file: directory) }
        do {
            try wal.appendDurably(framed)
        } catch let e as StorageError where e.code == .unavailable {
            throw e
        } catch {
            failure = error
            throw error
        }
        pending += records.count
        if wal.size >= fileBytes {
            // Best effort: the records are durable either way, and the next append tries again.
            if let next = try? WALFile(directory: directory, seq: wal.seq + 1, fs: fs) {
                wal.close()
                self.wal = next
            }
        }
    }

    // MARK: - Reading and the cursor

    /// Events appended and not yet marked shipped.
    public var pendingRows: Int {
        mutex.lock()
        defer { mutex.unlock() }
        return pending
    }

    /// Every record before this position was shipped.
    public var shippedPosition: OutboxPosition {
        cursorLock.lock()
        defer { cursorLock.unlock() }
        return cursor.shipped
    }

    /// The log files present (generation numbers, oldest first).
    public func logFiles() throws -> [UInt64] {
        try FileSystem.list(directory).compactMap(WALFile.parseName).sorted()
    }

    /// The next batch to ship: the in-flight batch again (same extent, `resumed`) if one was
    /// marked and not shipped, else up to `maxRows` events (at least one whole record) from the
    /// cursor, within one file. Nil when there is nothing to ship. Moving past a finished file
    /// advances the cursor and deletes the file.
    public func nextBatch(maxRows: Int) throws -> OutboxBatch? {
        cursorLock.lock()
        let c = cursor
        cursorLock.unlock()
        if let end = c.inFlightEnd { return try inFlightBatch(c, end: end) }
        var pos = c.shipped
        while true {
            mutex.lock()
            let active = wal.map { ($0.seq, $0.size) }
            mutex.unlock()
            guard let active else { throw StorageError(.invalid, "the outbox is closed", file: directory) }
            let files = try logFiles()
            guard files.contains(pos.file) else {
                // Before the first file (a new outbox) or a file deleted once shipped.
                guard let next = files.first(where: { $0 > pos.file }) else { return nil }
                pos = OutboxPosition(file: next, offset: 0)
                try advance(to: pos)
                continue
            }
            let isActive = pos.file == active.0
            let read = try Self.readRecords(path(pos.file), from: pos.offset, limit: isActive ? active.1 : nil,
                                            maxBytes: Self.readBytes)
            if read.isEmpty {
                // The active file has nothing new; any other file ends here (what follows, if
                // anything, is the torn write of a crash, never acknowledged).
                if isActive { return nil }
                guard let next = files.first(where: { $0 > pos.file }) else { return nil }
                pos = OutboxPosition(file: next, offset: 0)
                try advance(to: pos)
                continue
            }
            var records: [EventRecord] = []
            var end = pos.offset
            for p in read {
                if !records.isEmpty && records.count + Self.rowCount(p.bytes) > maxRows { break }
                records.append(contentsOf: try decode(p.bytes, file: pos.file, offset: p.offset))
                end = p.offset + WALRecord.headerSize + p.bytes.count
                if records.count >= maxRows { break }
            }
            return OutboxBatch(id: Self.batchId(outboxId: c.outboxId, start: pos), start: pos,
                               end: OutboxPosition(file: pos.file, offset: end), records: records, resumed: false)
        }
    }

    /// The marked batch, read back exactly as it was sent.
    private func inFlightBatch(_ c: OutboxCursor, end: OutboxPosition) throws -> OutboxBatch {
        let start = c.shipped
        guard end.file == start.file else {
            throw StorageError(.corrupt, "outbox cursor's in-flight batch spans files", file: cursorPath)
        }
        let read = try Self.readRecords(path(start.file), from: start.offset, limit: end.offset, maxBytes: Int.max)
        var records: [EventRecord] = []
        var last = start.offset
        for p in read {
            records.append(contentsOf: try decode(p.bytes, file: start.file, offset: p.offset))
            last = p.offset + WALRecord.headerSize + p.bytes.count
        }
        guard last == end.offset else {
            throw StorageError(.corrupt, "the outbox's in-flight batch \(start)..<\(end) is no longer readable", file: path(start.file))
        }
        return OutboxBatch(id: Self.batchId(outboxId: c.outboxId, start: start), start: start, end: end, records: records,
                           resumed: true)
    }

    /// Records that `batch` is about to be sent (before the insert, so that after a crash the
    /// same extent is read back and checked).
    public func markInFlight(_ batch: OutboxBatch) throws {
        cursorLock.lock()
        defer { cursorLock.unlock() }
        guard cursor.shipped == batch.start else {
            throw StorageError(.invalid, "batch \(batch.start) is not at the outbox cursor \(cursor.shipped)", file: cursorPath)
        }
        if cursor.inFlightEnd == batch.end { return }
        guard cursor.inFlightEnd == nil else {
            throw StorageError(.invalid, "another batch is in flight", file: cursorPath)
        }
        var next = cursor
        next.inFlightEnd = batch.end
        try persist(next)
    }

    /// Advances the cursor past `batch` (it is in the remote store).
    public func markShipped(_ batch: OutboxBatch) throws {
        cursorLock.lock()
        defer { cursorLock.unlock() }
        guard cursor.shipped == batch.start else {
            throw StorageError(.invalid, "batch \(batch.start) is not at the outbox cursor \(cursor.shipped)", file: cursorPath)
        }
        var next = cursor
        next.shipped = batch.end
        next.inFlightEnd = nil
        do {
            try persist(next)
        } catch let e as StorageError where e.afterCommit {
            shipped(rows: batch.rows)
            throw e
        }
        shipped(rows: batch.rows)
    }

    private func shipped(rows: Int) {
        mutex.lock()
        pending = max(0, pending - rows)
        mutex.unlock()
    }

    /// Moves the cursor to the start of a later file and deletes the files before it.
    private func advance(to pos: OutboxPosition) throws {
        cursorLock.lock()
        defer { cursorLock.unlock() }
        guard cursor.inFlightEnd == nil, cursor.shipped < pos else { return }
        var next = cursor
        next.shipped = pos
        try persist(next)
        for f in (try? logFiles()) ?? [] where f < pos.file { fs.remove(path(f)) }
    }

    /// Replaces the cursor file (caller holds `cursorLock`). After a failure past the rename the new
    /// cursor is in place: memory follows the disk, and the error is rethrown.
    private func persist(_ next: OutboxCursor) throws {
        do {
            try fs.writeAtomically(cursorPath, next.encode())
        } catch let e as StorageError where e.afterCommit {
            cursor = next
            throw e
        }
        cursor = next
    }

    /// Releases the directory; later appends fail. The log and cursor stay for the next open.
    public func close() {
        mutex.lock()
        wal?.close()
        wal = nil
        mutex.unlock()
        dirLock.release()
    }

    // MARK: - File reading

    private func path(_ file: UInt64) -> String { directory + "/" + WALFile.name(file) }

    private func decode(_ payload: [UInt8], file: UInt64, offset: Int) throws -> [EventRecord] {
        do {
            return try payload.withUnsafeBytes { try WALRecord.decodeEvents($0) }
        } catch let e as WALRecord.BadPayload {
            throw StorageError(.corrupt, "outbox record is malformed: \(e.reason)", file: path(file), offset: offset)
        }
    }

    /// The row count an events payload declares (bytes 1..<5 after the kind byte).
    static func rowCount(_ payload: [UInt8]) -> Int {
        guard payload.count >= 5 else { return 0 }
        return Int(payload[1]) | Int(payload[2]) << 8 | Int(payload[3]) << 16 | Int(payload[4]) << 24
    }

    /// The whole, verified records of the file at `path` from `from` up to `limit` bytes of it
    /// (nil: its size), reading at most `maxBytes` unless one record is longer. Offsets are the
    /// records' (headers') positions in the file. A torn tail ends the list.
    static func readRecords(_ path: String, from: Int, limit: Int?, maxBytes: Int) throws -> [(offset: Int, bytes: [UInt8])] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.io, "cannot open: \(FileSystem.errnoMessage())", file: path, errno: errno) }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StorageError(.io, "cannot stat: \(FileSystem.errnoMessage())", file: path, errno: errno) }
        let size = min(Int(st.st_size), limit ?? Int.max)
        guard from <= size else {
            throw StorageError(.corrupt, "outbox cursor at \(from) is past the end of the log file (\(size) bytes)", file: path)
        }
        var want = min(size - from, maxBytes)
        while true {
            var buf = [UInt8](repeating: 0, count: want)
            var got = 0
            while got < want {
                let n = buf.withUnsafeMutableBytes { b in
                    // `got < want == b.count`, so the base address exists.
                    pread(fd, b.baseAddress.map { $0 + got }, want - got, off_t(from + got))
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw StorageError(.io, "cannot read: \(n < 0 ? FileSystem.errnoMessage() : "file shrank")", file: path, offset: from + got)
                }
                got += n
            }
            let scan = try buf.withUnsafeBytes { try WALRecord.scan($0, file: path) }
            if scan.payloads.isEmpty && want < size - from {
                want = size - from
                continue
            }
            return scan.payloads.map { (from + $0.offset, $0.bytes) }
        }
    }
}
