import HTTPTypes
import Hummingbird

/// Who may call an endpoint (api.md §3).
enum AuthPolicy: Sendable {
    /// No credentials read.
    case none
    /// A user session (JWT); API keys get 403 `This endpoint requires a user session`.
    case jwt
    /// A JWT, or an API key of at least this scope.
    case jwtOrKey(KeyScope)

    var isNone: Bool { if case .none = self { true } else { false } }
}

/// API key scopes, `read` ⊂ `write` ⊂ `admin`.
enum KeyScope: String, Sendable, Comparable {
    case read, write, admin
    var rank: Int { self == .read ? 0 : self == .write ? 1 : 2 }
    static func < (a: KeyScope, b: KeyScope) -> Bool { a.rank < b.rank }
}

/// How the dispatcher reads a request body before the handler runs.
enum BodyPolicy: Sendable {
    /// Not read (GET, DELETE with query parameters).
    case ignore
    /// Read whole, at most this many bytes (else 413).
    case limit(Int)
    /// Left to the handler (streamed imports); `Content-Length` above the limit is refused at once.
    case stream(Int)
}

/// One method of one route.
struct Endpoint: Sendable {
    var auth: AuthPolicy
    var body: BodyPolicy
    /// Limits counted per client IP before any credential (login, register, …).
    var ipLimits: (bucket: String, limit: RateLimit)?
    /// A further limit counted per authenticated user after the general one (invitations).
    var userLimits: (bucket: String, limit: RateLimit)? = nil
    /// Whether the generic CORS headers apply (all `/api` but track).
    var cors = true
    var handler: @Sendable (Call) async throws -> Response
}

/// Routes by path template (`/api/goals/{id}/stats`), then by method.
struct RouteTable: Sendable {
    struct Route: Sendable {
        let template: String
        let segments: [Substring]
        var methods: [HTTPRequest.Method: Endpoint]
    }

    private var exact: [String: Int] = [:]
    private(set) var routes: [Route] = []

    mutating func add(_ method: HTTPRequest.Method, _ template: String, _ e: Endpoint) {
        if let k = routes.firstIndex(where: { $0.template == template }) {
            routes[k].methods[method] = e
            return
        }
        routes.append(Route(template: template, segments: template.split(separator: "/"), methods: [method: e]))
        if !template.contains("{") { exact[template] = routes.count - 1 }
    }

    /// The route of a path (one trailing slash already removed) and its `{name}` parameters.
    func match(_ path: String) -> (Route, [String: String])? {
        if let k = exact[path] { return (routes[k], [:]) }
        let segs = path.split(separator: "/")
        outer: for r in routes where r.template.contains("{") && r.segments.count == segs.count {
            var params: [String: String] = [:]
            for (a, b) in zip(r.segments, segs) {
                if a.first == "{" && a.last == "}" {
                    params[String(a.dropFirst().dropLast())] = String(b)
                } else if a != b {
                    continue outer
                }
            }
            return (r, params)
        }
        return nil
    }
}
