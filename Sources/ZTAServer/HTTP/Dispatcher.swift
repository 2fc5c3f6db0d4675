import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ZTAQuery

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
        let clientIP = core.clients.clientIP(peer: context.peerAddress, forwardedFor: request.headers[HeaderNames.forwardedFor])
        let call = Call(request: request, context: context, path: path, route: route.template, pathParams: params,
                        query: QueryString.parse(request.uri.query), clientIP: clientIP, nowMs: Clock.nowMs())
        var response: Response
        do {
            try await prepare(call, endpoint)
            response = try await endpoint.handler(call)
        } catch let e as APIError {
            response = Reply.error(e)
        } catch let e as QueryError {
            response = Reply.error(APIError(e))
        } catch {
            core.logger.error("request failed", metadata: ["route": "\(route.template)", "error": "\(error)"])
            response = Reply.error(.internalError)
        }
        add(call.responseHeaders, to: &response)
        if endpoint.cors && isAPI { add(Self.corsHeaders, to: &response) }
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
            var collected: [UInt8] = []
            for try await chunk in call.request.body {
                if collected.count + chunk.readableBytes > limit { throw APIError.tooLarge }
                collected.append(contentsOf: chunk.readableBytesView)
            }
            call.body = collected
        }
        if let (bucket, limit) = endpoint.ipLimits {
            try count(call, key: "\(bucket):\(call.clientIP)", [limit], bucket: bucket)
        }
        switch endpoint.auth {
        case .none: return
        case .jwt, .jwtOrKey:
            do {
                call.principal = try await core.authenticate(call, policy: endpoint.auth)
            } catch let e as APIError where e.status == 401 {
                // Answers with 401 are limited per IP (api.md §1).
                let d = core.limiter.check("unauth:\(call.clientIP)", [core.config.rateLimits.unauthorized])
                if !d.allowed { core.metrics.rateLimited(bucket: "unauthorized"); throw Self.tooMany(d) }
                throw e
            }
        }
        let p = call.principal!
        let key = p.apiKey.map { "key:\($0.id)" } ?? "user:\(p.user.id)"
        try count(call, key: key, [core.config.rateLimits.userMinute, core.config.rateLimits.userHour], bucket: "user")
    }

    /// Counts a request; 429 with `Retry-After` and `retryAfter` when over.
    func count(_ call: Call, key: String, _ limits: [RateLimit], bucket: String) throws {
        let d = core.limiter.check(key, limits)
        guard d.allowed else {
            core.metrics.rateLimited(bucket: bucket)
            throw Self.tooMany(d)
        }
        call.responseHeaders.append(contentsOf: d.headers)
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

/// CORS of `/api/track` (api.md §5).
enum TrackCORS {
    private static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    /// The fixed ones, names validated once (not per tracked request).
    private static let fixed: [(HTTPField.Name, String)] = [
        (HTTPField.Name("Access-Control-Allow-Methods")!, "POST, OPTIONS"),
        (HTTPField.Name("Access-Control-Allow-Headers")!, "Content-Type, Authorization"),
        (HTTPField.Name("Access-Control-Max-Age")!, "86400"),
        (HTTPField.Name("Vary")!, "Origin"),
    ]

    static func apply(origin: String, to headers: inout HTTPFields) {
        headers[allowOrigin] = origin
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
            m[n] = HTTPField.Name(n)!
        }
        return m
    }()

    static func name(_ text: String) -> HTTPField.Name? { known[text] ?? HTTPField.Name(text) }
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}
