import Synchronization

/// The sites with an import running (api.md §8: one at a time per site).
final class ImportRegistry: Sendable {
    private let running = Mutex<Set<String>>([])

    /// Claims the site; false when an import of it is already running.
    func begin(_ site: String) -> Bool { running.withLock { $0.insert(site).inserted } }

    func end(_ site: String) { _ = running.withLock { $0.remove(site) } }

    func isRunning(_ site: String) -> Bool { running.withLock { $0.contains(site) } }
}

/// Pending 2FA logins: temporary token (hashed) → user, expiry and remaining attempts.
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

    /// The user of a live token, without consuming it.
    func user(of token: String, nowMs: Int64) -> String? {
        let key = Secrets.sha256Hex(token)
        return pending.withLock { p in
            guard let c = p[key], c.expiresAt > nowMs, c.attemptsLeft > 0 else { return nil }
            return c.userId
        }
    }

    /// Records a wrong code; the token is void after the last attempt.
    func fail(_ token: String) {
        let key = Secrets.sha256Hex(token)
        pending.withLock { p in
            guard var c = p[key] else { return }
            c.attemptsLeft -= 1
            if c.attemptsLeft <= 0 { p.removeValue(forKey: key) } else { p[key] = c }
        }
    }

    func consume(_ token: String) { _ = pending.withLock { $0.removeValue(forKey: Secrets.sha256Hex(token)) } }
}
