import Foundation
import Testing
import ZTAServer

/// Issue 12: the dashboard page, its hashed assets and the tracking scripts as the server sends
/// them — caching, ETag/304, gzip, CSP, the tracker's size. (The browser suite in
/// `Tests/browser` drives them in Chromium.)
@Suite("WebAssets", .serialized)
struct WebAssetTests {
    /// The hashed asset URLs the page links (`/assets/app.<hash>.js`, …).
    static func assetURLs(_ html: String) -> [String] {
        let re = try? NSRegularExpression(pattern: "/assets/[a-z]+\\.[0-9a-f]{12}\\.[a-z]+")
        let ns = html as NSString
        return (re?.matches(in: html, range: NSRange(location: 0, length: ns.length)) ?? []).map { ns.substring(with: $0.range) }
    }

    @Test func dashboardPageHasStrictCSPAndHashedAssets() async throws {
        let s = try await TestServer.start()
        for path in ["/", "/login", "/reset-password", "/sites/site_x", "/sites/site_x/heatmap"] {
            let r = try await s.call("GET", path)
            #expect(r.status == 200, "\(path)")
            #expect(r.header("Content-Type") == "text/html; charset=utf-8")
            let csp = r.header("Content-Security-Policy") ?? ""
            for part in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                         "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"] {
                #expect(csp.contains(part), "\(part) in \(csp)")
            }
            #expect(!csp.contains("unsafe-inline"))
            #expect(r.header("Cache-Control") == "no-cache")
            #expect(r.header("ETag") != nil)
        }
        let html = try await s.call("GET", "/").text
        // No inline script or style: every <script> has a src, no style attributes or elements.
        #expect(!html.contains("<style"))
        #expect(!html.contains("style="))
        #expect(html.components(separatedBy: "<script").count - 1 == html.components(separatedBy: "<script type=\"module\" src=").count - 1)
        let urls = Set(Self.assetURLs(html))
        #expect(urls.contains { $0.hasPrefix("/assets/app.") && $0.hasSuffix(".js") })
        #expect(urls.contains { $0.hasPrefix("/assets/app.") && $0.hasSuffix(".css") })
        #expect(html.contains("content=\"http://127.0.0.1\""), "public URL in the page")
        try await s.stop()
    }

    @Test func hashedAssetsAreImmutableWithETagAndGzip() async throws {
        let s = try await TestServer.start()
        let html = try await s.call("GET", "/").text
        let js = try #require(Self.assetURLs(html).first(where: { $0.hasSuffix(".js") }))
        let plain = try await s.call("GET", js)
        #expect(plain.status == 200)
        #expect(plain.header("Cache-Control") == "public, max-age=31536000, immutable")
        #expect(plain.header("Content-Type") == "text/javascript; charset=utf-8")
        #expect(plain.header("Content-Encoding") == nil)
        #expect(plain.header("Vary") == "Accept-Encoding")
        let etag = try #require(plain.header("ETag"))
        // The hash in the name is the hash of the content, and the ETag carries it.
        let hash = js.split(separator: ".")[1]
        #expect(etag == "\"\(hash)\"")
        let again = try await s.call("GET", js, headers: [("If-None-Match", etag)])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        let gz = try await s.call("GET", js, headers: [("Accept-Encoding", "gzip, deflate, br")])
        #expect(gz.status == 200)
        #expect(gz.header("Content-Encoding") == "gzip")
        #expect(gz.body.prefix(2) == [0x1F, 0x8B])
        #expect(gz.body.count < plain.body.count)
        #expect(gz.header("ETag") == "\"\(hash)-gz\"")
        let gz304 = try await s.call("GET", js, headers: [("Accept-Encoding", "gzip"), ("If-None-Match", "\"\(hash)-gz\"")])
        #expect(gz304.status == 304)
        #expect(try await s.call("GET", js, headers: [("Accept-Encoding", "gzip;q=0")]).header("Content-Encoding") == nil)
        #expect(try await s.call("GET", "/assets/app.000000000000.js").status == 404)
        try await s.stop()
    }

    @Test func trackingScriptsAtStableURLsAndSmall() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("web@example.com")
        let r = try await s.call("POST", "/api/sites", token: t, json: ["domain": "shop.example.com"])
        let code = (r.json["site"] as? [String: Any])?["trackingCode"] as? String ?? ""
        #expect(code.contains("src=\"http://127.0.0.1/js/analytics.js\""))
        let js = try await s.call("GET", "/js/analytics.js", headers: [("Accept-Encoding", "gzip")])
        #expect(js.status == 200)
        #expect(js.header("Content-Encoding") == "gzip")
        #expect(js.body.count <= 1536, "analytics.js is \(js.body.count) bytes gzipped")
        #expect(js.header("Cache-Control") == "public, max-age=3600, must-revalidate")
        #expect(js.header("Cross-Origin-Resource-Policy") == "cross-origin")
        let etag = try #require(js.header("ETag"))
        #expect(try await s.call("GET", "/js/analytics.js", headers: [("Accept-Encoding", "gzip"), ("If-None-Match", etag)]).status == 304)
        let hm = try await s.call("GET", "/js/heatmap.js")
        #expect(hm.status == 200)
        #expect(hm.text.contains("/api/track") || hm.text.contains("batch"))
        // Plain GETs only; an unknown method answers 405, an unknown page 404.
        #expect(try await s.call("POST", "/js/analytics.js").status == 405)
        #expect(try await s.call("GET", "/js/other.js").status == 404)
        try await s.stop()
    }
}
