import Foundation

/// URL handling of `/api/track` (api.md §5, events.md §1): the stored `path` and `referrer`.
public enum TrackURLs {
    /// The stored path of a tracked `path` value: a full URL gives its path; query string and
    /// fragment are dropped; empty gives `/`; at most 2048 bytes (cut on a character boundary).
    public static func path(_ raw: String) -> String {
        // Delimiters are found among Unicode scalars, not Characters: a combining mark after `/`,
        // `?` or `#` makes one grapheme with it, which `==` on Characters would not see (a
        // fuzzer found `/` + U+030F stored as `//̏…`).
        var s = Substring(raw.trimmingSpaces())
        if let scheme = s.range(of: "://"),
           s.unicodeScalars[..<scheme.lowerBound].allSatisfy({ $0.properties.isAlphabetic || $0 == "+" || $0 == "-" || $0 == "." }) {
            // `https://host/a/b?x` → `/a/b?x`; a URL without a path is the root.
            let afterHost = s[scheme.upperBound...]
            if let slash = afterHost.unicodeScalars.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
                s = afterHost[slash...]
            } else {
                s = "/"
            }
        }
        if let cut = s.unicodeScalars.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<cut] }
        if s.isEmpty { return "/" }
        var out = String(s)
        if out.utf8.first != UInt8(ascii: "/") { out = "/" + out }
        return truncate(out, maxBytes: 2048)
    }

    /// The stored referrer of a tracked referrer URL: its host, lower-case, without a leading
    /// `www.` and without a port; empty when unparseable, not http(s), or on the site's own
    /// domain (a visit from the site itself is direct).
    public static func referrerHost(_ raw: String, siteDomain: String) -> String {
        let s = raw.trimmingSpaces()
        guard !s.isEmpty, s.utf8.count <= 2048, let scheme = s.range(of: "://") else { return "" }
        let schemeName = s[..<scheme.lowerBound].lowercased()
        guard schemeName == "http" || schemeName == "https" else { return "" }
        var host = s[scheme.upperBound...]
        if let end = host.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { host = host[..<end] }
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        if let colon = host.lastIndex(of: ":"), !host.hasPrefix("[") { host = host[..<colon] }
        var h = host.lowercased()
        guard !h.isEmpty, h.utf8.allSatisfy({ isHostByte($0) }) else { return "" }
        if h.hasPrefix("www.") { h.removeFirst(4) }
        if h.isEmpty { return "" }
        if sameSite(h, siteDomain) { return "" }
        return h
    }

    /// Whether host `h` is the site's domain (or a subdomain of it), up to a leading `www.`.
    public static func sameSite(_ host: String, _ domain: String) -> Bool {
        let a = stripWWW(host.lowercased()), b = stripWWW(domain.lowercased())
        if b.isEmpty { return false }
        return a == b || a.hasSuffix("." + b)
    }

    /// Whether an `Origin` header value names the site's domain as its host, up to a leading `www.`
    /// on either side (api.md §5).
    public static func originMatches(_ origin: String, domain: String) -> Bool {
        let s = origin.trimmingSpaces()
        var host = Substring(s)
        if let scheme = s.range(of: "://") { host = s[scheme.upperBound...] }
        if let end = host.firstIndex(where: { $0 == "/" }) { host = host[..<end] }
        if let colon = host.lastIndex(of: ":"), !host.hasPrefix("[") { host = host[..<colon] }
        let h = stripWWW(host.lowercased()), d = stripWWW(domain.lowercased())
        return !h.isEmpty && h == d
    }

    static func stripWWW(_ s: String) -> String { s.hasPrefix("www.") ? String(s.dropFirst(4)) : s }

    static func isHostByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E || b == 0x5F
            || b == 0x5B || b == 0x5D || b == 0x3A || b >= 0x80
    }

    /// `s` cut to at most `maxBytes` UTF-8 bytes without splitting a character.
    public static func truncate(_ s: String, maxBytes: Int) -> String {
        if s.utf8.count <= maxBytes { return s }
        var end = s.startIndex
        var bytes = 0
        for i in s.indices {
            let n = s[i].utf8.count
            if bytes + n > maxBytes { break }
            bytes += n
            end = s.index(after: i)
        }
        return String(s[..<end])
    }

    /// `s` trimmed and cut to at most `maxChars` Unicode scalars (code points, as JSON Schema's
    /// `maxLength` counts): counting graphemes would let one "character" carry any number of
    /// combining marks, i.e. no bound on the bytes stored.
    public static func clip(_ s: String, maxChars: Int) -> String {
        let t = s.trimmingSpaces()
        if t.unicodeScalars.count <= maxChars { return t }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: t.unicodeScalars.prefix(maxChars))
        return String(out)
    }
}
