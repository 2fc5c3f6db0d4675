import Synchronization

/// Server-assigned sessions for tracked events without a `sessionId` (events.md §1): same
/// visitor, same site, no event for 30 minutes ⇒ new session. In memory; a restart starts new
/// sessions. Session ids are random, so they reveal nothing about the visitor.
final class SessionTracker: Sendable {
    static let timeoutMs: Int64 = 30 * 60 * 1000

    private struct Key: Hashable { var site: String; var visitor: UInt64 }
    private struct Entry { var session: UInt64; var lastSeen: Int64 }
    private struct State { var entries: [Key: Entry] = [:]; var lastPurge: Int64 = 0 }
    private let state = Mutex(State())

    /// The visitor id to store and its session. When the visitor has an open session under
    /// yesterday's salt (a session over midnight), that id and session continue.
    func assign(site: String, visitor: UInt64, previousVisitor: UInt64?, nowMs: Int64) -> (visitor: UInt64, session: UInt64) {
        state.withLock { s in
            if nowMs - s.lastPurge > 60_000 {
                s.entries = s.entries.filter { nowMs - $0.value.lastSeen < Self.timeoutMs }
                s.lastPurge = nowMs
            }
            let key = Key(site: site, visitor: visitor)
            if let e = s.entries[key], nowMs - e.lastSeen < Self.timeoutMs {
                s.entries[key] = Entry(session: e.session, lastSeen: max(e.lastSeen, nowMs))
                return (visitor, e.session)
            }
            if let pv = previousVisitor {
                let pk = Key(site: site, visitor: pv)
                if let e = s.entries[pk], nowMs - e.lastSeen < Self.timeoutMs {
                    s.entries[pk] = Entry(session: e.session, lastSeen: max(e.lastSeen, nowMs))
                    return (pv, e.session)
                }
            }
            var g = SystemRandomNumberGenerator()
            let session = UInt64.random(in: 1...UInt64.max, using: &g)
            s.entries[key] = Entry(session: session, lastSeen: nowMs)
            return (visitor, session)
        }
    }

    /// Open sessions (tests, metrics).
    var count: Int { state.withLock { $0.entries.count } }
}
