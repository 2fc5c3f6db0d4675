import GRDB

/// `/api/invite` (api.md §7.4): look an invitation up by its token (no credentials), accept or
/// decline it (JWT). Tokens are single use: the state check and the state change happen in one
/// write transaction, so two concurrent acceptances can't both succeed.
extension ServerCore {
    /// The invitation a token names if it can still be answered, else the error of §7.4:
    /// unknown, declined or revoked → 404; accepted → 400; expired → 400.
    static func answerableInvitation(_ db: GRDB.Database, token: String, nowMs: Int64) throws -> InvitationRecord {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM invitations WHERE token_hash = ?",
                                         arguments: [Secrets.sha256Hex(token)]) else {
            throw APIError(404, "Invalid or expired invite")
        }
        let inv = InvitationRecord(row: row)
        if inv.declinedAt != nil || inv.revokedAt != nil { throw APIError(404, "Invalid or expired invite") }
        if inv.acceptedAt != nil { throw APIError.badRequest("Invitation has already been accepted") }
        if inv.expiresAt <= nowMs { throw APIError.badRequest("Invitation has expired") }
        return inv
    }

    func showInvite(_ call: Call) async throws -> Reply.Out {
        guard let token = call.query["token"], !token.isEmpty else { throw APIError.badRequest("Token required") }
        let now = call.nowMs
        let (inv, site) = try await meta.pool.read { db -> (InvitationRecord, SiteRecord) in
            let inv = try Self.answerableInvitation(db, token: token, nowMs: now)
            guard let site = try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE id = ?", arguments: [inv.siteId])
                .map(SiteRecord.init(row:)) else { throw APIError(404, "Invalid or expired invite") }
            return (inv, site)
        }
        return .json(.object([
            ("invite", .object([("email", .string(inv.email)), ("role", .string(inv.role.rawValue)),
                                ("expiresAt", .string(Clock.iso(inv.expiresAt)))])),
            ("team", .object([("name", .string(site.name))])),
            ("site", .object([("id", .string(site.id)), ("domain", .string(site.domain)), ("name", .string(site.name))])),
        ]))
    }

    func answerInvite(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let t = body["token"], !t.isNull, let token = t.stringValue, !token.isEmpty else {
            throw APIError.badRequest("Token required")
        }
        let accept: Bool
        switch body["action"] {
        case nil, .null?, .string("accept")?: accept = true
        case .string("decline")?: accept = false
        default: throw APIError.invalid("action")
        }
        let me = try call.user
        let now = call.nowMs
        let (site, role, invId) = try await meta.pool.write { db -> (SiteRecord, SiteRole, String) in
            let inv = try Self.answerableInvitation(db, token: token, nowMs: now)
            guard inv.email == me.email else { throw APIError.badRequest("This invitation is for a different email address") }
            guard let site = try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE id = ?", arguments: [inv.siteId])
                .map(SiteRecord.init(row:)) else { throw APIError(404, "Invalid or expired invite") }
            guard accept else {
                try db.execute(sql: "UPDATE invitations SET declined_at = ? WHERE id = ?", arguments: [now, inv.id])
                return (site, inv.role, inv.id)
            }
            let member = try site.ownerId == me.id || Bool.fetchOne(db, sql: """
                SELECT EXISTS(SELECT 1 FROM site_members WHERE site_id = ? AND user_id = ?)
                """, arguments: [site.id, me.id]) ?? false
            if member { throw APIError.badRequest("User is already a team member") }
            try db.execute(sql: "UPDATE invitations SET accepted_at = ? WHERE id = ?", arguments: [now, inv.id])
            try db.execute(sql: "INSERT INTO site_members (site_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
                           arguments: [site.id, me.id, inv.role.rawValue, now])
            return (site, inv.role, inv.id)
        }
        await recordActivity(call, accept ? .teamMemberAccepted : .teamMemberDeclined,
                             target: ActivityTarget(type: "user", id: me.id, name: me.name, email: me.email), siteId: site.id,
                             metadata: [("role", .string(role.rawValue)), ("invitationId", .string(invId))])
        guard accept else { return .ok("Invite declined") }
        return .json(.object([
            ("success", true), ("message", "Invite accepted"),
            ("site", .object([("id", .string(site.id)), ("domain", .string(site.domain)), ("name", .string(site.name))])),
            ("role", .string(role.rawValue)),
        ]))
    }
}
