import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ZTAQuery
import ZTAStorage

/// The one responder of the server: applies api.md §1 in its check order — route and method,
/// body size, credentials, rate limit — then runs the endpoint's handler, and decorates every
/// answer (CORS, rate-limit headers, metrics). Handlers do parameters onwards.
struct Dispatcher: HTTPResponder {
    typealias Context = ZTARequestContext
    let core: ServerCore
    let routes: RouteTable

    static let corsHeaders: [(String, String)] = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS"),
        ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
        ("Access-Control-Expose-Headers", "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Content-Disposition"),
        ("Access-Control-Max-Age", "86400"),
    ]

    func respond(to request: Request, context: ZTARequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var path = request.uri.path
        if path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let isAPI = path == "/api" || path.hasPrefix("/api/")
        var routeLabel = "unmatched"
        var response: Response
        if let (route, params) = routes.match(path) {
            routeLabel = route.template
            response = await dispatch(request, context, path: path, route: route, params: params, isAPI: isAPI)
        } else if request.method == .options && isAPI {
            response = preflight()
        } else {
            response = Reply.error(.notFound)
            if isAPI { add(Self.corsHeaders, to: &response) }
        }
        SecurityHeaders.apply(to: &response.headers)
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        core.metrics.request(method: request.method.rawValue, route: routeLabel, status: response.status.code, seconds: seconds)
        return response
    }

    private func preflight() -> Response {
        var r = Response(status: .noContent)
        add(Self.corsHeaders, to: &r)
        return r
    }

    private func add(_ headers: [(String, String)], to r: inout Response) {
        for (k, v) in headers { if let n = HeaderNames.name(k) { r.headers[n] = v } }
    }

    private func dispatch(_ request: Request, _ context: ZTARequestContext, path: String, route: RouteTable.Route,
                          params: [String: String], isAPI: Bool) async -> Response {
        let method = request.method
        guard let endpoint = route.methods[method] else {
            if method == .options && isAPI {
                if let track = route.methods[.post], !track.cors { return await runTrackPreflight(request) }
                return preflight()
            }
            var allowed = route.methods.keys.map(\.rawValue).sorted()
            if isAPI { allowed.append("OPTIONS") }
            var e = APIError(405, "Method not allowed")
            e.headers = [("Allow", allowed.joined(separator: ", "))]
            var r = Reply.error(e)
            if isAPI { add(Self.corsHeaders, to: &r) }
            return r
        }
        let clientIP = core.clients.clientIP(peer: context.peerAddress, forwardedFor: HeaderNames.forwardedFor.flatMap { request.headers[$0] })
        let call = Call(request: request, context: context, path: path, route: route.template, pathParams: params,
                        query: QueryString.parse(request.uri.query), clientIP: clientIP, nowMs: core.config.clock?() ?? Clock.nowMs())
        var response: Response
        do {
            try await prepare(call, endpoint)
            response = try await endpoint.handler(call)
        } catch let e as APIError where e.status == 401 {
            // Handlers of credential-free routes answer 401 too (login, 2FA validation).
            response = Reply.error(endpoint.auth.isNone ? unauthorized(call, e) : e)
        } catch let e as APIError {
            response = Reply.error(e)
        } catch let e as QueryError {
            response = Reply.error(APIError(e))
        } catch let e as StorageError where e.code == StorageError.Code.unavailable {
            // A write the store could not make (a full disk) and undid: nothing acknowledged,
            // the client may retry; the store takes writes again once space returns.
            core.logger.warning("storage unavailable", metadata: ["route": "\(route.template)", "error": "\(e)"])
            response = Reply.error(QueryGate.busy)
        } catch {
            core.logger.error("request failed", metadata: ["route": "\(route.template)", "error": "\(error)"])
            response = Reply.error(.internalError)
        }
        add(call.responseHeaders, to: &response)
        if endpoint.cors && isAPI {
            add(Self.corsHeaders, to: &response)
        } else if isAPI && !TrackCORS.isSet(in: response.headers) {
            // Track answers refused before its handler ran (413, 429) carry its CORS headers
            // too, so the script can read them; no Origin was matched yet, so none is echoed.
            TrackCORS.apply(origin: "*", to: &response.headers)
        }
        return response
    }

    /// Body size, credentials and rate limits, in that order.
    private func prepare(_ call: Call, _ endpoint: Endpoint) async throws {
        let declared = call.header("Content-Length").flatMap { Int($0) }
        switch endpoint.body {
        case .ignore: break
        case .stream(let limit):
            if let declared, declared > limit { throw APIError.tooLarge }
        case .limit(let limit):
            if let declared, declared > limit { throw APIError.tooLarge }
            call.body = try await Self.readBody(call, limit: limit, timeout: core.config.bodyReadTimeout)
        }
        if let (bucket, limit) = endpoint.ipLimits {
            try count(call, key: "\(bucket):\(ClientAddressResolver.rateKey(call.clientIP))", [limit], bucket: bucket)
        }
        switch endpoint.auth {
        case .none: return
        case .jwt, .jwtOrKey:
            let p: Principal
            do {
                p = try await core.authenticate(call)
            } catch let e as APIError where e.status == 401 {
                throw unauthorized(call, e)
            }
            call.principal = p
            // Counted before the scope check: a key hammering an endpoint it may not use is
            // limited like any other caller (api.md §1: credentials → rate limit → … → scope).
            let key = p.apiKey.map { "key:\($0.id)" } ?? "user:\(p.user.id)"
            try count(call, key: key, [core.config.rateLimits.userMinute, core.config.rateLimits.userHour], bucket: "user")
            try await core.authorize(p, endpoint.auth, nowMs: call.nowMs)
        }
    }

    /// A 401 answer, or 429 once the client IP has had too many 401s (api.md §1: answers with
    /// 401 are limited per IP, whichever endpoint gave them — login and 2FA validation too).
    func unauthorized(_ call: Call, _ e: APIError) -> APIError {
        let d = core.limiter.check("unauth:\(ClientAddressResolver.rateKey(call.clientIP))", [core.config.rateLimits.unauthorized])
        if !d.allowed {
            core.metrics.rateLimited(bucket: "unauthorized")
            return Self.tooMany(d)
        }
        return e
    }

    /// Reads a whole body of at most `limit` bytes, within `timeout` (a client trickling a body
    /// byte by byte can't hold a request open for ever): 413 past the limit, 408 past the time.
    static func readBody(_ call: Call, limit: Int, timeout: Duration) async throws -> [UInt8] {
        let body = call.request.body
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var collected: [UInt8] = []
                for try await chunk in body {
                    if collected.count + chunk.readableBytes > limit { throw APIError.tooLarge }
                    collected.append(contentsOf: chunk.readableBytesView)
                }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let bytes = first else { throw APIError(408, "Request timeout") }
            return bytes
        }
    }

    /// Counts a request; 429 with `Retry-After` and `retryAfter` when over.
    func count(_ call: Call, key: String, _ limits: [RateLimit], bucket: String) throws {
        let d = core.limiter.check(key, limits)
        guard d.allowed else {
            core.metrics.rateLimited(bucket: bucket)
            if bucket == "track" { core.metrics.dropped("rate_limited", count: Self.trackedEventCount(call)) }
            throw Self.tooMany(d)
        }
        call.responseHeaders.append(contentsOf: d.headers)
    }

    /// Events a refused `/api/track` body carried (its body is already read): a batch's count,
    /// else one.
    static func trackedEventCount(_ call: Call) -> Int {
        guard let body = try? call.json(), body["batch"]?.boolValue == true, let list = body["events"]?.arrayValue else { return 1 }
        return max(1, list.count)
    }

    static func tooMany(_ d: RateDecision) -> APIError {
        var e = APIError(429, "Rate limit exceeded. Try again in \(d.retryAfter) seconds.")
        e.extra = [("retryAfter", .int(d.retryAfter))]
        e.headers = d.headers + [("Retry-After", String(d.retryAfter))]
        return e
    }

    private func runTrackPreflight(_ request: Request) async -> Response {
        var r = Response(status: .noContent)
        let origin = request.headers[.origin]
        TrackCORS.apply(origin: origin ?? "*", to: &r.headers)
        return r
    }
}

