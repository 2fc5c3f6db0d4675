import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lets at most `width` heavy queries (stats, stats-api, heatmaps, exports, realtime, the site
/// list's summaries) run at once; the others wait their turn in arrival order, for at most
/// `queueTimeout` (then 503), so a burst can neither exhaust memory nor queue without end.
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
        /// Waiters in arrival order, by ticket (a timed-out waiter removes its own).
        var waiting: [(ticket: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextTicket: UInt64 = 0
        /// Bumped by every query start: a scheduled release only runs if nothing started since.
        var generation: UInt64 = 0
    }

    private let width: Int
    private let releaseDelay: Duration
    /// How long a query waits for a slot before the request answers 503.
    let queueTimeout: Duration
    private let onIdle: @Sendable () -> Void
    private let state = Mutex(State())

    /// `onIdle` runs (before the allocator trim) once no query has run for `releaseDelay`:
    /// the place to drop caches kept for the next query.
    init(width: Int, releaseDelay: Duration = .seconds(5), queueTimeout: Duration = .seconds(30),
         onIdle: @escaping @Sendable () -> Void = {}) {
        self.width = max(1, width)
        self.releaseDelay = releaseDelay
        self.queueTimeout = queueTimeout
        self.onIdle = onIdle
    }

    /// 503 with `Retry-After`: every slot stayed busy for the whole `queueTimeout`.
    static let busy: APIError = {
        var e = APIError(503, "Service unavailable")
        e.headers = [("Retry-After", "5")]
        return e
    }()

    /// Runs `work` on a GCD thread once a slot is free; 503 when none frees within `queueTimeout`.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withSlot { try await Blocking.run(work) }
    }

    /// Holds a slot while `body` runs; 503 when no slot frees within `queueTimeout`.
    func withSlot<T>(_ body: () async throws -> T) async throws -> T {
        let slot = try await reserve()
        defer { slot.release() }
        return try await body()
    }

    /// Takes a slot to hand over to work that outlives the caller (a streamed export holds it
    /// until its last byte, after the handler has returned its headers — so the wait, and a
    /// 503, come before any answer is committed).
    func reserve() async throws -> Slot {
        guard await acquire() else { throw Self.busy }
        return Slot(gate: self)
    }

    /// A held slot; released once, explicitly or when dropped.
    final class Slot: Sendable {
        private let gate: QueryGate
        private let held = Mutex(true)
        fileprivate init(gate: QueryGate) { self.gate = gate }
        func release() {
            if held.withLock({ h in defer { h = false }; return h }) { gate.release() }
        }
        deinit { release() }
    }

    private func acquire() async -> Bool {
        let ticket = state.withLock { s -> UInt64? in
            s.generation &+= 1
            if s.running < width { s.running += 1; return nil }
            s.nextTicket &+= 1
            return s.nextTicket
        }
        guard let ticket else { return true }
        let timeout = queueTimeout
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { s -> Bool in
                // A slot may have freed between the two locks.
                if s.running < width { s.running += 1; return true }
                s.waiting.append((ticket, c))
                return false
            }
            if now { c.resume(returning: true); return }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                // Still queued: leave the queue and give up. A waiter that was handed a slot is
                // no longer in the queue and is not touched.
                let expired = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                    guard let k = s.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                    return s.waiting.remove(at: k).continuation
                }
                expired?.resume(returning: false)
            }
        }
    }

    fileprivate func release() {
        let (next, idleAt) = state.withLock { s -> (CheckedContinuation<Bool, Never>?, UInt64?) in
            if !s.waiting.isEmpty { return (s.waiting.removeFirst().continuation, nil) }  // the slot passes on
            s.running -= 1
            return (nil, s.running == 0 ? s.generation : nil)
        }
        next?.resume(returning: true)
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
