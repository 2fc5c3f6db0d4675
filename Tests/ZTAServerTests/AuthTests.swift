import Foundation
import HummingbirdOTP
import Testing
import ZTAServer

/// api.md §2: registration, login, sessions, password reset and change, 2FA, account.
@Suite("Authentication", .serialized)
struct AuthTests {
    @Test func registerLoginLogout() async throws {
        let s = try await TestServer.start()
        let reg = try await s.call("POST", "/api/auth/register",
                                   json: ["email": "  Alice@Example.COM ", "password": TestServer.password, "name": "Alice"])
        #expect(reg.status == 201)
        let user = reg.json["user"] as? [String: Any]
        #expect(user?["email"] as? String == "alice@example.com")
        #expect((user?["id"] as? String)?.hasPrefix("usr_") == true)
        #expect(user?["twoFactorEnabled"] as? Bool == false)
        #expect(reg.json["expiresAt"] is String)
        let dup = try await s.call("POST", "/api/auth/register", json: ["email": "alice@example.com", "password": TestServer.password])
        #expect(dup.status == 409)
        #expect(dup.error == "Email already registered")
        let weak = try await s.call("POST", "/api/auth/register", json: ["email": "bob@example.com", "password": "short"])
        #expect(weak.status == 400)
        #expect(weak.error == "Password does not meet requirements")
        let details = weak.json["details"] as? [String] ?? []
        #expect(details.contains("Password must be at least 12 characters"))
        #expect(details.contains("Password must contain at least one uppercase letter"))
        #expect(details.contains("Password must contain at least one number"))
        #expect(details.contains("Password must contain at least one special character"))
        #expect(!details.contains("Password must contain at least one lowercase letter"))
        #expect(try await s.call("POST", "/api/auth/register", json: ["password": "x"]).error == "Email is required")
        #expect(try await s.call("POST", "/api/auth/register", json: ["email": "nope", "password": "x"]).error == "Invalid email format")

        let wrong = try await s.call("POST", "/api/auth/login", json: ["email": "alice@example.com", "password": "Wrong-Password-1"])
        let unknown = try await s.call("POST", "/api/auth/login", json: ["email": "nobody@example.com", "password": "Wrong-Password-1"])
        #expect(wrong.status == 401 && unknown.status == 401)
        #expect(wrong.error == "Invalid credentials" && unknown.error == "Invalid credentials")
        #expect(try await s.call("POST", "/api/auth/login", json: ["email": "alice@example.com"]).error == "Password is required")

        let login = try await s.call("POST", "/api/auth/login", json: ["email": "alice@example.com", "password": TestServer.password])
        #expect(login.status == 200)
        let token = try #require(login.json["token"] as? String)
        let status = try await s.call("GET", "/api/user/status", token: token)
        #expect(status.status == 200)
        #expect(status.json["plan"] as? String == "self-hosted")
        #expect(status.json["canAccess"] as? Bool == true)
        #expect(status.header("Cache-Control") == "no-store")

        #expect(try await s.call("POST", "/api/auth/logout", token: token).json["success"] as? Bool == true)
        let after = try await s.call("GET", "/api/user/status", token: token)
        #expect(after.status == 401)
        #expect(after.error == "Session invalidated. Please log in again.")
        #expect(try await s.call("GET", "/api/user/status").error == "Authentication required")
        #expect(try await s.call("GET", "/api/user/status", headers: [("Authorization", "Basic abc")]).error == "Authentication required")
        #expect(try await s.call("GET", "/api/user/status", token: "not.a.jwt").error == "Invalid or expired token")
        // A token signed with another secret is invalid.
        let tampered = token.dropLast(3) + (token.hasSuffix("AAA") ? "BBB" : "AAA")
        #expect(try await s.call("GET", "/api/user/status", token: String(tampered)).error == "Invalid or expired token")
        // An unsigned token (alg none) is refused.
        let parts = token.split(separator: ".")
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
        #expect(try await s.call("GET", "/api/user/status", token: none).error == "Invalid or expired token")
        try await s.stop()
    }

    @Test func registrationDisabledAfterFirstUser() async throws {
        let s = try await TestServer.start { $0.allowRegistration = false }
        _ = try await s.register("first@example.com")
        let r = try await s.call("POST", "/api/auth/register", json: ["email": "second@example.com", "password": TestServer.password])
        #expect(r.status == 403)
        #expect(r.error == "Registration is disabled")
        try await s.stop()
    }

