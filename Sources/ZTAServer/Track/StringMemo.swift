import ZTAEngine
import Synchronization

/// A bounded memo of a pure `String → String` function. `/api/track` normalises the same page
/// paths and referrer URLs over and over (a batch often carries one referrer a hundred times),
/// and the URL rules walk Characters, which costs more than the rest of an event.
final class StringMemo: Sendable {
    private let entries = Mutex<[String: String]>([:])
    private let capacity: Int

    /// Keys longer than this are computed every time (they are rare and would bloat the memo).
    static let maxKeyBytes = 512

    init(capacity: Int) { self.capacity = capacity }

    func value(_ key: String, _ compute: (String) -> String) -> String {
        if key.utf8.count > Self.maxKeyBytes { return compute(key) }
        if let v = entries.withLock({ $0[key] }) { return v }
        let v = compute(key)
        entries.withLock { m in
            // Starting over when full keeps the memo bounded without bookkeeping per hit.
            if m.count >= capacity { m.removeAll(keepingCapacity: true) }
            m[key] = v
        }
        return v
    }
}

/// The memos of `/api/track`: stored path of a raw `path`, referrer host of a raw referrer URL
/// (keyed with the site's domain, since the site's own host is direct).
enum TrackMemos {
    static let paths = StringMemo(capacity: 8192)
    static let referrers = StringMemo(capacity: 8192)
    static let origins = StringMemo(capacity: 4096)

    static func path(_ raw: String) -> String { paths.value(raw) { TrackURLs.path($0) } }

    static func referrerHost(_ raw: String, siteDomain: String) -> String {
        if raw.isEmpty { return "" }
        return referrers.value(siteDomain + "\u{0}" + raw) { _ in TrackURLs.referrerHost(raw, siteDomain: siteDomain) }
    }

    /// Whether an `Origin` header belongs to the site's domain (every browser request asks).
    static func originMatches(_ origin: String, domain: String) -> Bool {
        origins.value(domain + "\u{0}" + origin) { _ in TrackURLs.originMatches(origin, domain: domain) ? "1" : "" } == "1"
    }
}
