#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only log files under `DATA/wal/`: `<seq>.log`, one per generation.
/// A new generation starts at every open and at every memtable flush, so whole files can be
/// deleted once the manifest says their events live in segments.
final class WALFile {
    let seq: UInt64
    let path: String
    private let fs: FileSystemSeam
    private var fd: Int32
    /// Bytes of whole, durable records: where the file is cut back to after a failed append.
    private(set) var size: Int = 0

    static func name(_ seq: UInt64) -> String {
        let s = String(seq)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s + ".log"
    }

    static func parseName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".log") else { return nil }
        return UInt64(name.dropLast(4))
    }

    /// Creates a new, empty log file and makes its directory entry durable.
    init(directory: String, seq: UInt64, fs: FileSystemSeam) throws {
        self.seq = seq
        self.path = directory + "/" + WALFile.name(seq)
        self.fs = fs
        fd = try fs.openForWriting(path, extraFlags: O_CREAT | O_TRUNC | O_APPEND)
        do { try fs.syncDirectory(directory) } catch {
            fs.close(fd)
            fd = -1
            throw error
        }
    }

    /// Appends framed records and makes them durable before returning.
    ///
    /// When the write or the fsync fails, the file is cut back to its last durable size and
    /// that is fsync'd: if both work, the log is exactly as before the call (nothing of the
    /// failed records can reappear at recovery, and later appends don't land behind a torn
    /// record) and the error is `.unavailable` — retryable, e.g. once ENOSPC clears. If the
    /// repair fails too, the original error is thrown and the file's state is unknown.
    func appendDurably(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw StorageError(.invalid, "the WAL file is closed", file: path) }
        do {
            try bytes.withUnsafeBytes { try fs.write(fd, $0, path: path) }
            try fs.sync(fd, path: path)
        } catch let e as StorageError {
            do {
                try fs.truncate(fd, size: size, path: path)
                try fs.sync(fd, path: path)
            } catch {
                throw e
            }
            var retryable = StorageError(.unavailable, "WAL write failed, nothing written: \(e.message)", file: path, errno: e.errno)
            retryable.offset = size
            throw retryable
        }
        size += bytes.count
    }

    func close() {
        if fd >= 0 { fs.close(fd); fd = -1 }
    }

    deinit { close() }
}
