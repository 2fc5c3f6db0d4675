import Foundation
import ZTAFormat
import ZTAStorage

/// A mutable box shared by the workers of one parallel step. Each worker touches only its own
/// slots, or the step is followed by a barrier (`concurrentPerform` returns) before reads.
final class SharedBox<T>: @unchecked Sendable {
    var value: T
    init(_ v: T) { value = v }
}

/// Runs `body(worker)` for `count` workers in parallel and waits for all of them.
func parallel(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 { body(0); return }
    withoutActuallyEscaping(body) { b in
        let box = SharedBox(b)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// Loads the chunks of a scan plan in waves of bounded size, decoding and preparing the chunks
/// of a wave in parallel, then hands each wave to `process`. Memory stays bounded by the wave.
struct WaveScanner {
    let threads: Int
    /// Upper bound of rows decoded and held at once (unless one chunk alone is larger).
    var waveRows = 2_000_000

    func run<P>(_ tasks: [ChunkTask], prepare: @escaping (ColumnChunk) -> P,
                process: ([P]) throws -> Void) throws {
        try run(tasks, load: { task, _ in prepare(try task.load()) }, process: process)
    }

    /// `run`, where `load(task, worker)` loads and prepares a task itself and knows which worker
    /// runs it (for per-worker scratch).
    func run<P>(_ tasks: [ChunkTask], load: @escaping (ChunkTask, Int) throws -> P,
                process: ([P]) throws -> Void) throws {
        var start = 0
        while start < tasks.count {
            var end = start
            var rows = 0
            while end < tasks.count && (end == start || rows + tasks[end].rowCount <= waveRows) {
                rows += tasks[end].rowCount
                end += 1
            }
            let wave = Array(tasks[start..<end])
            let out = SharedBox([P?](repeating: nil, count: wave.count))
            let err = SharedBox<Error?>(nil)
            let lock = NSLock()
            let next = SharedBox(0)
            // Workers pull chunks from a shared counter so uneven chunks balance out.
            parallel(min(threads, wave.count)) { w in
                while true {
                    lock.lock()
                    let k = next.value
                    next.value += 1
                    lock.unlock()
                    if k >= wave.count { break }
                    do {
                        let p = try load(wave[k], w)
                        lock.lock(); out.value[k] = p; lock.unlock()
                    } catch {
                        lock.lock(); err.value = error; lock.unlock()
                    }
                }
            }
            if let e = err.value { throw e }
            try process(out.value.map { $0! })
            start = end
        }
    }
}

/// Calls `body` with base pointers of several arrays (empty arrays give a valid dummy pointer).
func withPointers<T, R>(_ arrays: [[T]], _ body: ([UnsafePointer<T>]) throws -> R) rethrows -> R {
    var ptrs: [UnsafePointer<T>] = []
    ptrs.reserveCapacity(arrays.count)
    func rec(_ i: Int) throws -> R {
        if i == arrays.count { return try body(ptrs) }
        return try arrays[i].withUnsafeBufferPointer { b in
            ptrs.append(b.baseAddress ?? UnsafePointer(dummyBuffer.assumingMemoryBound(to: T.self)))
            return try rec(i + 1)
        }
    }
    return try rec(0)
}

/// Pointer to the elements of an array, or a dummy for an empty one.
@inline(__always)
func withPtr<T, R>(_ a: [T], _ body: (UnsafePointer<T>) throws -> R) rethrows -> R {
    try a.withUnsafeBufferPointer { b in
        try body(b.baseAddress ?? UnsafePointer(dummyBuffer.assumingMemoryBound(to: T.self)))
    }
}

/// 64 zero bytes: what pointers to absent columns point at (never read past index 0).
nonisolated(unsafe) let dummyBuffer: UnsafeMutableRawPointer = {
    let p = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
    p.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
    return p
}()
