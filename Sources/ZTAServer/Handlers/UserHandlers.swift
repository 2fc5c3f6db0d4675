import Foundation
import GRDB
import Hummingbird
import HummingbirdOTP

/// `/api/user/*` (api.md §2).
extension ServerCore {
    func userStatus(_ call: Call) async throws -> Reply.Out {
        guard case .object(var m) = try call.user.json else { throw APIError.internalError }
        m += [("plan", "self-hosted"), ("status", "active"), ("canAccess", true)]
        return .json(.object(m))
    }

    func changePassword(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let current = body["currentPassword"]?.stringValue, !current.isEmpty else {
            throw APIError.badRequest("Current password is required")
        }
        guard let new = body["newPassword"]?.stringValue, !new.isEmpty else { throw APIError.required("newPassword") }
        guard try await verifyPassword(current, try call.user.passwordHash) else {
            throw APIError.badRequest("Current password is incorrect")
        }
        try Credentials.checkPassword(new)
        let hash = try await hashPassword(new)
        let (uid, sid, now) = (try call.user.id, try call.sessionId, call.nowMs)
        try await meta.pool.write { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, uid])
            try Self.voidResetTokens(db, userId: uid, nowMs: now)
            try db.execute(sql: "UPDATE login_sessions SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at IS NULL",
                           arguments: [now, uid, sid])
        }
        await recordActivity(call, .authPasswordChanged, target: .user(try call.user))
        return .ok("Password changed successfully")
    }

    private func activeSessions(_ userId: String, nowMs: Int64) async throws -> [LoginSessionRecord] {
        try await meta.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM login_sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
                ORDER BY last_active_at DESC, created_at DESC
                """, arguments: [userId, nowMs]).map(LoginSessionRecord.init(row:))
        }
    }

    func listSessions(_ call: Call) async throws -> Reply.Out {
        let current = call.principal?.sessionId
        let list = try await activeSessions(try call.user.id, nowMs: call.nowMs).map { s -> JSONValue in
            .object([("id", .string(s.id)), ("createdAt", .string(Clock.iso(s.createdAt))),
                     ("lastActiveAt", .string(Clock.iso(s.lastActiveAt))), ("expiresAt", .string(Clock.iso(s.expiresAt))),
                     ("device", .string(s.device)), ("ipAddress", .string(s.ipMasked)), ("isCurrent", .bool(s.id == current))])
        }
        return .json(.object([("sessions", .array(list))]))
    }

    func revokeSessions(_ call: Call) async throws -> Reply.Out {
        let current = try call.sessionId
        let uid = try call.user.id, now = call.nowMs
        if call.query["all"] == "true" {
            let n = try await meta.pool.write { db -> Int in
                try db.execute(sql: "UPDATE login_sessions SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at IS NULL AND expires_at > ?",
                               arguments: [now, uid, current, now])
                return db.changesCount
            }
            await recordActivity(call, .sessionsBulkRevoked, target: .user(try call.user), metadata: [("revoked", .int(n))])
            return .json(.object([("success", true), ("message", .string("Revoked \(n) session(s)")), ("revoked", .int(n))]))
        }
        guard let sid = call.query["sessionId"], !sid.isEmpty else { throw APIError.badRequest("Session ID or all=true required") }
        if sid == current { throw APIError.badRequest("Cannot revoke the current session. Use /api/auth/logout") }
        let n = try await meta.pool.write { db -> Int in
            try db.execute(sql: "UPDATE login_sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                           arguments: [now, sid, uid, now])
            return db.changesCount
        }
        if n == 0 { throw APIError(404, "Session not found") }
        await recordActivity(call, .sessionRevoked, target: ActivityTarget(type: "session", id: sid))
        return .ok()
    }

    func exportAccount(_ call: Call) async throws -> Reply.Out {
        let uid = try call.user.id
        let sites = try await meta.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.*, CASE WHEN s.owner_id = ? THEN 'owner' ELSE m.role END AS my_role FROM sites s
                LEFT JOIN site_members m ON m.site_id = s.id AND m.user_id = ?
                WHERE s.owner_id = ? OR m.user_id IS NOT NULL ORDER BY s.created_at
                """, arguments: [uid, uid, uid]).map { r -> JSONValue in
                let s = SiteRecord(row: r)
                let role: String = r["my_role"]
                return .object([("id", .string(s.id)), ("domain", .string(s.domain)), ("name", .string(s.name)),
                                ("timezone", .string(s.timezone)), ("role", .string(role)), ("createdAt", .string(Clock.iso(s.createdAt)))])
            }
        }
        let keys = try await meta.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC",
                             arguments: [uid]).map { JSONValue.object(APIKeyRecord(row: $0).json) }
        }
        let sessions = try await activeSessions(uid, nowMs: call.nowMs).map { s -> JSONValue in
            .object([("id", .string(s.id)), ("device", .string(s.device)), ("createdAt", .string(Clock.iso(s.createdAt))),
                     ("lastActiveAt", .string(Clock.iso(s.lastActiveAt)))])
        }
        let activity = try await meta.ownActivities(userId: uid, limit: 1000).map(\.json)
        let doc: JSONValue = .object([("exportedAt", .string(Clock.iso(call.nowMs))), ("exportVersion", "1.0"),
                                      ("user", try call.user.json), ("sites", .array(sites)), ("apiKeys", .array(keys)),
                                      ("sessions", .array(sessions)), ("activity", .array(activity))])
        var r = Response.json(doc)
        r.headers[.contentDisposition] = "attachment; filename=\"zta-data-export-\(Clock.utcDate(call.nowMs)).json\""
        return r
    }

    func deleteAccount(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard body["confirmDelete"]?.stringValue == "DELETE_MY_ACCOUNT" else {
            throw APIError.badRequest("Please confirm deletion by providing confirmDelete: \"DELETE_MY_ACCOUNT\"")
        }
        let me = try call.user
        guard body["confirmEmail"]?.stringValue?.trimmingCharacters(" ").lowercased() == me.email else {
            throw APIError.badRequest("Email confirmation does not match your account email")
        }
        guard let password = body["password"]?.stringValue, try await verifyPassword(password, me.passwordHash) else {
            throw APIError.badRequest("Password is incorrect")
        }
        let uid = me.id, now = call.nowMs
        let owned = try await meta.pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM sites WHERE owner_id = ?", arguments: [uid])
        }
        // Reserve first: claim every owned site's import slot (409 while one runs); no import
        // can start on them until the deletion is over.
        var claimed: [String] = []
        defer { for s in claimed { imports.end(s) } }
        for site in owned {
            guard imports.begin(site) else { throw APIError(409, "An import is running for one of your sites") }
            claimed.append(site)
        }
        for site in owned { try await deleteSiteData(site) }
        // Sites, their attached objects (cascades) and import history, memberships (cascade),
        // keys and sessions (cascade), then the user: one transaction.
        let (sessions, keys, deleted) = try await meta.pool.write { db -> (Int, Int, [String]) in
            let s = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                                     arguments: [uid, now]) ?? 0
            let k = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_keys WHERE user_id = ?", arguments: [uid]) ?? 0
            let sites = try String.fetchAll(db, sql: "SELECT id FROM sites WHERE owner_id = ?", arguments: [uid])
            try db.execute(sql: "DELETE FROM imports WHERE site_id IN (SELECT id FROM sites WHERE owner_id = ?)", arguments: [uid])
            try db.execute(sql: "DELETE FROM sites WHERE owner_id = ?", arguments: [uid])
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [uid])
            try MetaStore.deletePersonalActivities(db, userId: uid)
            return (s, k, sites)
        }
        // Before the answer: track stops finding these sites (and a site created meanwhile loses its events too).
        for site in deleted { await siteRemoved(site) }
        return .json(.object([("success", true), ("message", "Account deleted successfully"), ("deletedAt", .string(Clock.iso(now))),
                              ("summary", .object([("sitesDeleted", .int(deleted.count)), ("sessionsRevoked", .int(sessions)),
                                                   ("apiKeysDeleted", .int(keys))]))]))
    }
}

