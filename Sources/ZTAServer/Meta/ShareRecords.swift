import GRDB

/// A share link of a site (api.md §7.2 `Share`).
///
/// The token is stored as is, not hashed: `GET /api/sites/share` lists it (the spec's `Share`
/// carries `token` and `url`), so it must be recoverable, and it only grants reading a site's
/// aggregate stats through `GET /api/public/stats` — what a public site shows anyone. Revoking
/// deletes the row, so a revoked token matches nothing.
struct ShareRecord: Sendable {
    var token: String
    var siteId: String
    var createdBy: String?
    var allowedPeriods: [String]
    var createdAt: Int64
    /// nil: never expires.
    var expiresAt: Int64?

    init(row: Row) {
        token = row["token"]; siteId = row["site_id"]; createdBy = row["created_by"]
        createdAt = row["created_at"]; expiresAt = row["expires_at"]
        let raw: String = row["allowed_periods"]
        allowedPeriods = JSONCoding.parse(Array(raw.utf8))?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    init(token: String, siteId: String, createdBy: String?, allowedPeriods: [String], createdAt: Int64, expiresAt: Int64?) {
        self.token = token; self.siteId = siteId; self.createdBy = createdBy; self.allowedPeriods = allowedPeriods
        self.createdAt = createdAt; self.expiresAt = expiresAt
    }

    /// Whether the share still works at `nowMs` (an expired share is gone for every purpose).
    func isActive(at nowMs: Int64) -> Bool { expiresAt.map { $0 > nowMs } ?? true }

    /// `<PUBLIC_URL>/shared/<token>`.
    func url(publicURL: String) -> String { "\(publicURL)/shared/\(token)" }

    func json(publicURL: String) -> JSONValue {
        .object([("token", .string(token)), ("siteId", .string(siteId)), ("createdAt", .string(Clock.iso(createdAt))),
                 ("expiresAt", Clock.isoValue(expiresAt)), ("allowedPeriods", .array(allowedPeriods.map { .string($0) })),
                 ("url", .string(url(publicURL: publicURL)))])
    }
}

/// Share rows in the metadata store.
extension MetaStore {
    static func registerShares(_ m: inout DatabaseMigrator) {
        m.registerMigration("v_shares") { db in
            try db.execute(sql: """
                CREATE TABLE shares (
                    token TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
                    allowed_periods TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER
                );
                CREATE INDEX shares_site ON shares(site_id, created_at);
                """)
        }
    }

    func insertShare(_ s: ShareRecord) async throws {
        let periods = String(decoding: JSONCoding.write(.array(s.allowedPeriods.map { .string($0) })), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO shares (token, site_id, created_by, allowed_periods, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [s.token, s.siteId, s.createdBy, periods, s.createdAt, s.expiresAt])
        }
    }

    func share(token: String) async throws -> ShareRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM shares WHERE token = ?", arguments: [token]).map(ShareRecord.init(row:))
        }
    }

    /// A site's shares that have not expired at `nowMs`, oldest first.
    func activeShares(siteId: String, nowMs: Int64) async throws -> [ShareRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM shares WHERE site_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at, token
                """, arguments: [siteId, nowMs]).map(ShareRecord.init(row:))
        }
    }

    /// Revokes (deletes) a share; false when it was already gone.
    func deleteShare(token: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM shares WHERE token = ?", arguments: [token])
            return db.changesCount > 0
        }
    }
}
