import Foundation
import GRDB
import HummingbirdBcrypt
import HummingbirdOTP
import ZTAEngine

/// `/api/auth/*` (api.md §2).
extension ServerCore {
    func hashPassword(_ p: String) async throws -> String {
        let cost = max(config.bcryptCost, 10)
        return try await Blocking.run { Bcrypt.hash(p, cost: cost) }
    }

    func verifyPassword(_ p: String, _ hash: String) async throws -> Bool {
        try await Blocking.run { Bcrypt.verify(p, hash: hash) }
    }

    /// Opens a login session and returns `AuthResult`.
    func authResult(_ user: UserRecord, _ call: Call) async throws -> [(String, JSONValue)] {
        let sid = Secrets.id("sess")
        let now = call.nowMs
        let device = UserAgentParser.parse(call.header("User-Agent") ?? "").label
        let masked = ClientAddressResolver.masked(call.clientIP)
        let (token, exp) = try await tokens.sign(userId: user.id, email: user.email, sessionId: sid, nowMs: now)
        try await meta.pool.write { db in
            try db.execute(sql: """
                INSERT INTO login_sessions (id, user_id, created_at, last_active_at, expires_at, device, ip_masked)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [sid, user.id, now, now, exp, device, masked])
        }
        return [("token", .string(token)), ("expiresAt", .string(Clock.iso(exp))), ("user", user.json)]
    }

    func register(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        let email = try Credentials.email(body["email"])
        guard let password = body["password"]?.stringValue, !password.isEmpty else { throw APIError.required("password") }
        var name: String? = nil
        if let n = body["name"], !n.isNull {
            guard let s = n.stringValue else { throw APIError.invalid("name") }
            // Lengths count Unicode scalars, as JSON Schema's maxLength does (graphemes have no byte bound).
            if s.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
            let t = s.trimmingCharacters(" ")
            name = t.isEmpty ? nil : t
        }
        try Credentials.checkPassword(password)
        let userCount = try await meta.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
        // Closed registration still lets an invited e-mail in (a pending, unexpired invitation; §2 note 1).
        if !config.allowRegistration && userCount > 0,
           try await !meta.hasPendingInvitation(email: email, nowMs: call.nowMs) {
            throw APIError(403, "Registration is disabled")
        }
        let exists = try await meta.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM users WHERE email = ?)", arguments: [email]) ?? false
        }
        if exists { throw APIError(409, "Email already registered") }
        let hash = try await hashPassword(password)
        let id = Secrets.id("usr")
        let userName = name
        let now = call.nowMs
        do {
            try await meta.pool.write { db in
                try db.execute(sql: "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [id, email, userName, hash, now])
            }
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
            throw APIError(409, "Email already registered")
        }
        // Read back for the answer; a concurrent deletion of the fresh account is a plain 401.
        guard let user = try await userById(id) else { throw APIError(401, "Invalid credentials") }
        return .json(.object(try await authResult(user, call)), status: .created)
    }

    func userById(_ id: String) async throws -> UserRecord? {
        try await meta.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [id]).map(UserRecord.init(row:))
        }
    }

    func userByEmail(_ email: String) async throws -> UserRecord? {
        try await meta.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(UserRecord.init(row:))
        }
    }

    func login(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        let email = try Credentials.email(body["email"])
        guard let password = body["password"]?.stringValue, !password.isEmpty else { throw APIError.badRequest("Password is required") }
        // Every attempt is counted as a failure before the password is checked and forgiven on
        // success: concurrent guesses can't all pass a check that is only counted afterwards.
        let failures = config.rateLimits.loginFailures
        let d = limiter.check("loginfail:\(email)", [failures])
        guard d.allowed else {
            metrics.rateLimited(bucket: "login_failures")
            throw Dispatcher.tooMany(d)
        }
        let user = try await userByEmail(email)
        // Unknown e-mails are verified against a dummy hash: same answer, same time.
        let ok = try await verifyPassword(password, user?.passwordHash ?? dummyHash)
        guard let user, ok else {
            // An unknown address is not stored (it may be a mistyped address of someone else);
            // the entry then has no actor and no target id, only the masked IP.
            await recordActivity(call, .authFailedLogin, target: ActivityTarget(type: "user", id: user?.id, email: user?.email),
                                 metadata: [("reason", .string(user == nil ? "unknown_email" : "wrong_password"))], actor: user)
            throw APIError(401, "Invalid credentials")
        }
        limiter.reset("loginfail:\(email)", failures)
        if user.totpEnabled {
            let temp = twoFactor.create(userId: user.id, nowMs: call.nowMs, attempts: config.rateLimits.twoFactorAttempts)
            return .json(.object([("requires_2fa", true), ("tempToken", .string(temp))]))
        }
        let result = try await authResult(user, call)
        await recordActivity(call, .authLogin, target: .user(user), metadata: [("twoFactor", false)], actor: user)
        return .json(.object(result))
    }

    func logout(_ call: Call) async throws -> Reply.Out {
        let sid = try call.sessionId
        let now = call.nowMs
        try await meta.pool.write { db in
            try db.execute(sql: "UPDATE login_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, sid])
        }
        await recordActivity(call, .authLogout, target: ActivityTarget(type: "session", id: sid))
        return .ok()
    }

    static let forgotMessage = "If an account with that email exists, we sent a password reset link."

    /// Least time a `forgot` answer takes, whether or not the account exists: the lookup and the
    /// token write of a known address stay well inside it, so timing tells nothing.
    static let forgotFloor: Duration = .milliseconds(150)

    func forgot(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        let raw = body["email"]?.stringValue?.trimmingCharacters(" ").lowercased() ?? ""
        if raw.isEmpty { throw APIError.badRequest("Email is required") }
        let deadline = ContinuousClock.now + Self.forgotFloor
        // Identical answer whether or not the account exists (and for malformed addresses).
        if Credentials.isValidEmail(raw), let user = try await userByEmail(raw) {
            let token = Secrets.randomHex(bytes: 32)
            let hash = Secrets.sha256Hex(token)
            let now = call.nowMs
            let exp = now + 3600 * 1000
            try await meta.pool.write { db in
                // Only the newest link works: a new request voids the earlier ones.
                try Self.voidResetTokens(db, userId: user.id, nowMs: now)
                try db.execute(sql: "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                               arguments: [hash, user.id, exp])
            }
            if config.logResetLinks {
                // No SMTP in this build: with --dev-mail-log the link goes to the log (api.md §2 note 2).
                logger.notice("password reset link (no SMTP configured)",
                              metadata: ["link": "\(config.publicURL)/reset-password?token=\(token)"])
            } else {
                logger.notice("password reset requested (no SMTP configured; --dev-mail-log writes the link)",
                              metadata: ["user": "\(user.id)"])
            }
        }
        try? await Task.sleep(until: deadline, clock: .continuous)
        return .ok(Self.forgotMessage)
    }

    /// Marks every unused reset token of a user as used (a newer link, a password change or a
    /// completed reset makes the older links worthless).
    static func voidResetTokens(_ db: GRDB.Database, userId: String, nowMs: Int64) throws {
        try db.execute(sql: "UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                       arguments: [nowMs, userId])
    }

    /// A live reset token's user id and expiry.
    private func resetToken(_ token: String, nowMs: Int64) async throws -> (String, Int64)? {
        let hash = Secrets.sha256Hex(token)
        return try await meta.pool.read { db -> (String, Int64)? in
            guard let r = try Row.fetchOne(db, sql: "SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = ?",
                                           arguments: [hash]) else { return nil }
            let used: Int64? = r["used_at"]
            let exp: Int64 = r["expires_at"]
            guard used == nil, exp > nowMs else { return nil }
            return (r["user_id"], exp)
        }
    }

    func verifyResetToken(_ call: Call) async throws -> Reply.Out {
        guard let token = call.query["token"], !token.isEmpty else { throw APIError.badRequest("Token is required") }
        guard let (_, exp) = try await resetToken(token, nowMs: call.nowMs) else {
            return .json(.object([("valid", false), ("error", "Invalid or expired reset link")]))
        }
        return .json(.object([("valid", true), ("expiresAt", .string(Clock.iso(exp)))]))
    }

    func resetPassword(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let token = body["token"]?.stringValue, !token.isEmpty,
              let password = body["password"]?.stringValue, !password.isEmpty else {
            throw APIError.badRequest("Token and password are required")
        }
        try Credentials.checkPassword(password)
        guard let (userId, _) = try await resetToken(token, nowMs: call.nowMs) else {
            throw APIError.badRequest("Invalid or expired reset link")
        }
        let hash = try await hashPassword(password)
        let tokenHash = Secrets.sha256Hex(token)
        let now = call.nowMs
        let consumed = try await meta.pool.write { db -> Bool in
            // Single use: only the first reset with this token changes anything.
            try db.execute(sql: "UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                           arguments: [now, tokenHash])
            guard db.changesCount == 1 else { return false }
            try Self.voidResetTokens(db, userId: userId, nowMs: now)
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, userId])
            try db.execute(sql: "UPDATE login_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                           arguments: [now, userId])
            return true
        }
        guard consumed else { throw APIError.badRequest("Invalid or expired reset link") }
        if let user = try? await userById(userId) {
            await recordActivity(call, .authPasswordReset, target: .user(user), actor: user)
        }
        return .ok("Password has been reset successfully")
    }
}