/// TOTP two-factor authentication (api.md §2 note 3): RFC 6238, SHA-1, 6 digits, 30 s, ±1 step,
/// spaces ignored, a used code refused on reuse.
extension ServerCore {
    static let totpIssuer = "Zero Trust Analytics"

    /// The time step a code matches (±1 around now), nil when none; steps ≤ `lastUsed` are refused.
    static func totpStep(secret: String, code: String, nowMs: Int64, lastUsed: Int64) -> Int64? {
        let digits = code.filter { $0 != " " }
        guard digits.count == 6, let value = Int(digits) else { return nil }
        let totp = TOTP(secret: secret)
        let step = nowMs / 30_000
        for s in [step - 1, step, step + 1] where s > lastUsed {
            if totp.compute(date: Date(timeIntervalSince1970: Double(s * 30))) == value { return s }
        }
        return nil
    }

    func setupTwoFactor(_ call: Call) async throws -> Reply.Out {
        let me = try call.user
        if me.totpEnabled { throw APIError.badRequest("2FA is already enabled") }
        // The TOTP key is these 20 ASCII characters' bytes; the user gets them base32-encoded.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let secret = String(Secrets.randomBytes(20).map { alphabet[Int($0) % alphabet.count] })
        let uid = me.id
        try await meta.pool.write { db in
            try db.execute(sql: "UPDATE users SET totp_secret = ?, totp_enabled = 0 WHERE id = ?", arguments: [secret, uid])
        }
        let uri = TOTP(secret: secret).createAuthenticatorURL(label: "\(Self.totpIssuer):\(me.email)", issuer: Self.totpIssuer)
        return .json(.object([("success", true), ("secret", .string(Secrets.base32(Array(secret.utf8)))), ("qrCode", .string(uri)),
                              ("message", "Scan the QR code with your authenticator app, then verify a code to enable 2FA")]))
    }

