import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `FileSystemSeam` that does what the real one does until told otherwise: fail one call with
/// an errno, "crash" just before or just after one call, or fail every write with ENOSPC while
/// the disk is "full". Calls are numbered from 0 in the order the store makes them, so a test
/// can run an operation once to count its calls, then again with a fault at each of them.
///
/// A crash is simulated as the process would see it: from that call on nothing reaches the disk
/// (every later call throws without effect, so no cleanup code can tidy up), and the test drops
/// the store and opens the directory again with the real file system.
public final class FaultInjectingFileSystem: FileSystemSeam, Sendable {
    /// The calls that change the disk.
    public enum Call: String, Sendable { case open, write, sync, syncDirectory, truncate, rename, unlink }

    public enum Fault: Sendable, Equatable {
        /// The call fails with this errno and does nothing.
        case fail(Int32)
        /// The process dies before the call takes effect.
        case crashBefore
        /// The process dies right after the call took effect.
        case crashAfter
    }

    /// Thrown by every call from a crash on.
    public struct Crashed: Error {}

    private struct State {
        var calls = 0
        var faults: [Int: Fault] = [:]
        var crashed = false
        var diskFull = false
        var log: [(Call, String)] = []
    }

    private let base = POSIXFileSystem()
    private let state = Mutex(State())

    public init() {}

    /// Faults by call number (0-based, counted from this object's creation).
    public func inject(_ fault: Fault, atCall n: Int) { state.withLock { $0.faults[n] = fault } }

    /// While true, every `write` fails with ENOSPC (truncation and the rest still work).
    public var diskFull: Bool {
        get { state.withLock { $0.diskFull } }
        set { state.withLock { $0.diskFull = newValue } }
    }

    /// Mutating calls made so far.
    public var callCount: Int { state.withLock { $0.calls } }
    public var crashed: Bool { state.withLock { $0.crashed } }
    /// Each call made (kind and path), in order.
    public var log: [(Call, String)] { state.withLock { $0.log } }

    private func step<T>(_ call: Call, _ path: String, _ perform: () throws -> T) throws -> T {
        let fault = try state.withLock { s throws -> Fault? in
            if s.crashed { throw Crashed() }
            let n = s.calls
            s.calls += 1
            s.log.append((call, path))
            if s.diskFull && call == .write { return .fail(ENOSPC) }
            return s.faults[n]
        }
        switch fault {
        case nil:
            return try perform()
        case .fail(let e)?:
            throw StorageError(.io, "\(call.rawValue) failed: \(String(cString: strerror(e))) (injected)", file: path, errno: e)
        case .crashBefore?:
            state.withLock { $0.crashed = true }
            throw Crashed()
        case .crashAfter?:
            _ = try perform()
            state.withLock { $0.crashed = true }
            throw Crashed()
        }
    }

    public func openForWriting(_ path: String, extraFlags: Int32) throws -> Int32 {
        try step(.open, path) { try base.openForWriting(path, extraFlags: extraFlags) }
    }
    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try step(.write, path) { try base.write(fd, bytes, path: path) }
    }
    public func sync(_ fd: Int32, path: String) throws { try step(.sync, path) { try base.sync(fd, path: path) } }
    public func syncDirectory(_ dir: String) throws { try step(.syncDirectory, dir) { try base.syncDirectory(dir) } }
    public func truncate(_ fd: Int32, size: Int, path: String) throws {
        try step(.truncate, path) { try base.truncate(fd, size: size, path: path) }
    }
    public func rename(_ from: String, to: String) throws { try step(.rename, to) { try base.rename(from, to: to) } }
    public func unlink(_ path: String) throws { try step(.unlink, path) { try base.unlink(path) } }
    /// Closing changes nothing on disk; it always happens (a dead process's descriptors close too).
    public func close(_ fd: Int32) { base.close(fd) }
}
