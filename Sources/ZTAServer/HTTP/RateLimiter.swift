import Foundation
import Synchronization

/// The outcome of a rate-limit check, with what the `X-RateLimit-*` headers report.
struct RateDecision: Sendable {
    var allowed: Bool
    var limit: Int
    /// Remaining after this request.
    var remaining: Int
    /// Unix seconds of the window's end.
    var reset: Int64
    /// Seconds until a retry can succeed (≥ 1), for 429.
    var retryAfter: Int

    var headers: [(String, String)] {
        [("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(remaining)),
         ("X-RateLimit-Reset", String(reset))]
    }
}

/// Fixed-window counters in memory (api.md §1): a window starts at the key's first counted
/// request; refused requests are not counted.
final class RateLimiter: Sendable {
    private struct Window { var start: Double; var count: Int; var length: Double }
    /// A key's window of one length (no string built per check).
    private struct Slot: Hashable { var key: String; var window: Int }
    private let windows = Mutex<[Slot: Window]>([:])
    private let lastPurge = Mutex<Double>(0)

    /// Counts one request against every limit in `limits` (all must allow; nothing is counted
    /// when one refuses). Reports the window with the fewest remaining (ties: the first).
    func check(_ key: String, _ limits: [RateLimit], now: Double = Date().timeIntervalSince1970) -> RateDecision {
        purgeIfDue(now)
        return windows.withLock { w -> RateDecision in
            var states: [(RateLimit, Window, Slot)] = []
            states.reserveCapacity(limits.count)
            for l in limits {
                let k = Slot(key: key, window: l.window)
                var win = w[k] ?? Window(start: now, count: 0, length: Double(l.window))
                if now >= win.start + win.length { win = Window(start: now, count: 0, length: Double(l.window)) }
                states.append((l, win, k))
            }
            if let denied = states.first(where: { $0.1.count >= $0.0.limit }) {
                let (l, win, _) = denied
                let end = win.start + win.length
                return RateDecision(allowed: false, limit: l.limit, remaining: 0, reset: Int64(end.rounded(.up)),
                                    retryAfter: max(1, Int((end - now).rounded(.up))))
            }
            // With no limits at all, nothing is counted and everything is allowed.
            var best = RateDecision(allowed: true, limit: 0, remaining: Int.max, reset: 0, retryAfter: 0)
            for (l, var win, k) in states {
                win.count += 1
                w[k] = win
                let d = RateDecision(allowed: true, limit: l.limit, remaining: l.limit - win.count,
                                     reset: Int64((win.start + win.length).rounded(.up)), retryAfter: 0)
                if d.remaining < best.remaining { best = d }
            }
            return best
        }
    }

    /// Whether `key` is currently over `limit`, without counting.
    func isExhausted(_ key: String, _ limit: RateLimit, now: Double = Date().timeIntervalSince1970) -> (Bool, Int) {
        windows.withLock { w in
            guard let win = w[Slot(key: key, window: limit.window)], now < win.start + win.length else { return (false, 0) }
            return (win.count >= limit.limit, max(1, Int((win.start + win.length - now).rounded(.up))))
        }
    }

    /// Forgets a key's windows (e.g. failed logins after a success).
    func reset(_ key: String, _ limit: RateLimit) {
        _ = windows.withLock { $0.removeValue(forKey: Slot(key: key, window: limit.window)) }
    }

    /// Drops expired windows once a minute so memory stays bounded.
    private func purgeIfDue(_ now: Double) {
        let due = lastPurge.withLock { last -> Bool in
            if now - last < 60 { return false }
            last = now
            return true
        }
        if due { windows.withLock { w in w = w.filter { now < $0.value.start + $0.value.length } } }
    }
}
