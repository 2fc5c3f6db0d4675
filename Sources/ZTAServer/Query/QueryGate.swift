import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lets at most `width` aggregate queries (stats, stats-api, heatmaps) run at once; the others
/// wait their turn in arrival order.
///
/// Each query already scans with all of the engine's worker threads, so a second one running
/// beside it on the same cores finishes no sooner in total — but holds a second set of decoded
/// waves and session tables (~150 MB for 30 days of a 7 M-event site), which is what pushed the
/// resident size to ~400 MB under concurrent dashboard load.
///
/// When the last query is done and none follows for `releaseDelay`, the allocator is asked to
/// hand freed pages back to the kernel (glibc keeps them in its arenas otherwise, and an idle
/// server would hold the last query's peak for good). Not after every query: the next one
/// would fault all those pages in again.
final class QueryGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// Bumped by every query start: a scheduled release only runs if nothing started since.
        var generation: UInt64 = 0
    }

    private let width: Int
    private let releaseDelay: Duration
    private let onIdle: @Sendable () -> Void
    private let state = Mutex(State())

    /// `onIdle` runs (before the allocator trim) once no query has run for `releaseDelay`:
    /// the place to drop caches kept for the next query.
    init(width: Int, releaseDelay: Duration = .seconds(5), onIdle: @escaping @Sendable () -> Void = {}) {
        self.width = max(1, width)
        self.releaseDelay = releaseDelay
        self.onIdle = onIdle
    }

    /// Runs `work` on a GCD thread once a slot is free.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await Blocking.run(work)
    }

    private func acquire() async {
        let admitted = state.withLock { s -> Bool in
            s.generation &+= 1
            if s.running < width { s.running += 1; return true }
            return false
        }
        if admitted { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                // A slot may have freed between the two locks.
                if s.running < width { s.running += 1; return true }
                s.waiting.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    private func release() {
        let (next, idleAt) = state.withLock { s -> (CheckedContinuation<Void, Never>?, UInt64?) in
            if !s.waiting.isEmpty { return (s.waiting.removeFirst(), nil) }  // the slot passes on
            s.running -= 1
            return (nil, s.running == 0 ? s.generation : nil)
        }
        next?.resume()
        if let idleAt { scheduleMemoryRelease(ifStillIdleAt: idleAt) }
    }

    private func scheduleMemoryRelease(ifStillIdleAt generation: UInt64) {
        let c = releaseDelay.components
        let delay = DispatchTimeInterval.milliseconds(Int(c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + delay) { [self] in
            let idle = state.withLock { $0.running == 0 && $0.generation == generation }
            if idle {
                onIdle()
                AllocatorTrim.releaseFreeMemory()
            }
        }
    }
}

/// glibc's `malloc_trim(0)`, looked up at run time (absent on other C libraries, then a no-op).
enum AllocatorTrim {
    private typealias TrimFunction = @convention(c) (Int) -> Int32

    private static let trim: TrimFunction? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: TrimFunction.self)
        #else
        return nil
        #endif
    }()

    /// Returns the allocator's free pages to the kernel (resident size drops; nothing in use moves).
    static func releaseFreeMemory() {
        _ = trim?(0)
    }
}
