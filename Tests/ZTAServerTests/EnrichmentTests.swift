import Testing
import ZTAEngine

/// User-Agent families, bot markers and the URL rules of `/api/track`.
@Suite("Enrichment")
struct EnrichmentTests {
    @Test(arguments: [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
         "desktop", "Chrome", "Windows"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0",
         "desktop", "Edge", "Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
         "desktop", "Safari", "macOS"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
         "mobile", "Safari", "iOS"),
        ("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1",
         "tablet", "Chrome", "iOS"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
         "mobile", "Chrome", "Android"),
        ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0 Safari/537.36",
         "tablet", "Samsung Internet", "Android"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "desktop", "Firefox", "Linux"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 OPR/106.0",
         "desktop", "Opera", "Windows"),
        ("curl/8.4.0", "desktop", "", ""),
    ])
    func families(ua: String, device: String, browser: String, os: String) {
        let info = UserAgentParser.parse(ua)
        #expect(info.device == device)
        #expect(info.browser == browser)
        #expect(info.os == os)
    }

    /// Stored fields are cut by code points: combining marks can't ride on one "character".
    @Test func clipCountsCodePoints() {
        let zalgo = "a" + String(repeating: "\u{0301}", count: 5000)
        #expect(TrackURLs.clip(zalgo, maxChars: 100).unicodeScalars.count == 100)
        #expect(TrackURLs.clip("  /pricing  ", maxChars: 100) == "/pricing")
        #expect(TrackURLs.clip("/über", maxChars: 3) == "/üb")
    }

    @Test func bots() {
        #expect(UserAgentParser.isBot(""))
        #expect(UserAgentParser.isBot("   "))
        #expect(UserAgentParser.isBot("Mozilla/5.0 (compatible; Googlebot/2.1)"))
        #expect(UserAgentParser.isBot("Mozilla/5.0 (X11) HeadlessChrome/120"))
        #expect(UserAgentParser.isBot("Chrome-Lighthouse"))
        #expect(UserAgentParser.isBot("ClaudeBot anthropic-ai"))
        #expect(!UserAgentParser.isBot("Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36"))
    }

    @Test func paths() {
        #expect(TrackURLs.path("") == "/")
        #expect(TrackURLs.path("/a/b?x=1#frag") == "/a/b")
        #expect(TrackURLs.path("https://example.com") == "/")
        #expect(TrackURLs.path("https://example.com/blog/post?utm_source=x") == "/blog/post")
        #expect(TrackURLs.path("docs/intro") == "/docs/intro")
        #expect(TrackURLs.path(String(repeating: "a", count: 3000)).utf8.count == 2048)
        #expect(TrackURLs.path("/é" + String(repeating: "é", count: 1500)).utf8.count <= 2048)
    }

    /// Delimiters followed by a combining mark (one grapheme with it) are still delimiters: the
    /// path is cut by Unicode scalars (found by FuzzTrack, Fuzz/regressions/track/).
    @Test func pathDelimitersBeforeCombiningMarks() {
        #expect(TrackURLs.path("/\u{30F}x") == "/\u{30F}x")                 // was "//̏x"
        #expect(TrackURLs.path("\u{30F}x") == "/\u{30F}x")
        #expect(TrackURLs.path("/a?\u{30F}q=1") == "/a")                     // was kept whole
        #expect(TrackURLs.path("/a#\u{301}frag") == "/a")
        #expect(TrackURLs.path("https://example.com/\u{30F}b?x") == "/\u{30F}b")
        #expect(TrackURLs.path("/\u{30F}x").utf8.first == UInt8(ascii: "/"))
    }

    @Test func referrers() {
        #expect(TrackURLs.referrerHost("https://www.Google.com/search?q=x", siteDomain: "example.com") == "google.com")
        #expect(TrackURLs.referrerHost("http://user@news.ycombinator.com:443/item", siteDomain: "example.com") == "news.ycombinator.com")
        #expect(TrackURLs.referrerHost("https://www.example.com/other", siteDomain: "example.com") == "")
        #expect(TrackURLs.referrerHost("https://blog.example.com/", siteDomain: "example.com") == "")
        #expect(TrackURLs.referrerHost("not a url", siteDomain: "example.com") == "")
        #expect(TrackURLs.referrerHost("android-app://com.slack", siteDomain: "example.com") == "")
        #expect(TrackURLs.referrerHost("", siteDomain: "example.com") == "")
    }

    @Test func origins() {
        #expect(TrackURLs.originMatches("https://example.com", domain: "example.com"))
        #expect(TrackURLs.originMatches("https://www.example.com", domain: "example.com"))
        #expect(TrackURLs.originMatches("http://example.com:8080", domain: "www.example.com"))
        #expect(!TrackURLs.originMatches("https://evil.com", domain: "example.com"))
        #expect(!TrackURLs.originMatches("https://example.com.evil.com", domain: "example.com"))
        #expect(!TrackURLs.originMatches("null", domain: "example.com"))
    }
}
