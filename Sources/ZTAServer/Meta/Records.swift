import GRDB

/// A registered user.
struct UserRecord: Sendable {
    var id: String
    var email: String
    var name: String?
    var passwordHash: String
    var createdAt: Int64
    var totpSecret: String?
    var totpEnabled: Bool
    var totpLastStep: Int64

    init(row: Row) {
        id = row["id"]; email = row["email"]; name = row["name"]; passwordHash = row["password_hash"]
        createdAt = row["created_at"]; totpSecret = row["totp_secret"]; totpEnabled = row["totp_enabled"]
        totpLastStep = row["totp_last_step"]
    }

    /// api.md §2 `User`.
    var json: JSONValue {
        var m: [(String, JSONValue)] = [("id", .string(id)), ("email", .string(email))]
        if let name { m.append(("name", .string(name))) }
        m.append(("createdAt", .string(Clock.iso(createdAt))))
        m.append(("twoFactorEnabled", .bool(totpEnabled)))
        return .object(m)
    }
}

/// A login session (the JWT's `sid`).
struct LoginSessionRecord: Sendable {
    var id: String
    var userId: String
    var createdAt: Int64
    var lastActiveAt: Int64
    var expiresAt: Int64
    var device: String
    var ipMasked: String
    var revokedAt: Int64?

    init(row: Row) {
        id = row["id"]; userId = row["user_id"]; createdAt = row["created_at"]; lastActiveAt = row["last_active_at"]
        expiresAt = row["expires_at"]; device = row["device"]; ipMasked = row["ip_masked"]; revokedAt = row["revoked_at"]
    }
}

/// A site (api.md §7 `Site`).
struct SiteRecord: Sendable {
    var id: String
    var ownerId: String
    var domain: String
    var name: String
    var timezone: String
    var isPublic: Bool
    var excludePaths: [String]
    var dataRetention: Int?
    var createdAt: Int64
    var updatedAt: Int64

    init(row: Row) {
        id = row["id"]; ownerId = row["owner_id"]; domain = row["domain"]; name = row["name"]; timezone = row["timezone"]
        isPublic = row["public"]; dataRetention = row["data_retention"]; createdAt = row["created_at"]; updatedAt = row["updated_at"]
        let raw: String = row["exclude_paths"]
        excludePaths = JSONCoding.parse(Array(raw.utf8))?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    init(id: String, ownerId: String, domain: String, name: String, timezone: String, isPublic: Bool,
         excludePaths: [String], dataRetention: Int?, createdAt: Int64) {
        self.id = id; self.ownerId = ownerId; self.domain = domain; self.name = name; self.timezone = timezone
        self.isPublic = isPublic; self.excludePaths = excludePaths; self.dataRetention = dataRetention
        self.createdAt = createdAt; self.updatedAt = createdAt
    }

    var excludePathsJSON: String {
        String(decoding: JSONCoding.write(.array(excludePaths.map { .string($0) })), as: UTF8.self)
    }

    func json(role: SiteRole) -> [(String, JSONValue)] {
        [("id", .string(id)), ("domain", .string(domain)), ("name", .string(name)), ("timezone", .string(timezone)),
         ("public", .bool(isPublic)),
         ("settings", .object([("excludePaths", .array(excludePaths.map { .string($0) })),
                               ("dataRetention", dataRetention.map { .int($0) } ?? .null)])),
         ("role", .string(role.rawValue)), ("createdAt", .string(Clock.iso(createdAt))),
         ("updatedAt", .string(Clock.iso(updatedAt)))]
    }
}

/// One import run (api.md §8 history).
struct ImportRecord: Sendable {
    var id: Int64
    /// The engine's import id stamped on the events (nil until the run allocated it).
    var engineId: Int64?
    var siteId: String
    var source: String
    var format: String
    var status: String
    var accepted: Int
    var rejected: Int
    var dateStart: String?
    var dateEnd: String?
    var days: Int?
    var importedAt: Int64
    var importedBy: String

    init(row: Row) {
        id = row["id"]; engineId = row["engine_id"]; siteId = row["site_id"]; source = row["source"]; format = row["format"]; status = row["status"]
        accepted = row["accepted"]; rejected = row["rejected"]; dateStart = row["date_start"]; dateEnd = row["date_end"]
        days = row["days"]; importedAt = row["imported_at"]; importedBy = row["imported_by"]
    }

    var json: JSONValue {
        var m: [(String, JSONValue)] = [("id", .string(ImportIds.external(id))), ("siteId", .string(siteId)),
            ("source", .string(source)), ("format", .string(format)), ("status", .string(status)),
            ("accepted", .int(accepted)), ("rejected", .int(rejected))]
        if let s = dateStart, let e = dateEnd {
            m.append(("dateRange", .object([("start", .string(s)), ("end", .string(e)), ("days", .int(days ?? 0))])))
        }
        m.append(("importedAt", .string(Clock.iso(importedAt))))
        m.append(("importedBy", .string(importedBy)))
        return .object(m)
    }
}

/// External import ids: `imp_<n>`, n = the history row id.
enum ImportIds {
    static func external(_ id: Int64) -> String { "imp_\(id)" }
    static func parse(_ s: String) -> Int64? {
        let digits = s.hasPrefix("imp_") ? String(s.dropFirst(4)) : s
        guard let v = Int64(digits), v > 0, v <= Int64(UInt32.max) else { return nil }
        return v
    }
}

/// An API key (api.md §7.3).
struct APIKeyRecord: Sendable {
    var id: String
    var userId: String
    var name: String
    var scope: String
    var siteId: String?
    var keyPrefix: String
    var createdAt: Int64
    var expiresAt: Int64?
    var lastUsed: Int64?
    var revokedAt: Int64?

    init(row: Row) {
        id = row["id"]; userId = row["user_id"]; name = row["name"]; scope = row["scope"]; siteId = row["site_id"]
        keyPrefix = row["key_prefix"]; createdAt = row["created_at"]; expiresAt = row["expires_at"]
        lastUsed = row["last_used"]; revokedAt = row["revoked_at"]
    }

    var json: [(String, JSONValue)] {
        [("id", .string(id)), ("name", .string(name)), ("scope", .string(scope)), ("siteId", .optional(siteId)),
         ("keyPrefix", .string(keyPrefix)), ("lastUsed", Clock.isoValue(lastUsed)),
         ("createdAt", .string(Clock.iso(createdAt))), ("expiresAt", Clock.isoValue(expiresAt))]
    }
}

/// Site roles of api.md §3, weakest first.
enum SiteRole: String, Sendable, Comparable {
    case viewer, editor, admin, owner

    var rank: Int {
        switch self {
        case .viewer: 0
        case .editor: 1
        case .admin: 2
        case .owner: 3
        }
    }

    static func < (a: SiteRole, b: SiteRole) -> Bool { a.rank < b.rank }
}
