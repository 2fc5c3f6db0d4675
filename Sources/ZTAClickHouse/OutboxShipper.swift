import Foundation
import ZTAFormat
public import ZTAStorage

/// Ships the tracked events of an `EventOutbox` into ClickHouse, on one background thread.
///
/// Each round takes the next batch from the outbox's cursor (up to `maxRows` events), records it
/// as in flight, inserts it with its `batch_id` and advances the cursor. A batch whose outcome is
/// unknown — in flight when the process died, or its insert failed — is read back with the same
/// extent and id and checked by `ClickHouseBatchLedger` before it is sent again, so every
/// acknowledged event is stored exactly once (at-least-once delivery, deduplicated by id).
/// Failures are retried forever with capped exponential backoff; nothing is dropped, and a
/// ClickHouse outage only makes the outbox grow on the API server's disk.
public final class OutboxShipper: @unchecked Sendable {
    public struct Options: Sendable {
        /// Events per INSERT at most.
        public var maxRows = 100_000
        /// Seconds to wait after a batch smaller than `maxRows` before looking again: ClickHouse
        /// wants few, large inserts (every insert is a part to merge later).
        public var linger: Double = 0.2
        /// Backoff after a failure: doubles from `minBackoff` up to `maxBackoff` seconds.
        public var minBackoff: Double = 0.1
        public var maxBackoff: Double = 5
        /// Per INSERT; an insert still running on the server after the client gave up is the
        /// one case the batch-id check can race with, so this is generous.
        public var insertTimeoutSeconds: Int64 = 120

        public init() {}
    }

    /// Running totals since `init` (for `/metrics`).
    public struct Stats: Sendable, Equatable {
        /// Events inserted (batches found already stored are not counted again).
        public var shippedRows = 0
        public var shippedBatches = 0
        /// Failed rounds (each retried).
        public var errors = 0
        /// Resumed batches found whole in ClickHouse: not sent again.
        public var duplicateBatchesSkipped = 0
        /// Resumed batches found in part: their rows deleted, then sent again.
        public var partialBatchesRepaired = 0
        public var lastError: String?
    }

    public let outbox: EventOutbox
    public let options: Options
    let writer: ClickHouseEventWriter
    let ledger: ClickHouseBatchLedger

    /// Guards `stopping`, `running`, `statsValue`; the loop waits on it between rounds.
    private let cond = NSCondition()
    private var stopping = false
    private var running = false
    private var statsValue = Stats()
    private var onError: (@Sendable (String) -> Void)?
    private let exited = DispatchSemaphore(value: 0)
    /// One round at a time (the loop, or a test calling `shipOnce`).
    private let roundLock = NSLock()

    public init(outbox: EventOutbox, config: ClickHouseConfig, options: Options = Options()) {
        self.outbox = outbox
        self.options = options
        self.writer = ClickHouseEventWriter(config: config)
        self.ledger = ClickHouseBatchLedger(config: config)
    }

    public var stats: Stats {
        cond.lock()
        defer { cond.unlock() }
        return statsValue
    }

    /// Starts the background thread (once). `onError` is told about every failed round.
    public func start(onError: (@Sendable (String) -> Void)? = nil) {
        cond.lock()
        defer { cond.unlock() }
        guard !running && !stopping else { return }
        running = true
        self.onError = onError
        let t = Thread { [self] in loop() }
        t.name = "ztas-clickhouse-shipper"
        t.qualityOfService = .utility
        t.start()
    }

    /// Ends the thread after its current round (an insert under way finishes or times out)
    /// and returns when it has ended. What is not shipped stays in the outbox for the next start.
    public func stop() {
        cond.lock()
        stopping = true
        let wasRunning = running
        running = false
        cond.broadcast()
        cond.unlock()
        if wasRunning { exited.wait() }
    }

    /// Waits until the outbox holds nothing unshipped; false on timeout.
    public func waitUntilDrained(timeout seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while outbox.pendingRows > 0 {
            guard Date() < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    /// One round: ships the next batch, if any. Returns its events (0: nothing to ship).
    /// Throws what failed; the batch stays in flight and the next round checks it.
    @discardableResult
    public func shipOnce() throws -> Int {
        roundLock.lock()
        defer { roundLock.unlock() }
        guard let batch = try outbox.nextBatch(maxRows: options.maxRows) else { return 0 }
        var lo = Int64.max, hi = Int64.min
        for r in batch.records {
            lo = min(lo, r.ts)
            hi = max(hi, r.ts)
        }
        if batch.resumed {
            let stored = try ledger.rows(batchId: batch.id, tsFrom: lo, tsTo: hi)
            if stored == batch.rows {
                try outbox.markShipped(batch)
                update { $0.duplicateBatchesSkipped += 1 }
                return batch.rows
            }
            if stored != 0 {
                try ledger.remove(batchId: batch.id, tsFrom: lo, tsTo: hi)
                update { $0.partialBatchesRepaired += 1 }
            }
        } else {
            // Durable before the insert: after a crash from here on, the same extent is read
            // back and checked instead of being re-batched and sent under a new id.
            try outbox.markInFlight(batch)
        }
        try writer.insert(batch.records, batchId: batch.id, timeoutSeconds: options.insertTimeoutSeconds)
        try outbox.markShipped(batch)
        update {
            $0.shippedRows += batch.rows
            $0.shippedBatches += 1
        }
        return batch.rows
    }

    private func update(_ change: (inout Stats) -> Void) {
        cond.lock()
        change(&statsValue)
        cond.unlock()
    }

    private func loop() {
        var backoff = options.minBackoff
        while true {
            cond.lock()
            let stop = stopping
            cond.unlock()
            if stop { break }
            do {
                let n = try shipOnce()
                backoff = options.minBackoff
                if n < options.maxRows { pause(options.linger) }
            } catch {
                let message = "\(error)"
                cond.lock()
                statsValue.errors += 1
                statsValue.lastError = message
                let report = onError
                cond.unlock()
                report?(message)
                pause(backoff)
                backoff = min(options.maxBackoff, backoff * 2)
            }
        }
        exited.signal()
    }

    /// Sleeps `seconds`, or less if `stop` is called.
    private func pause(_ seconds: Double) {
        cond.lock()
        if !stopping { _ = cond.wait(until: Date(timeIntervalSinceNow: seconds)) }
        cond.unlock()
    }
}
