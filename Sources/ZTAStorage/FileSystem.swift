#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading helpers and directory plumbing over POSIX that turn errno into `StorageError`.
/// Everything that changes a file's content or name goes through a `FileSystemSeam` instead.
public enum FileSystem {
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
///
/// Small files are read into the heap instead: every mapping is an entry of the process's map
/// table (`vm.max_map_count`, 65,530 by default), and a store with tens of thousands of tiny
/// segments — one event imported into each of many months of many sites — would otherwise fail
/// to open. Below `readThreshold` glibc serves the buffer from its heap arenas, not a mapping of
/// its own, so such segments cost memory (their size) but no map entry.
public final class MappedFile: @unchecked Sendable {
    /// Files smaller than this are read, not mapped (below glibc's 128 KiB mmap threshold).
    public static let readThreshold = 64 << 10

    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    private let isMapped: Bool

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
            isMapped = false
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        if size < Self.readThreshold {
            let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            var off = 0
            while off < size {
                let n = pread(fd, buf + off, size - off, off_t(off))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    buf.deallocate()
                    throw StorageError(.io, "cannot read: \(n < 0 ? FileSystem.errnoMessage() : "file shrank")", file: path)
                }
                off += n
            }
            base = buf
            isMapped = false
            bytes = UnsafeRawBufferPointer(start: buf, count: size)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw StorageError(.io, "mmap failed: \(FileSystem.errnoMessage())", file: path) }
        base = p
        isMapped = true
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        guard let base else { return }
        if isMapped { munmap(base, bytes.count) } else { base.deallocate() }
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