    @Test func loginFailuresLockTheEmail() async throws {
        let s = try await TestServer.start { $0.rateLimits.loginFailures = RateLimit(2, per: 900) }
        _ = try await s.register("lock@example.com")
        for _ in 0..<2 {
            #expect(try await s.call("POST", "/api/auth/login", json: ["email": "lock@example.com", "password": "Wrong-Password-1"]).status == 401)
        }
        let r = try await s.call("POST", "/api/auth/login", json: ["email": "lock@example.com", "password": TestServer.password])
        #expect(r.status == 429)
        #expect(r.header("Retry-After") != nil)
        try await s.stop()
    }

    @Test func passwordResetFlow() async throws {
        let s = try await TestServer.start()
        let old = try await s.register("reset@example.com")
        let known = try await s.call("POST", "/api/auth/forgot", json: ["email": "reset@example.com"])
        let unknown = try await s.call("POST", "/api/auth/forgot", json: ["email": "ghost@example.com"])
        #expect(known.status == 200 && unknown.status == 200)
        #expect(known.text == unknown.text)
        #expect(known.json["message"] as? String == "If an account with that email exists, we sent a password reset link.")
        #expect(try await s.call("POST", "/api/auth/forgot", json: [:] as [String: Any]).error == "Email is required")
        let token = try #require(s.logs.lastResetToken)
        #expect(token.count == 64)
        // The token is stored hashed only.
        let meta = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/meta.sqlite"))
        #expect(meta.range(of: Data(token.utf8)) == nil)

        let v = try await s.call("GET", "/api/auth/verify-reset-token?token=\(token)")
        #expect(v.json["valid"] as? Bool == true)
        let bad = try await s.call("GET", "/api/auth/verify-reset-token?token=deadbeef")
        #expect(bad.json["valid"] as? Bool == false)
        #expect(bad.json["error"] as? String == "Invalid or expired reset link")
        #expect(try await s.call("GET", "/api/auth/verify-reset-token").error == "Token is required")

        let weak = try await s.call("POST", "/api/auth/reset", json: ["token": token, "password": "weak"])
        #expect(weak.error == "Password does not meet requirements")
        let newPassword = "Another-Secret-77?"
        let ok = try await s.call("POST", "/api/auth/reset", json: ["token": token, "password": newPassword])
        #expect(ok.status == 200)
        #expect(ok.json["message"] as? String == "Password has been reset successfully")
        // Single use, all sessions revoked, new password works.
        #expect(try await s.call("POST", "/api/auth/reset", json: ["token": token, "password": newPassword]).error == "Invalid or expired reset link")
        #expect(try await s.call("GET", "/api/user/status", token: old).status == 401)
        #expect(try await s.call("POST", "/api/auth/login", json: ["email": "reset@example.com", "password": newPassword]).status == 200)
        #expect(try await s.call("POST", "/api/auth/reset", json: ["token": token]).error == "Token and password are required")
        try await s.stop()
    }

    @Test func sessionsAndPasswordChange() async throws {
        let s = try await TestServer.start()
        let a = try await s.register("sess@example.com")
        let login = try await s.call("POST", "/api/auth/login", json: ["email": "sess@example.com", "password": TestServer.password],
                                     headers: [("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/121.0")])
        let b = try #require(login.json["token"] as? String)
        let list = try await s.call("GET", "/api/user/sessions", token: a)
        let sessions = list.json["sessions"] as? [[String: Any]] ?? []
        #expect(sessions.count == 2)
        #expect(sessions.filter { $0["isCurrent"] as? Bool == true }.count == 1)
        #expect(sessions.contains { $0["device"] as? String == "Firefox on Windows" })
        #expect(sessions.allSatisfy { $0["ipAddress"] as? String == "127.0.***.***" })
        let current = try #require(sessions.first { $0["isCurrent"] as? Bool == true }?["id"] as? String)
        let other = try #require(sessions.first { $0["isCurrent"] as? Bool == false }?["id"] as? String)
        #expect(try await s.call("DELETE", "/api/user/sessions?sessionId=\(current)", token: a).error
                == "Cannot revoke the current session. Use /api/auth/logout")
        #expect(try await s.call("DELETE", "/api/user/sessions", token: a).error == "Session ID or all=true required")
        #expect(try await s.call("DELETE", "/api/user/sessions?sessionId=sess_unknown", token: a).status == 404)
        #expect(try await s.call("DELETE", "/api/user/sessions?sessionId=\(other)", token: a).status == 200)
        #expect(try await s.call("GET", "/api/user/status", token: b).status == 401)

