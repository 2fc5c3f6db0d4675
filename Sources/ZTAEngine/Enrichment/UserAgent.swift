/// What `/api/track` keeps of a User-Agent header (events.md §1): the device class and the
/// browser and OS families. The header itself is never stored.
public struct UserAgentInfo: Sendable, Equatable {
    /// `desktop`, `mobile` or `tablet`.
    public var device: String
    /// Browser family (`Chrome`, `Safari`, `Firefox`, `Edge`, …), empty when unknown.
    public var browser: String
    /// OS family (`Windows`, `macOS`, `iOS`, `Android`, `Linux`, …), empty when unknown.
    public var os: String

    public init(device: String, browser: String, os: String) {
        self.device = device
        self.browser = browser
        self.os = os
    }

    /// "Chrome on macOS", or "Unknown Device" when neither family is known (login session lists).
    public var label: String {
        switch (browser.isEmpty, os.isEmpty) {
        case (false, false): "\(browser) on \(os)"
        case (false, true): browser
        case (true, false): os
        case (true, true): "Unknown Device"
        }
    }
}

/// A small family parser for User-Agent strings: substring rules in priority order, no regular
/// expressions, no allocation beyond one lower-cased copy of the header.
public enum UserAgentParser {
    /// api.md §5: markers (case-insensitive) that make a request a bot's.
    public static let botMarkers = [
        "bot", "crawl", "spider", "slurp", "mediapartners", "facebookexternalhit", "whatsapp", "bingpreview",
        "sogou", "ia_archiver", "anthropic", "headlesschrome", "phantomjs", "selenium", "puppeteer",
        "lighthouse", "pagespeed", "pingdom",
    ]

    /// Whether a request with this User-Agent is dropped as a bot's (empty counts as a bot).
    public static func isBot(_ userAgent: String) -> Bool {
        let ua = userAgent.trimmingSpaces()
        if ua.isEmpty { return true }
        let lower = ua.lowercased()
        return botMarkers.contains { lower.contains($0) }
    }

    /// Device class and families of a User-Agent.
    public static func parse(_ userAgent: String) -> UserAgentInfo {
        let ua = userAgent
        return UserAgentInfo(device: device(ua), browser: browser(ua), os: os(ua))
    }

    static func device(_ ua: String) -> String {
        if ua.contains("iPad") || ua.contains("Tablet") || ua.contains("Kindle") || ua.contains("Silk/") { return "tablet" }
        if ua.contains("Android") { return ua.contains("Mobile") ? "mobile" : "tablet" }
        if ua.contains("Mobi") || ua.contains("iPhone") || ua.contains("iPod") || ua.contains("Windows Phone")
            || ua.contains("Opera Mini") { return "mobile" }
        return "desktop"
    }

    /// Order matters: Chromium derivatives also say `Chrome/` and `Safari/`; Chrome says `Safari/`.
    static func browser(_ ua: String) -> String {
        if ua.contains("Edg/") || ua.contains("Edge/") || ua.contains("EdgA/") || ua.contains("EdgiOS/") { return "Edge" }
        if ua.contains("OPR/") || ua.contains("Opera") || ua.contains("OPiOS/") { return "Opera" }
        if ua.contains("SamsungBrowser/") { return "Samsung Internet" }
        if ua.contains("YaBrowser/") { return "Yandex Browser" }
        if ua.contains("Vivaldi/") { return "Vivaldi" }
        if ua.contains("UCBrowser/") { return "UC Browser" }
        if ua.contains("Firefox/") || ua.contains("FxiOS/") { return "Firefox" }
        if ua.contains("CriOS/") || ua.contains("Chrome/") || ua.contains("Chromium/") { return "Chrome" }
        if ua.contains("MSIE ") || ua.contains("Trident/") { return "Internet Explorer" }
        if ua.contains("Safari/") || (ua.contains("AppleWebKit/") && (ua.contains("iPhone") || ua.contains("iPad"))) {
            return "Safari"
        }
        return ""
    }

    static func os(_ ua: String) -> String {
        if ua.contains("Windows Phone") { return "Windows Phone" }
        if ua.contains("Windows") { return "Windows" }
        if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") { return "iOS" }
        if ua.contains("Android") { return "Android" }
        if ua.contains("CrOS") { return "Chrome OS" }
        if ua.contains("Mac OS X") || ua.contains("Macintosh") { return "macOS" }
        if ua.contains("Linux") || ua.contains("X11") { return "Linux" }
        return ""
    }
}

extension String {
    /// The string without leading and trailing ASCII whitespace (no Foundation).
    func trimmingSpaces() -> String {
        let u = utf8
        guard let first = u.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else { return "" }
        let last = u.lastIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D })!
        return String(self[first...last])
    }
}
