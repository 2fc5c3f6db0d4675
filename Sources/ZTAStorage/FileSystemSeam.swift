#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every call through which the store changes what is on disk: create, write, fsync, truncate,
/// rename, unlink. The store (WAL, segment writer, manifest, compaction, deletion, import) makes
/// them only through the seam it was opened with, so tests can fail or "crash" the store before
/// or after any one of them (`FaultInjectingFileSystem`). Reads go straight to POSIX.
public protocol FileSystemSeam: Sendable {
    /// Opens `path` for writing (`O_WRONLY | O_CLOEXEC | extraFlags`), mode 0644.
    func openForWriting(_ path: String, extraFlags: Int32) throws -> Int32
    /// Writes all of `bytes` at the descriptor's position (or end, with `O_APPEND`).
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws
    /// fsync of a file.
    func sync(_ fd: Int32, path: String) throws
    /// fsync of a directory, so that a create or rename inside it is durable.
    func syncDirectory(_ dir: String) throws
    /// Cuts a file back to `size` bytes.
    func truncate(_ fd: Int32, size: Int, path: String) throws
    func rename(_ from: String, to: String) throws
    func unlink(_ path: String) throws
    func close(_ fd: Int32)
}

/// The real file system.
public struct POSIXFileSystem: FileSystemSeam {
    public init() {}

    public func openForWriting(_ path: String, extraFlags: Int32) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC | extraFlags, 0o644)
        guard fd >= 0 else { throw StorageError(.io, "cannot create: \(FileSystem.errnoMessage())", file: path, errno: errno) }
        return fd
    }

    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, base + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(.io, "write failed: \(FileSystem.errnoMessage())", file: path, errno: errno)
            }
            off += n
        }
    }

    public func sync(_ fd: Int32, path: String) throws {
        if fsync(fd) != 0 { throw StorageError(.io, "fsync failed: \(FileSystem.errnoMessage())", file: path, errno: errno) }
    }

    public func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.io, "cannot open directory: \(FileSystem.errnoMessage())", file: dir, errno: errno) }
        defer { Glibc.close(fd) }
        try sync(fd, path: dir)
    }

    public func truncate(_ fd: Int32, size: Int, path: String) throws {
        if ftruncate(fd, off_t(size)) != 0 {
            throw StorageError(.io, "truncate failed: \(FileSystem.errnoMessage())", file: path, errno: errno)
        }
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw StorageError(.io, "rename failed: \(FileSystem.errnoMessage())", file: to, errno: errno) }
    }

    public func unlink(_ path: String) throws {
        if Glibc.unlink(path) != 0 && errno != ENOENT {
            throw StorageError(.io, "unlink failed: \(FileSystem.errnoMessage())", file: path, errno: errno)
        }
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }
}

/// Composite steps, made of the seam's calls (so a fault can hit each of them).
extension FileSystemSeam {
    /// Writes `bytes` to `path` so that after a crash the file is either absent/old or whole:
    /// temp file, fsync, rename over, fsync the directory. A failure after the rename throws
    /// `StorageError` with `afterCommit` set: the new content is in place (and may or may not
    /// survive a crash), so the caller must treat the write as done, not undo around it.
    func writeAtomically(_ path: String, _ bytes: [UInt8]) throws {
        try writeAtomically(path) { write in try write(bytes) }
    }

    /// `writeAtomically` for content produced in parts: `produce` passes each part, in order,
    /// to the function it is given (compaction writes a merged segment a block at a time).
    func writeAtomically(_ path: String, produce: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        let tmp = path + ".tmp"
        let fd = try openForWriting(tmp, extraFlags: O_CREAT | O_TRUNC)
        do {
            try produce { part in try part.withUnsafeBytes { try write(fd, $0, path: tmp) } }
            try sync(fd, path: tmp)
        } catch {
            close(fd)
            try? unlink(tmp)
            throw error
        }
        close(fd)
        try rename(tmp, to: path)
        do {
            try syncDirectory(FileSystem.directoryName(path))
        } catch var e as StorageError {
            e.afterCommit = true
            throw e
        }
    }

    /// Unlinks, ignoring failure (cleanup of files nothing refers to; open removes leftovers).
    func remove(_ path: String) { try? unlink(path) }
}
