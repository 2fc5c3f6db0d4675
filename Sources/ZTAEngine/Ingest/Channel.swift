/// Acquisition channel derivation, `events.md` §4 with the host matching of §6.16.

/// Derives the `channel` column from the stored (already normalised) `referrer`, `utm_source`
/// and `utm_medium` values. Matching is exact and case-sensitive, byte for byte; the referrer is
/// expected lower-case and without a leading `www.` (see `Referrer.normalized`), as it is stored.
public enum ChannelClassifier {
    /// The six channels of `events.md` §1.
    public enum Channel: UInt8, CaseIterable, Sendable {
        case direct, organic, referral, social, paid, email

        /// The stored value.
        public var name: String {
            switch self {
            case .direct: "direct"
            case .organic: "organic"
            case .referral: "referral"
            case .social: "social"
            case .paid: "paid"
            case .email: "email"
            }
        }

        /// The stored value as static UTF-8 bytes (no allocation).
        public var utf8: StaticString {
            switch self {
            case .direct: "direct"
            case .organic: "organic"
            case .referral: "referral"
            case .social: "social"
            case .paid: "paid"
            case .email: "email"
            }
        }
    }

    /// §4 rule 1.
    static let paidMedia: [[UInt8]] = ["cpc", "ppc", "paid", "paidsearch", "display", "cpm"].map { Array($0.utf8) }
    /// §4 rule 2 (`utm_source` values; `utm_medium` = `email` is checked separately).
    static let emailSources: [[UInt8]] = ["newsletter", "email"].map { Array($0.utf8) }
    /// §4 rule 3, exact hosts; `google.` and `yandex.` are prefixes (§6.16).
    static let searchHosts: [[UInt8]] = ["bing.com", "duckduckgo.com", "yahoo.com", "baidu.com", "ecosia.org", "search.brave.com"].map { Array($0.utf8) }
    static let searchPrefixes: [[UInt8]] = ["google.", "yandex."].map { Array($0.utf8) }
    /// §4 rule 4, exact hosts.
    static let socialHosts: [[UInt8]] = [
        "facebook.com", "t.co", "twitter.com", "x.com", "linkedin.com", "reddit.com", "instagram.com",
        "youtube.com", "pinterest.com", "tiktok.com", "news.ycombinator.com", "mastodon.social",
    ].map { Array($0.utf8) }
    static let emailMedium: [UInt8] = Array("email".utf8)

    /// The channel of a stored referrer and UTM values, first matching rule of §4.
    public static func channel(referrer: String, utmSource: String, utmMedium: String) -> String {
        var r = referrer, s = utmSource, m = utmMedium
        return r.withUTF8 { rb in
            s.withUTF8 { sb in
                m.withUTF8 { mb in
                    classify(referrer: UnsafeRawBufferPointer(rb), utmSource: UnsafeRawBufferPointer(sb),
                             utmMedium: UnsafeRawBufferPointer(mb)).name
                }
            }
        }
    }

    /// Byte-level form of `channel(referrer:utmSource:utmMedium:)` for the import hot path.
    public static func classify(referrer: UnsafeRawBufferPointer, utmSource: UnsafeRawBufferPointer,
                                utmMedium: UnsafeRawBufferPointer) -> Channel {
        if !utmMedium.isEmpty {
            if contains(paidMedia, utmMedium) { return .paid }
            if equal(utmMedium, emailMedium) { return .email }
        }
        if !utmSource.isEmpty, contains(emailSources, utmSource) { return .email }
        if referrer.isEmpty { return .direct }
        if contains(searchHosts, referrer) || searchPrefixes.contains(where: { hasPrefix(referrer, $0) }) {
            return .organic
        }
        if contains(socialHosts, referrer) { return .social }
        return .referral
    }

    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        a.count == b.count && b.withUnsafeBytes { a.elementsEqual($0) }
    }

    @inline(__always)
    static func contains(_ list: [[UInt8]], _ a: UnsafeRawBufferPointer) -> Bool {
        list.contains { equal(a, $0) }
    }

    @inline(__always)
    static func hasPrefix(_ a: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        a.count >= prefix.count && prefix.withUnsafeBytes { p in
            UnsafeRawBufferPointer(rebasing: a[0..<p.count]).elementsEqual(p)
        }
    }
}
