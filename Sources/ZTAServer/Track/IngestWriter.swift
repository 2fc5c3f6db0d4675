import Foundation
import Synchronization
import ZTAEngine
import ZTAFormat

/// Two threads that write the tracked events of all concurrent requests: each request hands its
/// records over and suspends; a free writer takes everything waiting, makes it durable with one
/// `ingest` of the event store (one WAL record, one fsync: the embedded database's WAL, or the
/// ClickHouse store's outbox) and resumes the requests. The second writer
/// keeps ingest going while the first is held up by a memtable flush (which runs inside the
/// append that crosses the threshold); the engine's group commit merges their writes.
///
/// The engine's group commit already shares fsyncs, but each caller had to block a GCD thread
/// until its group was durable: at 64 connections that is 64 parked threads and two extra
/// context switches per request, which cost more CPU than the request itself.
final class IngestWriter: @unchecked Sendable {
    private typealias Waiter = CheckedContinuation<Void, any Error>
    private let db: Database
    /// Where the events go: `db` itself, or another store (ClickHouse) that acknowledges them.
    private let target: any EventBackend
    private let cond = NSCondition()
    private var pending: [([EventRecord], Waiter)] = []
    private var stopping = false
    private let exited = DispatchSemaphore(value: 0)

    struct Stopped: Error, CustomStringConvertible {
        var description: String { "the server is shutting down" }
    }

    private let threads: Int
    /// Memtable rows from which a flush is started on a background thread (nil: never).
    private let backgroundFlushRows: Int?
    private let flushing = Atomic<Bool>(false)

    /// `backgroundFlushRows` should sit below the store's `flushRows`: the append that crosses
    /// that threshold flushes inline, and every request of its round would wait for the flush.
    /// `events`: the store to write to when it is not `db` (then `db`'s memtable gets nothing
    /// and is never flushed from here).
    init(db: Database, events: (any EventBackend)? = nil, threads: Int = 2, backgroundFlushRows: Int? = nil) {
        self.db = db
        let target = events ?? db
        self.target = target
        self.threads = max(1, threads)
        self.backgroundFlushRows = target === db ? backgroundFlushRows : nil
        for k in 0..<self.threads {
            let t = Thread { [self] in loop() }
            t.name = "ztas-ingest-\(k)"
            t.qualityOfService = .userInitiated
            t.start()
        }
    }

    /// Returns once `records` are durable (or throws what the write threw; then nothing of the
    /// round is acknowledged).
    func ingest(_ records: [EventRecord]) async throws {
        try await withCheckedThrowingContinuation { (c: Waiter) in
            cond.lock()
            if stopping {
                cond.unlock()
                c.resume(throwing: Stopped())
                return
            }
            pending.append((records, c))
            cond.signal()
            cond.unlock()
        }
    }

    /// Writes what is still waiting, then ends the threads; returns when they have ended. Call
    /// before closing the database.
    func stop() {
        cond.lock()
        let first = !stopping
        stopping = true
        cond.broadcast()
        cond.unlock()
        if first { for _ in 0..<threads { exited.wait() } }
    }

    private func loop() {
        while true {
            cond.lock()
            while pending.isEmpty && !stopping { cond.wait() }
            if pending.isEmpty {
                cond.unlock()
                exited.signal()
                return
            }
            let round = pending
            pending = []
            cond.unlock()
            var all: [EventRecord] = []
            all.reserveCapacity(round.reduce(0) { $0 + $1.0.count })
            for (records, _) in round { all.append(contentsOf: records) }
            do {
                try target.ingest(all)
                for (_, waiter) in round { waiter.resume() }
            } catch {
                for (_, waiter) in round { waiter.resume(throwing: error) }
            }
            flushInBackgroundIfDue()
        }
    }

    /// Starts one memtable flush off the ingest path when the memtable is nearly full. A failed
    /// flush is left to the append that reaches `flushRows`, which flushes inline and reports it.
    private func flushInBackgroundIfDue() {
        guard let limit = backgroundFlushRows, db.store.memtableRows >= limit,
              flushing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            try? db.store.flush()
            flushing.store(false, ordering: .releasing)
            // The flushed memtable and the encoder's buffers (tens of MB) go back to the kernel;
            // glibc keeps freed heap up to M_TRIM_THRESHOLD (256 MB, set for the query engine).
            AllocatorTrim.releaseFreeMemory()
        }
    }
}
