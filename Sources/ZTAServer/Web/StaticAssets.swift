import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One servable file, prepared once at startup: its bytes, their gzip form, and the headers.
struct WebAsset: Sendable {
    let body: [UInt8]
    /// Precompressed (nil when compression does not pay or failed).
    let gzipped: [UInt8]?
    let contentType: String
    /// The content hash (first 12 hex digits of SHA-256 over the served bytes).
    let hash: String
    let cacheControl: String
    /// Further headers (CSP on HTML, CORP on the tracking scripts).
    let headers: [(String, String)]

    init(body: [UInt8], contentType: String, cacheControl: String, headers: [(String, String)] = []) {
        self.body = body
        self.contentType = contentType
        self.cacheControl = cacheControl
        self.headers = headers
        hash = SHA256.hash(data: body).prefix(6).map { String(format: "%02x", $0) }.joined()
        let z = body.count > 256 ? Gzip.compress(body) : nil
        gzipped = z.flatMap { $0.count < body.count ? $0 : nil }
    }
}

/// The tracking scripts and the dashboard, served by the one binary (issue 12).
///
/// The bytes come from `Sources/ZTAServer/Web/Assets/` — embedded into the binary at build time
/// (`PackageResources`), or read from `ZTAS_WEB_DIR` when a developer sets it (edit, restart, no
/// rebuild). The dashboard's script, style sheet and icon are served under content-hashed names
/// (`/assets/app.<hash>.js`) cached for a year; `/js/analytics.js` and `/js/heatmap.js` keep their
/// stable URLs (sites embed them) with a short max-age. Every answer has an `ETag` (a matching
/// `If-None-Match` gives 304) and a gzip body when the client accepts it.
final class StaticAssets: Sendable {
    /// By request path.
    private let byPath: [String: WebAsset]
    /// The dashboard page (served at `/` and every dashboard path).
    let page: WebAsset

    /// The Content-Security-Policy of the dashboard: no inline script or style, API on the same
    /// origin, frames (the heatmap's live page) from anywhere, never framed itself.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; frame-src *; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

    static let immutable = "public, max-age=31536000, immutable"
    static let trackerCache = "public, max-age=3600, must-revalidate"

    /// Hashed dashboard files: name, extension, content type.
    private static let hashed: [(String, String, String)] = [
        ("app", "js", "text/javascript; charset=utf-8"),
        ("app", "css", "text/css; charset=utf-8"),
        ("favicon", "svg", "image/svg+xml"),
    ]

    init(publicURL: String, files: [String: [UInt8]]) {
        var map: [String: WebAsset] = [:]
        var replacements: [(String, String)] = [("{{publicURL}}", Self.escapeHTML(publicURL))]
        for (name, ext, type) in Self.hashed {
            let a = WebAsset(body: files["\(name).\(ext)"] ?? [], contentType: type, cacheControl: Self.immutable)
            let url = "/assets/\(name).\(a.hash).\(ext)"
            map[url] = a
            replacements.append(("{{\(name).\(ext)}}", url))
        }
        let scriptHeaders = [("Cross-Origin-Resource-Policy", "cross-origin"), ("X-Content-Type-Options", "nosniff")]
        for name in ["analytics", "heatmap"] {
            map["/js/\(name).js"] = WebAsset(body: files["\(name).js"] ?? [], contentType: "text/javascript; charset=utf-8",
                                             cacheControl: Self.trackerCache, headers: scriptHeaders)
        }
        var html = String(decoding: files["index.html"] ?? [], as: UTF8.self)
        for (k, v) in replacements { html = html.replacingOccurrences(of: k, with: v) }
        page = WebAsset(body: Array(html.utf8), contentType: "text/html; charset=utf-8", cacheControl: "no-cache",
                        headers: [("Content-Security-Policy", Self.contentSecurityPolicy),
                                  ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                                  ("X-Frame-Options", "DENY")])
        byPath = map
    }

    /// The embedded files, or those of `ZTAS_WEB_DIR` (development).
    static func load(publicURL: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> StaticAssets {
        var files = EmbeddedWebFiles.all
        if let dir = environment["ZTAS_WEB_DIR"], !dir.isEmpty {
            for name in files.keys {
                if let d = FileManager.default.contents(atPath: dir + "/" + name) { files[name] = Array(d) }
            }
        }
        return StaticAssets(publicURL: publicURL, files: files)
    }

    /// The asset at a path (`/assets/app.<hash>.js`, `/js/analytics.js`), nil if none.
    func asset(_ path: String) -> WebAsset? { byPath[path] }

    /// The answer for one asset: 304 on a matching `If-None-Match`, else the body — gzip when
    /// `Accept-Encoding` allows it.
    static func respond(_ a: WebAsset, acceptEncoding: String?, ifNoneMatch: String?) -> Response {
        let gzip = a.gzipped != nil && acceptsGzip(acceptEncoding)
        let etag = gzip ? "\"\(a.hash)-gz\"" : "\"\(a.hash)\""
        var headers = HTTPFields()
        headers[.cacheControl] = a.cacheControl
        headers[.eTag] = etag
        if a.gzipped != nil { headers[.vary] = "Accept-Encoding" }
        for (k, v) in a.headers { if let n = HTTPField.Name(k) { headers[n] = v } }
        if let inm = ifNoneMatch, matches(inm, hash: a.hash) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = a.contentType
        let bytes = gzip ? (a.gzipped ?? a.body) : a.body
        if gzip { headers[.contentEncoding] = "gzip" }
        headers[.contentLength] = String(bytes.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Whether `Accept-Encoding` lists gzip (or `*`) with a non-zero q.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for part in header.lowercased().split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let coding = fields.first, coding == "gzip" || coding == "*" else { continue }
            let q = fields.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if q > 0 { return true }
        }
        return false
    }

    /// `If-None-Match` against either representation's tag (weak comparison, `*` matches).
    static func matches(_ header: String, hash: String) -> Bool {
        for raw in header.split(separator: ",") {
            var t = raw.trimmingCharacters(in: .whitespaces)
            if t == "*" { return true }
            if t.hasPrefix("W/") { t.removeFirst(2) }
            if t == "\"\(hash)\"" || t == "\"\(hash)-gz\"" { return true }
        }
        return false
    }

    static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Routes of the web front end.
extension ServerCore {
    /// `GET` of a dashboard page (`/`, `/reset-password`, `/sites/…`): the one HTML document.
    func dashboardPage(_ call: Call) async throws -> Reply.Out {
        StaticAssets.respond(web.page, acceptEncoding: call.header("Accept-Encoding"), ifNoneMatch: call.header("If-None-Match"))
    }

    /// `GET` of a script or hashed asset; 404 for an unknown name (an old hash after an upgrade).
    func webAsset(_ call: Call) async throws -> Reply.Out {
        guard let a = web.asset(call.path) else { throw APIError.notFound }
        return StaticAssets.respond(a, acceptEncoding: call.header("Accept-Encoding"), ifNoneMatch: call.header("If-None-Match"))
    }
}
