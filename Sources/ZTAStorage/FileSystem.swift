#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The store's only door to the file system: thin POSIX wrappers that turn errno into
/// `StorageError` and make durability explicit (`sync`, `syncDirectory`, atomic replace).
/// Tests inject faults through `FaultInjection`.
public enum FileSystem {
    /// Test hook: called before each durable step with its name; throwing simulates a failure there.
    nonisolated(unsafe) public static var faultHook: ((String) throws -> Void)?

    static func errnoMessage() -> String { String(cString: strerror(errno)) }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw StorageError(.io, "cannot create directory: \(errnoMessage())", file: prefix)
            }
        }
    }

    /// Names in a directory (not `.`/`..`), sorted.
    public static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else {
            if errno == ENOENT { return [] }
            throw StorageError(.io, "cannot list directory: \(errnoMessage())", file: dir)
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func fileSize(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw StorageError(.io, "cannot stat: \(errnoMessage())", file: path) }
        return Int(st.st_size)
    }

    public static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.io, "cannot open: \(errnoMessage())", file: path) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(.io, "read failed: \(errnoMessage())", file: path)
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(.io, "write failed: \(errnoMessage())", file: path)
            }
            off += n
        }
    }

    /// fsync of a file descriptor.
    static func sync(fd: Int32, path: String) throws {
        try faultHook?("fsync \(path)")
        if fsync(fd) != 0 { throw StorageError(.io, "fsync failed: \(errnoMessage())", file: path) }
    }

    /// fsync of a directory, so that a rename or create inside it is durable.
    public static func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.io, "cannot open directory: \(errnoMessage())", file: dir) }
        defer { close(fd) }
        try sync(fd: fd, path: dir)
    }

    /// Writes `bytes` to `path` so that after a crash the file is either absent/old or whole:
    /// temp file, fsync, rename over, fsync the directory.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(.io, "cannot create: \(errnoMessage())", file: tmp) }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd: fd, $0, path: tmp) }
            try sync(fd: fd, path: tmp)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        try faultHook?("rename \(path)")
        guard rename(tmp, path) == 0 else { throw StorageError(.io, "rename failed: \(errnoMessage())", file: path) }
        try syncDirectory(directoryName(path))
    }

    public static func remove(_ path: String) {
        unlink(path)
    }

    /// Removes a directory if it is empty (ignores failure).
    public static func removeEmptyDirectory(_ path: String) {
        rmdir(path)
    }

    public static func directoryName(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }
}

/// A whole file mapped read-only into memory. Segments are read through this: the kernel's
/// page cache is the block cache, and decoding reads straight from the mapping.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.io, "cannot open: \(FileSystem.errnoMessage())", file: path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StorageError(.io, "cannot stat: \(FileSystem.errnoMessage())", file: path) }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw StorageError(.io, "mmap failed: \(FileSystem.errnoMessage())", file: path) }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base { munmap(base, bytes.count) }
    }
}

/// An exclusive advisory lock on `DATA/LOCK`, held for the life of the store.
final class DirectoryLock {
    private let fd: Int32

    init(directory: String) throws {
        let path = directory + "/LOCK"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(.io, "cannot open lock file: \(FileSystem.errnoMessage())", file: path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? FileSystem.readAll(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            close(fd)
            let who = holder.isEmpty ? "another process" : "process \(holder.trimmingSpaces())"
            throw StorageError(.locked, "data directory \(directory) is in use by \(who); stop it first", file: path)
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    private var released = false

    /// Lets another process (or a new store in this one) open the directory.
    func release() {
        if released { return }
        released = true
        flock(fd, LOCK_UN)
        close(fd)
    }

    deinit { release() }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
