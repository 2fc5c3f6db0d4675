import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where webhook deliveries run: one event-loop thread of their own, at the lowest CPU priority,
/// that is both the executor of the sender tasks (`TaskExecutor`: building bodies, signing,
/// bookkeeping) and the event loop of the webhooks' HTTP client (connections, parsing).
///
/// Why: a tracked event can ask for up to ten deliveries (one per webhook), each far costlier
/// than the tracking itself (JSON, HMAC, an HTTP exchange). On the server's own threads they
/// took ~70 % of the tracking throughput under load. On a `nice 19` thread the kernel gives
/// them only the CPU that tracking and queries leave; under overload the per-webhook queues
/// fill and drop their oldest deliveries (api.md §7.8, counted in `/metrics`) instead of the
/// server slowing down.
///
/// The thread starts with the first delivery (most servers and tests never send one).
final class WebhookExecutor: TaskExecutor, Sendable {
    /// The nice value of the delivery thread (Linux: per thread; 19 = the lowest priority).
    static let niceness: Int32 = 19

    private let state = Mutex<(group: MultiThreadedEventLoopGroup?, stopped: Bool)>((nil, false))

    /// The delivery thread's event loop; nil once shut down.
    var loop: (any EventLoop)? {
        state.withLock { s in
            if s.stopped { return nil }
            if let g = s.group { return g.next() }
            let g = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            g.next().execute { Self.lowerCurrentThreadPriority() }
            s.group = g
            return g.next()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        guard let loop else {
            // Shut down (a sender still finishing during server stop): the default executor.
            globalConcurrentExecutor.enqueue(job)
            return
        }
        let unowned = UnownedJob(job)
        loop.execute { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Stops the thread (after the HTTP clients using it were shut down). Idempotent.
    func shutdown() async {
        let g = state.withLock { s -> MultiThreadedEventLoopGroup? in
            s.stopped = true
            defer { s.group = nil }
            return s.group
        }
        try? await g?.shutdownGracefully()
    }

    /// Lowers the calling thread's scheduling priority. On Linux the nice value is a per-thread
    /// attribute and `setpriority(PRIO_PROCESS, 0, …)` changes the calling thread only (see
    /// setpriority(2), "Notes"). Best effort: elsewhere, or if refused, nothing changes.
    static func lowerCurrentThreadPriority() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
    }
}