/// Headers every answer carries: no MIME sniffing, no referrer leaking ids from URLs, and no
/// framing. A response that sets its own `Content-Security-Policy` (the dashboard's HTML) keeps it.
enum SecurityHeaders {
    /// For API answers (JSON, CSV): nothing may load from them and nobody may frame them.
    static let apiPolicy = "default-src 'none'; frame-ancestors 'none'"
    private static let fixed: [(HTTPField.Name, String)] = [
        ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
    ].compactMap { n, v in HTTPField.Name(n).map { ($0, v) } }
    private static let csp = HTTPField.Name("Content-Security-Policy")

    static func apply(to headers: inout HTTPFields) {
        for (n, v) in fixed where headers[n] == nil { headers[n] = v }
        if let csp, headers[csp] == nil { headers[csp] = apiPolicy }
    }
}

/// CORS of `/api/track` (api.md §5).
enum TrackCORS {
    // Names validated once (not per tracked request); literal, valid names, so never nil —
    // but built without `!`, so a typo here could not trap a request.
    private static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")
    private static let fixed: [(HTTPField.Name, String)] = [
        ("Access-Control-Allow-Methods", "POST, OPTIONS"), ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
        ("Access-Control-Max-Age", "86400"), ("Vary", "Origin"),
    ].compactMap { n, v in HTTPField.Name(n).map { ($0, v) } }

    /// Whether an answer already carries track CORS (set by the track handler).
    static func isSet(in headers: HTTPFields) -> Bool { allowOrigin.map { headers[$0] != nil } ?? false }

    static func apply(origin: String, to headers: inout HTTPFields) {
        if let allowOrigin { headers[allowOrigin] = origin }
        for (n, v) in fixed { headers[n] = v }
    }
}

/// Header names the server sets, made once: `HTTPField.Name(_:)` validates and lower-cases the
/// text on every call.
enum HeaderNames {
    private static let known: [String: HTTPField.Name] = {
        var m: [String: HTTPField.Name] = [:]
        for n in ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After", "Allow",
                  "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                  "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Vary", "Content-Disposition",
                  "Origin", "User-Agent", "Authorization", "Content-Length", "Content-Type", "X-Forwarded-For"] {
            if let name = HTTPField.Name(n) { m[n] = name }
        }
        return m
    }()

    static func name(_ text: String) -> HTTPField.Name? { known[text] ?? HTTPField.Name(text) }
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")
}
