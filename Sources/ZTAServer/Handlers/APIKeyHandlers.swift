import GRDB

/// `/api/api-keys` (api.md §7.3, JWT only): keys are `zta_live_` + 32 hex, shown once; only
/// their SHA-256 is stored.
extension ServerCore {
    /// A key of this user that is not revoked, read inside the caller's transaction.
    private static func liveKey(_ db: GRDB.Database, _ id: String, userId: String) throws -> APIKeyRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                         arguments: [id, userId]).map(APIKeyRecord.init(row:))
    }

    func listAPIKeys(_ call: Call) async throws -> Reply.Out {
        let uid = try call.user.id, now = call.nowMs
        let keys = try await meta.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM api_keys WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
                ORDER BY created_at DESC, id
                """, arguments: [uid, now]).map { JSONValue.object(APIKeyRecord(row: $0).json) }
        }
        return .json(.object([("apiKeys", .array(keys))]))
    }

    func createAPIKey(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        let raw = body["name"]?.stringValue ?? ""
        let name = raw.trimmingCharacters(" ")
        if name.isEmpty { throw APIError.badRequest("Name is required") }
        // Unicode scalars as sent, as JSON Schema's maxLength counts (graphemes have no byte bound).
        if raw.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
        guard let scope = body["scope"]?.stringValue.flatMap(KeyScope.init(rawValue:)) else { throw APIError.badRequest("Invalid scope") }
        var expiresAt: Int64? = nil
        if let e = body["expiresIn"], !e.isNull {
            guard let days = e.intValue, (1...3650).contains(days) else { throw APIError.invalid("expiresIn") }
            expiresAt = call.nowMs + Int64(days) * 86_400_000
        }
        var siteId: String? = nil
        if let s = body["siteId"], !s.isNull {
            guard let id = s.stringValue, !id.isEmpty else { throw APIError.invalid("siteId") }
            _ = try await authorizedSite(call, id)
            siteId = id
        }
        let key = "zta_live_" + Secrets.randomHex(bytes: 16)
        let id = Secrets.id("key")
        let prefix = String(key.prefix(16)) + "..."
        let (uid, now, hash, site, exp) = (try call.user.id, call.nowMs, Secrets.sha256Hex(key), siteId, expiresAt)
        // Insert and read back in one transaction: a concurrent revocation or account deletion
        // can't make the row vanish between the two (that used to trap the server).
        let rec = try await meta.pool.write { db -> APIKeyRecord? in
            try db.execute(sql: """
                INSERT INTO api_keys (id, user_id, name, scope, site_id, key_hash, key_prefix, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, uid, name, scope.rawValue, site, hash, prefix, now, exp])
            return try Self.liveKey(db, id, userId: uid)
        }
        guard let rec else { throw APIError(404, "API key not found") }
        await recordActivity(call, .apiKeyCreated, target: ActivityTarget(type: "api_key", id: rec.id, name: rec.name),
                             metadata: [("scope", .string(rec.scope)), ("siteId", .optional(rec.siteId))])
        return .json(.object([("apiKey", .object(rec.json + [("key", .string(key))]))]), status: .created)
    }

    func renameAPIKey(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let id = body["id"]?.stringValue, !id.isEmpty else { throw APIError.badRequest("API key ID required") }
        let raw = body["name"]?.stringValue ?? ""
        let name = raw.trimmingCharacters(" ")
        if name.isEmpty { throw APIError.badRequest("Name is required") }
        // Unicode scalars as sent, as JSON Schema's maxLength counts (graphemes have no byte bound).
        if raw.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
        let uid = try call.user.id
        // Update and read back in one transaction (a concurrent revoke answers 404, never traps).
        let rec = try await meta.pool.write { db -> APIKeyRecord? in
            try db.execute(sql: "UPDATE api_keys SET name = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                           arguments: [name, id, uid])
            return db.changesCount == 1 ? try Self.liveKey(db, id, userId: uid) : nil
        }
        guard let rec else { throw APIError(404, "API key not found") }
        return .json(.object([("apiKey", .object(rec.json))]))
    }

    func revokeAPIKey(_ call: Call) async throws -> Reply.Out {
        guard let id = call.query["id"], !id.isEmpty else { throw APIError.badRequest("API key ID required") }
        let uid = try call.user.id, now = call.nowMs
        let revoked = try await meta.pool.write { db -> APIKeyRecord? in
            let rec = try Self.liveKey(db, id, userId: uid)
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                           arguments: [now, id, uid])
            return db.changesCount == 1 ? rec : nil
        }
        guard let revoked else { throw APIError(404, "API key not found") }
        await recordActivity(call, .apiKeyRevoked, target: ActivityTarget(type: "api_key", id: revoked.id, name: revoked.name))
        return .ok("API key revoked successfully")
    }
}
