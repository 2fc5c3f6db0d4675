import HTTPTypes
import Hummingbird
import NIOCore

/// The authenticated caller.
struct Principal: Sendable {
    var user: UserRecord
    /// The login session (`sid`) for a JWT.
    var sessionId: String?
    /// The API key, when the caller used one.
    var apiKey: APIKeyRecord?
}

/// One request as handlers see it: parameters, body, client IP, caller, and the headers the
/// dispatcher adds to whatever answer comes out (rate-limit headers).
final class Call: @unchecked Sendable {
    var request: Request
    let context: ZTARequestContext
    /// Path without its one ignored trailing slash.
    let path: String
    /// The route template (metrics label).
    let route: String
    let pathParams: [String: String]
    let query: [String: String]
    let clientIP: String
    /// Request start, ms since the epoch ("now" of queries).
    let nowMs: Int64
    var body: [UInt8] = []
    var principal: Principal?
    /// The 403 an API key of too weak a scope gets, held back by the dispatcher until the
    /// handler reaches the role/scope step of api.md §1 (`authorizeScope()`).
    var scopeDenial: APIError?
    /// Whether `authorizeScope()` ran: a handler that returns with a denial it never checked is
    /// a bug the dispatcher turns into a 403 (and counts), never a success.
    private(set) var scopeChecked = false
    var responseHeaders: [(String, String)] = []
    private var parsedBody: JSONValue??

    init(request: Request, context: ZTARequestContext, path: String, route: String, pathParams: [String: String],
         query: [String: String], clientIP: String, nowMs: Int64) {
        self.request = request
        self.context = context
        self.path = path
        self.route = route
        self.pathParams = pathParams
        self.query = query
        self.clientIP = clientIP
        self.nowMs = nowMs
    }

    /// The authenticated user. The dispatcher sets `principal` before a JWT/key route's handler
    /// runs, so a miss is a routing bug: it answers 401, it never traps.
    var user: UserRecord {
        get throws(APIError) {
            guard let p = principal else { throw .authRequired }
            return p.user
        }
    }

    /// The login session of a JWT caller (JWT-only routes); 403 for anything else.
    var sessionId: String {
        get throws(APIError) {
            guard let s = principal?.sessionId else { throw .jwtOnly }
            return s
        }
    }

    /// The role/scope step of api.md §1 for the key's scope: throws the held-back 403, if any.
    /// Handlers call it after parameters and visibility (`authorizedSite` does it for them).
    func authorizeScope() throws(APIError) {
        scopeChecked = true
        if let scopeDenial { throw scopeDenial }
    }

    func header(_ name: String) -> String? {
        guard let n = HeaderNames.name(name) else { return nil }
        return request.headers[n]
    }

    /// The body as a JSON object; 400 `Invalid JSON body` otherwise (whatever the Content-Type).
    func json() throws(APIError) -> JSONValue {
        if let cached = parsedBody {
            guard let v = cached else { throw .invalidJSON }
            return v
        }
        let v = JSONCoding.parse(body).flatMap { $0.isObject ? $0 : nil }
        parsedBody = .some(v)
        guard let v else { throw .invalidJSON }
        return v
    }
}

/// Response builders: JSON with `charset=utf-8`, `Cache-Control: no-store` unless told otherwise.
enum Reply {
    static func json(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        bytes(JSONCoding.write(v), status: status)
    }

    static func bytes(_ b: [UInt8], status: HTTPResponse.Status = .ok,
                      contentType: String = "application/json; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: b)))
    }

    private static let success = JSONCoding.write(.object([("success", true)]))

    static func ok(_ message: String? = nil) -> Response {
        if message == nil { return bytes(success) }
        var m: [(String, JSONValue)] = [("success", true)]
        if let message { m.append(("message", .string(message))) }
        return json(.object(m))
    }

    static func error(_ e: APIError) -> Response {
        var r = json(e.body, status: HTTPResponse.Status(code: e.status))
        for (k, v) in e.headers { if let n = HeaderNames.name(k) { r.headers[n] = v } }
        return r
    }
}

extension Reply {
    /// What handlers return.
    typealias Out = Response
}

extension Response {
    static func json(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response { Reply.json(v, status: status) }
    static func ok(_ message: String? = nil) -> Response { Reply.ok(message) }
}
