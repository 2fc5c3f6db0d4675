import Synchronization

/// One delivery waiting to be sent: the event, its `data` and when it happened.
struct PendingDelivery: Sendable {
    var event: WebhookEvent
    var data: JSONValue
    var timestampMs: Int64
}

/// A fixed-capacity FIFO that drops its oldest element when full.
struct DroppingQueue<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        storage = Array(repeating: nil, count: max(1, capacity))
    }

    var capacity: Int { storage.count }

    /// Appends; returns true when the oldest element was dropped to make room.
    mutating func push(_ e: Element) -> Bool {
        if count == storage.count {
            storage[head] = e
            head = (head + 1) % storage.count
            return true
        }
        storage[(head + count) % storage.count] = e
        count += 1
        return false
    }

    mutating func pop() -> Element? {
        guard count > 0 else { return nil }
        let e = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return e
    }

    mutating func removeAll() -> Int {
        let n = count
        while pop() != nil {}
        return n
    }
}

/// The runtime side of one active webhook: its current settings and its pending deliveries,
/// drained by at most `maxSenders` concurrent sender tasks.
final class WebhookHook: Sendable {
    struct Settings: Sendable {
        var url: String
        var secret: String
        var events: Set<WebhookEvent>
    }

    let id: String
    let siteId: String
    private let settingsBox: Mutex<Settings>
    private struct Queue {
        var pending: DroppingQueue<PendingDelivery>
        var senders = 0
        /// Removed from the registry (deleted, disabled): nothing more is sent.
        var retired = false
        /// `failureCount` as last known, so that a success writes SQLite only when it resets one.
        var failureCount: Int
        /// When `lastTriggered` was last written (successes stamp it at most once a second).
        var lastStampMs: Int64 = 0
    }
    private let queue: Mutex<Queue>
    let maxSenders: Int

    init(_ record: WebhookRecord, capacity: Int, maxSenders: Int) {
        id = record.id
        siteId = record.siteId
        settingsBox = Mutex(Settings(url: record.url, secret: record.secret,
                                     events: Set(record.events.compactMap(WebhookEvent.init(rawValue:)))))
        queue = Mutex(Queue(pending: DroppingQueue(capacity: capacity), failureCount: record.failureCount))
        self.maxSenders = max(1, maxSenders)
    }

    var settings: Settings { settingsBox.withLock { $0 } }

    func update(_ record: WebhookRecord) {
        settingsBox.withLock {
            $0 = Settings(url: record.url, secret: record.secret, events: Set(record.events.compactMap(WebhookEvent.init(rawValue:))))
        }
        queue.withLock { $0.failureCount = record.failureCount }
    }

    func subscribes(to e: WebhookEvent) -> Bool { settingsBox.withLock { $0.events.contains(e) } }

    /// Queues a delivery. `startSender`: the caller must start a sender task (one fewer than
    /// `maxSenders` run); `dropped`: the oldest pending delivery made room.
    func enqueue(_ d: PendingDelivery) -> (startSender: Bool, dropped: Bool) {
        queue.withLock { q in
            if q.retired { return (false, false) }
            let dropped = q.pending.push(d)
            if q.senders < maxSenders {
                q.senders += 1
                return (true, dropped)
            }
            return (false, dropped)
        }
    }

    /// The next delivery for a sender; nil ends the sender (counted out in the same step, so a
    /// concurrent `enqueue` either sees it running or starts another).
    func next() -> PendingDelivery? {
        queue.withLock { q in
            if !q.retired, let d = q.pending.pop() { return d }
            q.senders -= 1
            return nil
        }
    }

    /// Gives back the sender slot `enqueue` reserved when no sender could be started.
    func senderNotStarted() {
        queue.withLock { $0.senders -= 1 }
    }

    /// Stops sending; returns the pending deliveries thrown away.
    func retire() -> Int {
        queue.withLock { q in
            q.retired = true
            return q.pending.removeAll()
        }
    }

    var isRetired: Bool { queue.withLock { $0.retired } }
    var pendingCount: Int { queue.withLock { $0.pending.count } }

    /// Whether a success must be written: it resets a failure count, or `lastTriggered` is a
    /// second old. Claims the write (so concurrent successes don't all write).
    func claimSuccessWrite(nowMs: Int64) -> Bool {
        queue.withLock { q in
            if q.failureCount > 0 || nowMs - q.lastStampMs >= 1000 {
                q.failureCount = 0
                q.lastStampMs = nowMs
                return true
            }
            return false
        }
    }

    func noteFailure(count: Int, nowMs: Int64) {
        queue.withLock { q in
            q.failureCount = count
            q.lastStampMs = nowMs
        }
    }
}
