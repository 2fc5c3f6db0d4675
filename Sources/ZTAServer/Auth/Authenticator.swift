import GRDB

/// Credential checks of api.md §2 and the site authorization of §3.
extension ServerCore {
    /// Reads `Authorization: Bearer …` and returns the caller, or the 401 of api.md §2. Only
    /// identity: what the caller may do (`authorize`) is checked after the rate-limit count, so
    /// refused requests are counted too (api.md §1 order).
    func authenticate(_ call: Call) async throws -> Principal {
        let token: String
        switch BearerToken(header: call.header("Authorization")) {
        case nil:
            throw APIError.authRequired
        case .apiKey(let key)?:
            return try await authenticateKey(key, nowMs: call.nowMs)
        case .jwt(let jwt)?:
            token = jwt
        }
        let claims: SessionClaims
        do { claims = try await tokens.verify(token, nowMs: call.nowMs) } catch {
            throw error == TokenFailure.expired ? APIError(401, "Token expired. Please log in again.") : APIError(401, "Invalid or expired token")
        }
        let now = call.nowMs
        let found = try await meta.pool.read { db -> (UserRecord, LoginSessionRecord)? in
            guard let s = try Row.fetchOne(db, sql: "SELECT * FROM login_sessions WHERE id = ?", arguments: [claims.sid]),
                  let u = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [claims.sub.value]) else { return nil }
            return (UserRecord(row: u), LoginSessionRecord(row: s))
        }
        guard let (user, session) = found, session.userId == user.id else {
            throw APIError(401, "Session invalidated. Please log in again.")
        }
        if session.revokedAt != nil || session.expiresAt <= now {
            throw APIError(401, "Session invalidated. Please log in again.")
        }
        if now - session.lastActiveAt >= 60_000 {
            // lastActiveAt is refreshed at most once a minute.
            try? await meta.pool.write { db in
                try db.execute(sql: "UPDATE login_sessions SET last_active_at = ? WHERE id = ?", arguments: [now, session.id])
            }
        }
        return Principal(user: user, sessionId: session.id, apiKey: nil)
    }

    private func authenticateKey(_ key: String, nowMs: Int64) async throws -> Principal {
        let hash = Secrets.sha256Hex(key)
        let found = try await meta.pool.read { db -> (APIKeyRecord, UserRecord)? in
            guard let k = try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE key_hash = ?", arguments: [hash]) else { return nil }
            let rec = APIKeyRecord(row: k)
            guard let u = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [rec.userId]) else { return nil }
            return (rec, UserRecord(row: u))
        }
        guard let (k, user) = found, k.revokedAt == nil else { throw APIError(401, "Invalid or inactive API key") }
        if let e = k.expiresAt, e <= nowMs { throw APIError(401, "API key expired") }
        return Principal(user: user, sessionId: nil, apiKey: k)
    }

    /// Whether the caller may use an endpoint of this policy. JWT-only endpoints refuse keys at
    /// once (a key is not a credential they accept). A key's *scope* is the last check of api.md
    /// §1's order (… → parameters → visibility → role/scope), so a too-weak scope is only noted
    /// here (`Call.scopeDenial`) and thrown by `Call.authorizeScope()` where the handler reaches
    /// that step. An accepted key's `lastUsed` is written at most once a minute per key.
    func authorize(_ call: Call, _ p: Principal, _ policy: AuthPolicy) async throws {
        guard let key = p.apiKey else { return }
        guard case .jwtOrKey(let minScope) = policy else { throw APIError.jwtOnly }
        if !key.allows(minScope) {
            call.scopeDenial = APIError.keyScope
            return
        }
        let nowMs = call.nowMs
        if nowMs - (key.lastUsed ?? 0) >= 60_000 {
            try? await meta.pool.write { db in
                try db.execute(sql: "UPDATE api_keys SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)",
                               arguments: [nowMs, key.id, nowMs - 60_000])
            }
        }
    }

    /// The caller's role on a site, nil when none (teams add `site_members` rows).
    func role(_ userId: String, _ site: SiteRecord) async throws -> SiteRole? {
        if site.ownerId == userId { return .owner }
        let raw = try await meta.pool.read { db in
            try String.fetchOne(db, sql: "SELECT role FROM site_members WHERE site_id = ? AND user_id = ?",
                                arguments: [site.id, userId])
        }
        return raw.flatMap(SiteRole.init(rawValue:))
    }

    func site(_ id: String) async throws -> SiteRecord? {
        try await meta.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE id = ?", arguments: [id]).map(SiteRecord.init(row:))
        }
    }

    /// The site a query endpoint names, if the caller may use it with at least `minRole` (api.md §3):
    /// unknown or invisible → 403 `Access denied`; visible but too weak a role → 403
    /// `Insufficient permissions`; a key bound to another site or of too weak a scope for the
    /// endpoint → 403 `API key does not allow this operation` (the role/scope step of api.md §1).
    func authorizedSite(_ call: Call, _ siteId: String, minRole: SiteRole = .viewer,
                        denied: APIError = .accessDenied) async throws -> (SiteRecord, SiteRole) {
        guard let p = call.principal, let site = try await site(siteId), let role = try await role(p.user.id, site) else {
            throw denied
        }
        if let key = p.apiKey, let bound = key.siteId, bound != site.id { throw APIError.keyScope }
        guard role >= minRole else { throw APIError(403, "Insufficient permissions") }
        try call.authorizeScope()
        return (site, role)
    }
}

extension APIKeyRecord {
    /// Whether the key's scope is at least `scope` (`read` ⊂ `write` ⊂ `admin`); an unknown
    /// stored scope allows nothing.
    func allows(_ scope: KeyScope) -> Bool {
        KeyScope(rawValue: self.scope).map { $0 >= scope } ?? false
    }
}
