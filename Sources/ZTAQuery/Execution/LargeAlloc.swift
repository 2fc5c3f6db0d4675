import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Allocation of large hash tables and session arrays.
///
/// - 2 MiB-aligned and, on Linux, advised to use transparent huge pages: these tables are probed
///   at random, so with 4 KiB pages nearly every probe would also miss the TLB.
/// - Recycled: freed blocks are kept (up to `poolLimit` bytes) and handed to the next query of a
///   similar size, so a query does not pay page faults and kernel zeroing for fresh memory.
enum LargeAlloc {
    static let hugePage = 2 << 20
    static let poolLimit = 512 << 20

    private static let lock = NSLock()
    nonisolated(unsafe) private static var pool: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var pooledBytes = 0

    /// Block size for `bytes`: a power of two of at least 2 MiB (so blocks are reusable).
    private static func blockSize(_ bytes: Int) -> Int {
        var s = hugePage
        while s < bytes { s <<= 1 }
        return s
    }

    static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(1, count) * MemoryLayout<T>.stride
        if bytes < hugePage { return UnsafeMutablePointer<T>.allocate(capacity: max(1, count)) }
        let size = blockSize(bytes)
        lock.lock()
        if var list = pool[size], let p = list.popLast() {
            pool[size] = list
            pooledBytes -= size
            lock.unlock()
            return p.bindMemory(to: T.self, capacity: count)
        }
        lock.unlock()
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, hugePage, size) == 0, let raw else {
            return UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
        }
        #if os(Linux)
        _ = madvise(raw, size, MADV_HUGEPAGE)
        #endif
        return raw.bindMemory(to: T.self, capacity: count)
    }

    static func deallocate<T>(_ p: UnsafeMutablePointer<T>, count: Int) {
        let bytes = max(1, count) * MemoryLayout<T>.stride
        if bytes < hugePage { p.deallocate(); return }
        let size = blockSize(bytes)
        let raw = UnsafeMutableRawPointer(p)
        lock.lock()
        if pooledBytes + size <= poolLimit {
            pool[size, default: []].append(raw)
            pooledBytes += size
            lock.unlock()
            return
        }
        lock.unlock()
        free(raw)
    }

    /// Frees every pooled block (an idle server calls this so its resident size falls back).
    static func releasePool() {
        lock.lock()
        let blocks = pool.values.flatMap { $0 }
        pool = [:]
        pooledBytes = 0
        lock.unlock()
        for p in blocks { free(p) }
    }
}
