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
    private var fd: Int32
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
    init(directory: String, seq: UInt64) throws {
        self.seq = seq
        self.path = directory + "/" + WALFile.name(seq)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(.io, "cannot create WAL: \(FileSystem.errnoMessage())", file: path) }
        try FileSystem.syncDirectory(directory)
    }

    /// Appends framed records and makes them durable before returning.
    func appendDurably(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try FileSystem.writeAll(fd: fd, $0, path: path) }
        size += bytes.count
        try FileSystem.sync(fd: fd, path: path)
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }

    deinit { close() }
}
