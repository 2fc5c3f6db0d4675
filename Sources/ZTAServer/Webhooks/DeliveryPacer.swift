import Synchronization

/// Spaces webhook delivery attempts, over all webhooks of the server, at least `1 / perSecond`
/// apart, so delivery can never take more than a bounded share of the cores that `/api/track`
/// runs on (api.md §7.8 allows each queue to drop its oldest deliveries when it is over its
/// limit; those drops are counted in `/metrics`). Every attempt counts, retries included.
///
/// A caller reserves its slot first and then sleeps until it: two senders can never both see
/// the same free slot across their wait.
final class DeliveryPacer: Sendable {
    /// Nil: unlimited.
    let interval: Duration?
    private let nextFree = Mutex<ContinuousClock.Instant?>(nil)

    /// `perSecond` ≤ 0 turns pacing off.
    init(perSecond: Int) {
        interval = perSecond > 0 ? .nanoseconds(Int64(1_000_000_000 / perSecond)) : nil
    }

    /// Takes the next free slot at or after `now` and returns how long to wait for it.
    func reserve(now: ContinuousClock.Instant = .now) -> Duration {
        guard let interval else { return .zero }
        return nextFree.withLock { next in
            let slot = max(now, next ?? now)
            next = slot + interval
            return slot - now
        }
    }

    /// Waits for the next slot (returns at once when pacing is off or the slot is free).
    func wait() async {
        let d = reserve()
        if d > .zero { try? await Task.sleep(for: d) }
    }
}
