package import ZTAFormat
import ZTAEngine

/// Package-visible entry points that run untrusted bytes through the server's own decoders, for
/// the fuzz targets (`Sources/ZTAFuzzTargets`) and their replay tests. They add no logic of their
/// own beyond fixing the parts a request would take from the database (one site, one key).
package enum FuzzEntryPoints {
    /// The site `/api/track` bodies are checked against: domain `example.com`, `/private/` excluded.
    package static let siteDomain = "example.com"

    /// Decodes a `/api/track` request as the handler does — JSON body, event validation, Origin
    /// check, bot and User-Agent rules, excluded paths — and returns the rows it would store;
    /// nil when the request is refused (400 for the body, 403 for the Origin).
    package static func track(body: [UInt8], origin: String?, userAgent: String, nowMs: Int64) -> [EventRecord]? {
        guard let json = JSONCoding.parse(body), json.isObject,
              let decoded = try? TrackBody.parse(json) else { return nil }
        let site = SiteRecord(id: decoded.siteId, ownerId: "user_fuzz", domain: siteDomain, name: "fuzz", timezone: "UTC",
                              isPublic: false, excludePaths: ["/private/"], dataRetention: nil, createdAt: 0)
        if let origin, !TrackMemos.originMatches(origin, domain: site.domain) { return nil }
        if UserAgentParser.isBot(userAgent) { return [] }
        let ua = UserAgentParser.parse(userAgent)
        return decoded.events.filter { !$0.isExcluded(by: site.excludePaths) }.map {
            $0.record(site: site, ua: ua, visitor: 1, session: 2, nowMs: nowMs)
        }
    }

    /// What an `Authorization` header carries (api.md §2): `(true, key)` for an API key,
    /// `(false, jwt)` for a session token, nil for no usable bearer credential.
    package static func bearer(_ header: String?) -> (isAPIKey: Bool, token: String)? {
        switch BearerToken(header: header) {
        case .apiKey(let k)?: (true, k)
        case .jwt(let t)?: (false, t)
        case nil: nil
        }
    }

    /// The `alg` a JWT's header names, nil when the header does not decode.
    package static func jwtAlgorithm(_ token: String) -> String? { TokenService.headerAlgorithm(token) }

    /// Verifies a session JWT with an HS256 key made from `secret`: its subject and session id
    /// when valid at `nowMs`, nil when invalid or expired.
    package static func verifyJWT(_ token: String, secret: String, nowMs: Int64) async -> (sub: String, sid: String)? {
        let service = await TokenService(secret: secret)
        guard let claims = try? await service.verify(token, nowMs: nowMs) else { return nil }
        return (claims.sub.value, claims.sid)
    }

    /// A session JWT as the login endpoint signs it (for seeds and round-trip checks).
    package static func signJWT(secret: String, userId: String, email: String, sessionId: String, nowMs: Int64) async throws -> String {
        let service = await TokenService(secret: secret)
        return try await service.sign(userId: userId, email: email, sessionId: sessionId, nowMs: nowMs).0
    }
}
