import Foundation
import JWTKit

/// The claims of a session JWT (api.md §2): `sub`, `email`, `sid`, `iat`, `exp` = `iat` + 7 days.
struct SessionClaims: JWTPayload {
    var sub: SubjectClaim
    var email: String
    var sid: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    /// Expiry is checked by `TokenService` so that "expired" and "invalid" get their own messages.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Why a bearer JWT was refused.
enum TokenFailure: Error {
    case invalid, expired
}

/// Signs and verifies session JWTs: HS256 only (the algorithm is pinned: a token whose header
/// names another algorithm, `none` included, is invalid whatever its signature).
struct TokenService: Sendable {
    static let lifetimeMs: Int64 = 7 * 24 * 3600 * 1000
    private let keys: JWTKeyCollection

    init(secret: String) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    /// A token for a login session; returns the token and its expiry (ms).
    func sign(userId: String, email: String, sessionId: String, nowMs: Int64) async throws -> (String, Int64) {
        // Whole seconds (NumericDate as integers).
        let iat = nowMs / 1000 * 1000
        let exp = iat + Self.lifetimeMs
        let claims = SessionClaims(sub: SubjectClaim(value: userId), email: email, sid: sessionId,
                                   iat: IssuedAtClaim(value: Date(timeIntervalSince1970: Double(iat) / 1000)),
                                   exp: ExpirationClaim(value: Date(timeIntervalSince1970: Double(exp) / 1000)))
        return (try await keys.sign(claims), exp)
    }

    /// The claims of a valid token.
    func verify(_ token: String, nowMs: Int64) async throws(TokenFailure) -> SessionClaims {
        guard Self.headerAlgorithm(token) == "HS256" else { throw .invalid }
        let claims: SessionClaims
        do { claims = try await keys.verify(token, as: SessionClaims.self) } catch { throw .invalid }
        if claims.exp.value.timeIntervalSince1970 * 1000 <= Double(nowMs) { throw .expired }
        return claims
    }

    /// The `alg` of a JWT's header, nil when it does not decode.
    static func headerAlgorithm(_ token: String) -> String? {
        guard let dot = token.firstIndex(of: ".") else { return nil }
        var b64 = token[..<dot].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let header = JSONCoding.parse(Array(data)) else { return nil }
        return header["alg"]?.stringValue
    }
}
