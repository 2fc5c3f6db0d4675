import Synchronization

/// Pending 2FA logins: temporary token (hashed) → user, expiry and remaining attempts.
///
/// An attempt is reserved (counted) before the code is checked, under one lock: concurrent
/// requests on one token can't all pass the attempt check and be counted only afterwards.
final class TwoFactorChallenges: Sendable {
    private struct Challenge { var userId: String; var expiresAt: Int64; var attemptsLeft: Int }
    private let pending = Mutex<[String: Challenge]>([:])

    func create(userId: String, nowMs: Int64, attempts: Int) -> String {
        let token = "tfa_" + Secrets.randomHex(bytes: 32)
        let key = Secrets.sha256Hex(token)
        pending.withLock { p in
            p = p.filter { $0.value.expiresAt > nowMs }
            p[key] = Challenge(userId: userId, expiresAt: nowMs + 5 * 60 * 1000, attemptsLeft: attempts)
        }
        return token
    }

    /// Spends one attempt of a live token and returns its user; nil when the token is unknown,
    /// expired or out of attempts. The token is void once its last attempt is spent, whatever
    /// that attempt's outcome.
    func reserveAttempt(_ token: String, nowMs: Int64) -> String? {
        let key = Secrets.sha256Hex(token)
        return pending.withLock { p -> String? in
            guard var c = p[key], c.expiresAt > nowMs, c.attemptsLeft > 0 else {
                p.removeValue(forKey: key)
                return nil
            }
            c.attemptsLeft -= 1
            if c.attemptsLeft == 0 { p.removeValue(forKey: key) } else { p[key] = c }
            return c.userId
        }
    }

    /// Voids a token (after a successful validation).
    func consume(_ token: String) { _ = pending.withLock { $0.removeValue(forKey: Secrets.sha256Hex(token)) } }
}
