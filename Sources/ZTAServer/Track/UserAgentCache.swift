import Synchronization
import ZTAEngine

/// Remembers what `/api/track` derives from a User-Agent header (bot or not, device and
/// families). Traffic repeats a few thousand distinct headers, and the substring rules cost
/// more than the rest of the request; the cache keeps nothing beyond the process's memory.
final class UserAgentCache: Sendable {
    struct Entry: Sendable { var isBot: Bool; var info: UserAgentInfo }
    private let entries = Mutex<[String: Entry]>([:])
    /// Distinct headers kept; the cache starts over when full (simple, and bounded).
    static let capacity = 4096

    func lookup(_ userAgent: String) -> Entry {
        if let e = entries.withLock({ $0[userAgent] }) { return e }
        let bot = UserAgentParser.isBot(userAgent)
        let e = Entry(isBot: bot, info: bot ? UserAgentInfo(device: "", browser: "", os: "") : UserAgentParser.parse(userAgent))
        entries.withLock { m in
            if m.count >= Self.capacity { m.removeAll(keepingCapacity: true) }
            m[userAgent] = e
        }
        return e
    }
}
