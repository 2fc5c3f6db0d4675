import XCTest
import ZTAFuzzTargets
import ZTAServer

/// The auth and track targets are not vacuous: a token signed with the fuzz key verifies, a
/// valid track body yields rows.
final class TargetSanityTests: XCTestCase {
    func testSignedTokenVerifiesAndTamperedDoesNot() async throws {
        let token = try await FuzzEntryPoints.signJWT(secret: AuthFuzzKey.secret, userId: "user_1", email: "a@example.com",
                                                     sessionId: "sess_1", nowMs: AuthFuzzKey.nowMs)
        let claims = await FuzzEntryPoints.verifyJWT(token, secret: AuthFuzzKey.secret, nowMs: AuthFuzzKey.nowMs)
        XCTAssertEqual(claims?.sub, "user_1")
        XCTAssertEqual(claims?.sid, "sess_1")
        let expired = await FuzzEntryPoints.verifyJWT(token, secret: AuthFuzzKey.secret, nowMs: AuthFuzzKey.nowMs + 8 * 86_400_000)
        XCTAssertNil(expired)
        let other = await FuzzEntryPoints.verifyJWT(token, secret: "another-secret-of-at-least-32-characters", nowMs: AuthFuzzKey.nowMs)
        XCTAssertNil(other)
        XCTAssertEqual(FuzzEntryPoints.bearer("Bearer " + token)?.token, token)
        XCTAssertEqual(FuzzEntryPoints.bearer("Bearer zta_live_abc")?.isAPIKey, true)
        XCTAssertNil(FuzzEntryPoints.bearer("Bearer  "))
        XCTAssertNil(FuzzEntryPoints.bearer("Basic abc"))
    }

    func testCommittedValidTokenSeedVerifies() async throws {
        let url = FuzzReplayTests.fuzzDirectory.appendingPathComponent("corpus/auth/jwt-valid.txt")
        let header = try String(contentsOf: url, encoding: .utf8)
        let token = try XCTUnwrap(FuzzEntryPoints.bearer(header)?.token)
        let claims = await FuzzEntryPoints.verifyJWT(token, secret: AuthFuzzKey.secret, nowMs: AuthFuzzKey.nowMs)
        XCTAssertEqual(claims?.sub, "user_1")
    }

    func testTrackBodiesBecomeRows() {
        let batch = Array(#"{"siteId":"s","batch":true,"events":[{"type":"pageview","path":"https://example.com/a?x"},{"type":"bogus"},{"type":"pageview","path":"/private/p"}]}"#.utf8)
        let rows = FuzzEntryPoints.track(body: batch, origin: "https://www.example.com", userAgent: "Mozilla/5.0", nowMs: 1)
        XCTAssertEqual(rows?.map(\.path), ["/a"])
        XCTAssertNil(FuzzEntryPoints.track(body: batch, origin: "https://evil.com", userAgent: "", nowMs: 1))
        XCTAssertEqual(FuzzEntryPoints.track(body: batch, origin: nil, userAgent: "Googlebot/2.1", nowMs: 1)?.count, 0)
        XCTAssertNil(FuzzEntryPoints.track(body: Array(#"{"type":"pageview"}"#.utf8), origin: nil, userAgent: "", nowMs: 1))
    }
}