    func verifyTwoFactor(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let code = body["code"]?.stringValue ?? body["code"]?.intValue.map({ String($0) }), !code.isEmpty else {
            throw APIError.badRequest("Verification code required")
        }
        let user = try call.user
        if user.totpEnabled { throw APIError.badRequest("2FA is already enabled") }
        guard let secret = user.totpSecret else { throw APIError.badRequest("2FA setup not initiated. Please run setup first.") }
        guard let step = Self.totpStep(secret: secret, code: code, nowMs: call.nowMs, lastUsed: user.totpLastStep),
              try await claimTOTPStep(user.id, step, enabling: true) else {
            throw APIError.badRequest("Invalid verification code")
        }
        await recordActivity(call, .auth2FAEnabled, target: .user(user))
        return .ok("Two-factor authentication enabled successfully")
    }

    func disableTwoFactor(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let code = body["code"]?.stringValue ?? body["code"]?.intValue.map({ String($0) }), !code.isEmpty else {
            throw APIError.badRequest("Verification code required to disable 2FA")
        }
        let user = try call.user
        guard user.totpEnabled, let secret = user.totpSecret else { throw APIError.badRequest("2FA is not enabled for this account") }
        guard let step = Self.totpStep(secret: secret, code: code, nowMs: call.nowMs, lastUsed: user.totpLastStep),
              try await claimTOTPStep(user.id, step) else {
            throw APIError.badRequest("Invalid verification code")
        }
        try await meta.pool.write { db in
            try db.execute(sql: "UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = 0 WHERE id = ?", arguments: [user.id])
        }
        await recordActivity(call, .auth2FADisabled, target: .user(user))
        return .ok("Two-factor authentication disabled")
    }

    func validateTwoFactor(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let temp = body["tempToken"]?.stringValue, !temp.isEmpty,
              let code = body["code"]?.stringValue ?? body["code"]?.intValue.map({ String($0) }), !code.isEmpty else {
            throw APIError.badRequest("Temporary token and code required")
        }
        // The attempt is spent before anything is awaited (no check-then-act across an await).
        guard let uid = twoFactor.reserveAttempt(temp, nowMs: call.nowMs) else { throw APIError(401, "Invalid temporary token") }
        // Wrong codes are counted per account across tokens: logging in again with the password
        // mints a new token but no new guesses.
        // Each attempt is counted as a failure up front and forgiven on success (reserve first).
        let failures = config.rateLimits.twoFactorFailures
        let failKey = "2fafail:\(uid)"
        let d = limiter.check(failKey, [failures])
        guard d.allowed else {
            metrics.rateLimited(bucket: "2fa_failures")
            throw Dispatcher.tooMany(d)
        }
        guard let user = try await userById(uid), user.totpEnabled, let secret = user.totpSecret else {
            throw APIError(401, "Invalid temporary token")
        }
        guard let step = Self.totpStep(secret: secret, code: code, nowMs: call.nowMs, lastUsed: user.totpLastStep),
              try await claimTOTPStep(uid, step) else {
            throw APIError(401, "Invalid verification code")
        }
        limiter.reset(failKey, failures)
        twoFactor.consume(temp)
        let result = try await authResult(user, call)
        await recordActivity(call, .authLogin, target: .user(user), metadata: [("twoFactor", true)], actor: user)
        return .json(.object([("success", true)] + result))
    }

    /// Records `step` as the user's last used TOTP step unless that step (or a later one) was
    /// already used: one compare-and-set, so one code can't log in twice, even concurrently.
    func claimTOTPStep(_ userId: String, _ step: Int64, enabling: Bool = false) async throws -> Bool {
        try await meta.pool.write { db -> Bool in
            try db.execute(sql: """
                UPDATE users SET totp_last_step = ?\(enabling ? ", totp_enabled = 1" : "") WHERE id = ? AND totp_last_step < ?
                """, arguments: [step, userId, step])
            return db.changesCount == 1
        }
    }
}
