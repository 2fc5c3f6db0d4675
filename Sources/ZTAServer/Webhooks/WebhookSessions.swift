import Synchronization
import ZTAFormat

/// Open sessions of the sites that have a `session_end` (or `goal`) subscriber, so that
/// `session_end` can be sent 30 minutes after a session's last event (api.md §7.8) and a goal
/// fires only at its first completion in a session. In memory and bounded: past `limit` open
/// sessions new ones are not followed (counted in `untracked`); a restart forgets them all.
final class WebhookSessions: Sendable {
    struct Key: Hashable, Sendable {
        var site: String
        var session: UInt64
    }

    /// What `session_end` reports of a session (events.md §3: entry = first pageview; duration =
    /// last − first event of any type).
    struct Open: Sendable, Equatable {
        var entryPage: String?
        var exitPage: String?
        var pageviews = 0
        var events = 0
        var first: Int64
        var last: Int64
        /// Goals completed in this session (their `goal` event was sent).
        var goals: Set<String> = []
    }

    private struct State {
        var open: [Key: Open] = [:]
        var untracked = 0
    }
    private let state = Mutex(State())
    let limit: Int
    static let idleMs: Int64 = 30 * 60 * 1000

    init(limit: Int) {
        self.limit = limit
    }

    /// Adds a tracked event to its session. Returns false when the table is full and the session
    /// is not followed.
    @discardableResult
    func record(_ r: EventRecord) -> Bool {
        state.withLock { s in
            let key = Key(site: r.site, session: r.session)
            if s.open[key] == nil {
                if s.open.count >= limit {
                    s.untracked += 1
                    return false
                }
                s.open[key] = Open(first: r.ts, last: r.ts)
            }
            s.open[key]?.apply(r)
            return true
        }
    }

    /// Marks `goalId` completed in the session; true when it was not yet (the first completion).
    func firstCompletion(site: String, session: UInt64, goalId: String) -> Bool {
        state.withLock { s in
            let key = Key(site: site, session: session)
            guard s.open[key] != nil else { return false }
            return s.open[key]?.goals.insert(goalId).inserted ?? false
        }
    }

    /// Removes and returns the sessions whose last event is at least 30 minutes before `nowMs`.
    func sweep(nowMs: Int64) -> [(Key, Open)] {
        state.withLock { s in
            var ended: [(Key, Open)] = []
            for (k, v) in s.open where nowMs - v.last >= Self.idleMs { ended.append((k, v)) }
            for (k, _) in ended { s.open.removeValue(forKey: k) }
            return ended.sorted { $0.1.last < $1.1.last }
        }
    }

    /// Forgets a site's sessions (its last subscriber is gone, or the site was deleted).
    func forget(site: String) {
        state.withLock { s in s.open = s.open.filter { $0.key.site != site } }
    }

    var count: Int { state.withLock { $0.open.count } }
    var untracked: Int { state.withLock { $0.untracked } }
}

extension WebhookSessions.Open {
    mutating func apply(_ r: EventRecord) {
        first = min(first, r.ts)
        last = max(last, r.ts)
        switch r.type {
        case .pageview:
            pageviews += 1
            if entryPage == nil { entryPage = r.path }
            exitPage = r.path
        case .event:
            events += 1
        default:
            break
        }
    }

    /// `data` of `session_end` (api.md §7.8); `duration` in whole seconds, rounded.
    func json(site: String) -> JSONValue {
        let ms = max(0, last - first)
        return .object([("siteId", .string(site)), ("entryPage", .optional(entryPage)), ("exitPage", .optional(exitPage)),
                        ("pageviews", .int(pageviews)), ("events", .int(events)),
                        ("duration", .int((ms + 500) / 1000))])
    }
}
