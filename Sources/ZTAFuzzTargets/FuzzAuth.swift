import Dispatch
import ZTAServer

/// `Authorization` headers: input = the header value. A bearer token is an API key or a JWT;
/// a JWT verifies with the fixed key only when it is exactly a token that key signed. Verification
/// runs with a fixed clock so that replays are deterministic.
func fuzzAuth(_ data: UnsafeRawBufferPointer) {
    let header = String(decoding: data, as: UTF8.self)
    guard let (isAPIKey, token) = FuzzEntryPoints.bearer(header) else { return }
    FuzzCheck.require(!token.isEmpty && !token.contains(" "), "bearer token \(token.debugDescription)")
    FuzzCheck.require(isAPIKey == token.hasPrefix("zta_"), "API key prefix")
    if isAPIKey { return }
    let algorithm = FuzzEntryPoints.jwtAlgorithm(token)
    let claims = blockingAwait { await FuzzEntryPoints.verifyJWT(token, secret: AuthFuzzKey.secret, nowMs: AuthFuzzKey.nowMs) }
    if claims != nil {
        FuzzCheck.require(algorithm == "HS256", "a token with alg \(algorithm ?? "nil") verified")
    }
}

/// The key and clock of the auth target (seeds are signed with them, `Fuzz/corpus/auth`).
public enum AuthFuzzKey {
    /// The HS256 secret.
    public static let secret = "fuzz-secret-0123456789abcdef0123456789abcdef"
    /// 2026-01-01T00:00:00Z: tokens signed at this time are valid for 7 days.
    public static let nowMs: Int64 = 1_767_225_600_000
}

/// Runs async work to completion from synchronous code (the libFuzzer callback is synchronous
/// and never runs on the concurrency pool, so waiting on a semaphore cannot starve it).
func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    guard let value = box.value else { FuzzCheck.fail("async work finished without a value") }
    return value
}

/// Carries a result out of a task; the semaphore orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