        let c = try #require(try await s.call("POST", "/api/auth/login", json: ["email": "sess@example.com", "password": TestServer.password]).json["token"] as? String)
        let wrong = try await s.call("PATCH", "/api/user/password", token: a, json: ["currentPassword": "nope", "newPassword": "Brand-New-Pass-9!"])
        #expect(wrong.error == "Current password is incorrect")
        let changed = try await s.call("PATCH", "/api/user/password", token: a,
                                       json: ["currentPassword": TestServer.password, "newPassword": "Brand-New-Pass-9!"])
        #expect(changed.json["message"] as? String == "Password changed successfully")
        #expect(try await s.call("GET", "/api/user/status", token: c).status == 401)
        #expect(try await s.call("GET", "/api/user/status", token: a).status == 200)
        let all = try await s.call("DELETE", "/api/user/sessions?all=true", token: a)
        #expect(all.json["revoked"] as? Int == 0)
        try await s.stop()
    }

    /// The TOTP code of a base32 secret for a time step.
    static func code(_ base32: String, step: Int64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, buffer = 0
        var bytes: [UInt8] = []
        for ch in base32 {
            buffer = buffer << 5 | alphabet.firstIndex(of: ch)!
            bits += 5
            if bits >= 8 { bytes.append(UInt8((buffer >> (bits - 8)) & 0xFF)); bits -= 8 }
        }
        let v = TOTP(secret: String(decoding: bytes, as: UTF8.self)).compute(date: Date(timeIntervalSince1970: Double(step * 30)))
        return String(format: "%06d", v)
    }

    @Test func twoFactor() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("tfa@example.com")
        let setup = try await s.call("POST", "/api/auth/2fa/setup", token: t)
        let secret = try #require(setup.json["secret"] as? String)
        #expect((setup.json["qrCode"] as? String)?.hasPrefix("otpauth://totp/") == true)
        let step = Int64(Date().timeIntervalSince1970) / 30
        #expect(try await s.call("POST", "/api/auth/2fa/verify", token: t, json: ["code": "000000x"]).error == "Invalid verification code")
        #expect(try await s.call("POST", "/api/auth/2fa/verify", token: t, json: [:] as [String: Any]).error == "Verification code required")
        let v = try await s.call("POST", "/api/auth/2fa/verify", token: t, json: ["code": Self.code(secret, step: step)])
        #expect(v.json["message"] as? String == "Two-factor authentication enabled successfully")
        let login = try await s.call("POST", "/api/auth/login", json: ["email": "tfa@example.com", "password": TestServer.password])
        #expect(login.json["requires_2fa"] as? Bool == true)
        let temp = try #require(login.json["tempToken"] as? String)
        // A used code is refused.
        let reuse = try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": temp, "code": Self.code(secret, step: step)])
        #expect(reuse.status == 401)
        #expect(reuse.error == "Invalid verification code")
        let ok = try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": temp, "code": Self.code(secret, step: step + 1)])
        #expect(ok.status == 200)
        #expect(ok.json["success"] as? Bool == true)
        #expect(ok.json["token"] is String)
        #expect(try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": temp, "code": "123456"]).error == "Invalid temporary token")
        try await s.stop()
    }

    @Test func exportAndDeleteAccount() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("gone@example.com")
        let site = try await s.createSite(t, domain: "gone.example.com")
        let export = try await s.call("GET", "/api/user/export", token: t)
        #expect(export.header("Content-Disposition")?.contains("zta-data-export-") == true)
        #expect((export.json["sites"] as? [[String: Any]])?.first?["id"] as? String == site)
        #expect(export.json["exportVersion"] as? String == "1.0")
        let missing = try await s.call("POST", "/api/user/delete", token: t, json: ["password": TestServer.password])
        #expect(missing.error == "Please confirm deletion by providing confirmDelete: \"DELETE_MY_ACCOUNT\"")
        let mismatch = try await s.call("POST", "/api/user/delete", token: t,
                                        json: ["password": TestServer.password, "confirmDelete": "DELETE_MY_ACCOUNT", "confirmEmail": "x@y.dev"])
        #expect(mismatch.error == "Email confirmation does not match your account email")
        let del = try await s.call("POST", "/api/user/delete", token: t,
                                   json: ["password": TestServer.password, "confirmDelete": "DELETE_MY_ACCOUNT", "confirmEmail": "gone@example.com"])
        #expect(del.status == 200)
        #expect((del.json["summary"] as? [String: Any])?["sitesDeleted"] as? Int == 1)
        #expect(try await s.call("GET", "/api/user/status", token: t).status == 401)
        try await s.stop()
    }
}
