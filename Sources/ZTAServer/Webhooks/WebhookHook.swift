import Synchronization

import Crypto

/// One delivery waiting to be sent: the event, its `data` and when it happened. A reference:
/// an event for ten webhooks is built once and queued ten times (a retain each, not a copy of
/// its `data` per webhook on the track path).
final class PendingDelivery: Sendable {
    let event: WebhookEvent
    let data: JSONValue
    let timestampMs: Int64

    init(event: WebhookEvent, data: JSONValue, timestampMs: Int64) {
        self.event = event
        self.data = data
        self.timestampMs = timestampMs
    }
}

/// A bounded FIFO that drops its oldest element when full. Storage grows with use (a webhook
/// that keeps up never allocates its whole capacity), up to `capacity` slots used as a ring.
struct DroppingQueue<Element> {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Appends; returns true when the oldest element was dropped to make room.
    mutating func push(_ e: Element) -> Bool {
        if count == capacity {
            storage[head] = e
            head = (head + 1) % storage.count
            return true
        }
        if count == storage.count {
            // Full but below capacity: lay the ring out from index 0 in storage twice the size
            // (at most `capacity`), so the next pushes fill free slots. Growing by one slot
            // instead would copy the whole ring on every push once it wraps.
            var grown = [Element?](repeating: nil, count: min(capacity, max(16, 2 * count)))
            for k in 0..<count { grown[k] = storage[(head + k) % storage.count] }
            storage = grown
            head = 0
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
        if count == 0 {
            // Idle again: give the memory back.
            storage = []
            head = 0
        }
        return e
    }

    mutating func removeAll() -> Int {
        let n = count
        storage = []
        head = 0
        count = 0
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
        /// `url` parsed once per change of the settings (not per attempt).
        var target: Result<WebhookURL, WebhookURL.Problem>
        /// The HMAC key of `secret`.
        var key: SymmetricKey

        init(_ record: WebhookRecord, allowHTTP: Bool) {
            url = record.url
            secret = record.secret
            events = Set(record.events.compactMap(WebhookEvent.init(rawValue:)))
            target = WebhookURL.parse(record.url, allowHTTP: allowHTTP)
            key = SymmetricKey(data: Array(record.secret.utf8))
        }
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
    private let allowHTTP: Bool

    init(_ record: WebhookRecord, capacity: Int, maxSenders: Int, allowHTTP: Bool) {
        id = record.id
        siteId = record.siteId
        self.allowHTTP = allowHTTP
        settingsBox = Mutex(Settings(record, allowHTTP: allowHTTP))
        queue = Mutex(Queue(pending: DroppingQueue(capacity: capacity), failureCount: record.failureCount))
        self.maxSenders = max(1, maxSenders)
    }

    var settings: Settings { settingsBox.withLock { $0 } }

    func update(_ record: WebhookRecord) {
        settingsBox.withLock {
            $0 = Settings(record, allowHTTP: allowHTTP)
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
