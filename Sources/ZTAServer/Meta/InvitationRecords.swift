import GRDB

/// A team invitation (api.md §7.4). Only the SHA-256 of its 64-hex token is stored; the token
/// itself is in the invite URL and nowhere else.
struct InvitationRecord: Sendable {
    var id: String
    var siteId: String
    var email: String
    var role: SiteRole
    var invitedBy: String?
    var message: String?
    var createdAt: Int64
    var expiresAt: Int64
    var acceptedAt: Int64?
    var declinedAt: Int64?
    var revokedAt: Int64?

    init(row: Row) {
        id = row["id"]; siteId = row["site_id"]; email = row["email"]
        role = SiteRole(rawValue: row["role"]) ?? .viewer
        invitedBy = row["invited_by"]; message = row["message"]; createdAt = row["created_at"]; expiresAt = row["expires_at"]
        acceptedAt = row["accepted_at"]; declinedAt = row["declined_at"]; revokedAt = row["revoked_at"]
    }

    /// How long an invitation stays valid.
    static let lifetimeMs: Int64 = 7 * 86_400_000

    /// Neither accepted, declined nor revoked, and unexpired at `nowMs`.
    func isPending(at nowMs: Int64) -> Bool {
        acceptedAt == nil && declinedAt == nil && revokedAt == nil && expiresAt > nowMs
    }

    /// SQL condition of `isPending` (one bound argument: now).
    static let pendingSQL = "accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL AND expires_at > ?"
}

extension MetaStore {
    /// Migration `v_teams`: invitations. Members stay in `site_members` (v1); the owner is
    /// `sites.owner_id` only and never has a `site_members` row (one source of truth per role).
    static func registerTeams(_ m: inout DatabaseMigrator) {
        m.registerMigration("v_teams") { db in
            try db.execute(sql: """
                CREATE TABLE invitations (
                    id TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    email TEXT NOT NULL,
                    role TEXT NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
                    message TEXT,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    accepted_at INTEGER,
                    declined_at INTEGER,
                    revoked_at INTEGER
                );
                CREATE INDEX invitations_site ON invitations(site_id, email);
                CREATE INDEX invitations_email ON invitations(email);
                """)
        }
    }

    /// The invitation whose token hashes to `tokenHash`, whatever its state.
    func invitation(tokenHash: String) async throws -> InvitationRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM invitations WHERE token_hash = ?", arguments: [tokenHash])
                .map(InvitationRecord.init(row:))
        }
    }

    /// Whether a pending, unexpired invitation targets `email` (registration while closed).
    func hasPendingInvitation(email: String, nowMs: Int64) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM invitations WHERE email = ? AND \(InvitationRecord.pendingSQL))",
                              arguments: [email, nowMs]) ?? false
        }
    }
}
