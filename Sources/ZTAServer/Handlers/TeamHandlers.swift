import GRDB

/// `/api/teams` (api.md §7.4): membership is per site. The owner is `sites.owner_id` and has no
/// `site_members` row; admins, editors and viewers are `site_members` rows. Every check follows
/// §1: parameters, site visibility (403 `Access denied`), role then key scope (`admin`), the
/// member or invitation looked up, business rules.
extension ServerCore {
    /// A role as a request spells it: `member` is accepted as `editor` (§3) and never returned.
    static func requestedRole(_ text: String) -> SiteRole? {
        text == "member" ? .editor : SiteRole(rawValue: text)
    }

    /// Team writes want an API key of `admin` scope (§3's minimum scope for every team write).
    private func requireTeamAdminScope(_ call: Call) throws(APIError) {
        if let key = call.principal?.apiKey, key.scope != KeyScope.admin.rawValue {
            throw APIError(403, "API key does not allow this operation")
        }
    }

    /// `siteId` of a body or query: 400 `Site ID required` when missing or empty.
    private static func teamSiteId(_ v: JSONValue?) throws(APIError) -> String {
        guard let v, !v.isNull else { throw APIError.badRequest("Site ID required") }
        guard let s = v.stringValue else { throw APIError.invalid("siteId") }
        if s.isEmpty { throw APIError.badRequest("Site ID required") }
        return s
    }

    // MARK: GET /api/teams

    func listTeams(_ call: Call) async throws -> Reply.Out {
        if let siteId = call.query["siteId"] {
            if siteId.isEmpty { throw APIError.badRequest("Site ID required") }
            return try await listMembers(call, siteId)
        }
        let sites = try await visibleSites(call)
        let ids = sites.map(\.0.id)
        let counts = try await meta.pool.read { db -> [String: Int] in
            var out: [String: Int] = [:]
            for id in ids {
                out[id] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM site_members WHERE site_id = ?", arguments: [id]) ?? 0
            }
            return out
        }
        let list = sites.map { site, role -> JSONValue in
            .object([("siteId", .string(site.id)), ("siteName", .string(site.name)), ("domain", .string(site.domain)),
                     ("role", .string(role.rawValue)), ("memberCount", .int((counts[site.id] ?? 0) + 1))])
        }
        return .json(.object([("sites", .array(list))]))
    }

    /// Members of one site, owner first then by `joinedAt`; pending invitations for owner/admin callers.
    private func listMembers(_ call: Call, _ siteId: String) async throws -> Reply.Out {
        let (site, role) = try await authorizedSite(call, siteId)
        let now = call.nowMs, withInvites = role >= .admin
        let lastActive = "(SELECT MAX(last_active_at) FROM login_sessions l WHERE l.user_id = u.id) AS last_active"
        let out = try await meta.pool.read { db -> [JSONValue] in
            var out: [JSONValue] = []
            func member(_ r: Row, role: String, joinedAt: Int64) -> JSONValue {
                var m: [(String, JSONValue)] = [("id", .string(r["id"])), ("email", .string(r["email"]))]
                if let name: String = r["name"] { m.append(("name", .string(name))) }
                m += [("role", .string(role)), ("status", "active"), ("joinedAt", .string(Clock.iso(joinedAt)))]
                if let last: Int64 = r["last_active"] { m.append(("lastActive", .string(Clock.iso(last)))) }
                return .object(m)
            }
            if let o = try Row.fetchOne(db, sql: "SELECT u.id, u.email, u.name, \(lastActive) FROM users u WHERE u.id = ?",
                                        arguments: [site.ownerId]) {
                out.append(member(o, role: SiteRole.owner.rawValue, joinedAt: site.createdAt))
            }
            for r in try Row.fetchAll(db, sql: """
                SELECT u.id, u.email, u.name, m.role, m.joined_at, \(lastActive) FROM site_members m
                JOIN users u ON u.id = m.user_id WHERE m.site_id = ? ORDER BY m.joined_at, u.id
                """, arguments: [site.id]) {
                out.append(member(r, role: r["role"], joinedAt: r["joined_at"]))
            }
            guard withInvites else { return out }
            for r in try Row.fetchAll(db, sql: """
                SELECT * FROM invitations WHERE site_id = ? AND \(InvitationRecord.pendingSQL) ORDER BY created_at, id
                """, arguments: [site.id, now]) {
                let inv = InvitationRecord(row: r)
                out.append(.object([("id", .string(inv.id)), ("email", .string(inv.email)), ("role", .string(inv.role.rawValue)),
                                    ("status", "pending"), ("invitedAt", .string(Clock.iso(inv.createdAt))),
                                    ("invitedBy", .optional(inv.invitedBy)), ("expiresAt", .string(Clock.iso(inv.expiresAt)))]))
            }
            return out
        }
        return .json(.object([("members", .array(out))]))
    }

    // MARK: POST /api/teams

    /// Whether `email` is the site's owner or one of its members.
    private static func isTeamMember(_ db: GRDB.Database, siteId: String, email: String) throws -> Bool {
        try Bool.fetchOne(db, sql: """
            SELECT EXISTS(SELECT 1 FROM sites s JOIN users u ON u.id = s.owner_id WHERE s.id = ? AND u.email = ?)
                OR EXISTS(SELECT 1 FROM site_members m JOIN users u ON u.id = m.user_id WHERE m.site_id = ? AND u.email = ?)
            """, arguments: [siteId, email, siteId, email]) ?? false
    }

    func inviteMember(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        let siteId = try Self.teamSiteId(body["siteId"])
        guard let rawEmail = body["email"], !rawEmail.isNull else { throw APIError.badRequest("Email address is required") }
        guard let emailText = rawEmail.stringValue else { throw APIError.badRequest("Invalid email format") }
        let email = emailText.trimmingCharacters(" ").lowercased()
        if email.isEmpty { throw APIError.badRequest("Email address is required") }
        guard Credentials.isValidEmail(email) else { throw APIError.badRequest("Invalid email format") }
        guard let rawRole = body["role"], !rawRole.isNull else { throw APIError.required("role") }
        guard let role = rawRole.stringValue.flatMap(Self.requestedRole), role != .owner else {
            throw APIError.badRequest("Invalid role. Must be: admin, editor, or viewer")
        }
        var message: String? = nil
        if let m = body["message"], !m.isNull {
            guard let s = m.stringValue else { throw APIError.invalid("message") }
            // Unicode scalars as sent, as JSON Schema's maxLength counts.
            if s.unicodeScalars.count > 500 { throw APIError.badRequest("message must be at most 500 characters") }
            let t = s.trimmingCharacters(" ")
            message = t.isEmpty ? nil : t
        }
        let (site, callerRole) = try await authorizedSite(call, siteId)
        guard callerRole >= .admin else { throw APIError(403, "Only owners and admins can invite team members") }
        if role == .admin && callerRole != .owner { throw APIError(403, "Only the owner can invite admins") }
        try requireTeamAdminScope(call)
        let sid = site.id
        let member = try await meta.pool.read { db in try Self.isTeamMember(db, siteId: sid, email: email) }
        if member { throw APIError.badRequest("User is already a team member") }
        // The per-site limit is counted once the invitation is allowed: a stranger can't spend
        // a site's allowance (the per-user limit is counted with the route's, before parameters).
        let perSite = limiter.check("invite_site:\(sid)", [config.rateLimits.invitationsPerSite])
        guard perSite.allowed else {
            metrics.rateLimited(bucket: "invitations_site")
            throw Dispatcher.tooMany(perSite)
        }
        let token = Secrets.randomHex(bytes: 32)
        let id = Secrets.id("inv")
        let (uid, now, msg) = (try call.user.id, call.nowMs, message)
        let expires = now + InvitationRecord.lifetimeMs
        try await meta.pool.write { db in
            // Checked again inside the write: an acceptance may have landed since the read above.
            if try Self.isTeamMember(db, siteId: sid, email: email) { throw APIError.badRequest("User is already a team member") }
            // A new invitation replaces a pending one to the same address (decided, §7.4).
            try db.execute(sql: "UPDATE invitations SET revoked_at = ? WHERE site_id = ? AND email = ? AND \(InvitationRecord.pendingSQL)",
                           arguments: [now, sid, email, now])
            try db.execute(sql: """
                INSERT INTO invitations (id, site_id, email, role, token_hash, invited_by, message, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, sid, email, role.rawValue, Secrets.sha256Hex(token), uid, msg, now, expires])
        }
        await recordActivity(call, .teamMemberInvited, target: ActivityTarget(type: "invitation", id: id, email: email),
                             siteId: sid, metadata: [("role", .string(role.rawValue))])
        let url = "\(config.publicURL)/accept-invite?token=\(token)"
        if config.logResetLinks {
            // No SMTP in this build: like reset links, the invite link is logged only with --dev-mail-log.
            logger.notice("team invitation link (no SMTP configured)", metadata: ["link": "\(url)", "invitation": "\(id)"])
        } else {
            logger.notice("team invitation created (no SMTP configured; --dev-mail-log writes the link)",
                          metadata: ["invitation": "\(id)", "site": "\(sid)"])
        }
        return .json(.object([("invitation", .object([
            ("id", .string(id)), ("email", .string(email)), ("role", .string(role.rawValue)), ("status", "pending"),
            ("invitedAt", .string(Clock.iso(now))), ("expiresAt", .string(Clock.iso(expires))), ("inviteUrl", .string(url)),
        ]))]), status: .created)
    }

    // MARK: PATCH /api/teams

    /// Outcome of a role change inside its transaction.
    private enum RoleChange { case changed(email: String, from: String), notMember, notOwner }

    func changeMemberRole(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        let siteId = try Self.teamSiteId(body["siteId"])
        guard let u = body["userId"], !u.isNull, let userId = u.stringValue, !userId.isEmpty else {
            if let u = body["userId"], !u.isNull, u.stringValue == nil { throw APIError.invalid("userId") }
            throw APIError.badRequest("User ID required")
        }
        guard let rawRole = body["role"], !rawRole.isNull else { throw APIError.required("role") }
        guard let role = rawRole.stringValue.flatMap(Self.requestedRole) else { throw APIError.invalid("role") }
        let (site, callerRole) = try await authorizedSite(call, siteId)
        guard callerRole == .owner else { throw APIError(403, "Only the site owner can change roles") }
        try requireTeamAdminScope(call)
        if userId == site.ownerId { throw APIError(403, "Cannot change the owner's role") }
        let (sid, owner, now) = (site.id, site.ownerId, call.nowMs)
        let outcome = try await meta.pool.write { db -> RoleChange in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT u.email, m.role FROM site_members m JOIN users u ON u.id = m.user_id WHERE m.site_id = ? AND m.user_id = ?
                """, arguments: [sid, userId]) else { return .notMember }
            let email: String = row["email"], from: String = row["role"]
            guard role == .owner else {
                try db.execute(sql: "UPDATE site_members SET role = ? WHERE site_id = ? AND user_id = ?",
                               arguments: [role.rawValue, sid, userId])
                return .changed(email: email, from: from)
            }
            // Ownership transfer, all or nothing: only if the caller still owns the site.
            try db.execute(sql: "UPDATE sites SET owner_id = ?, updated_at = ? WHERE id = ? AND owner_id = ?",
                           arguments: [userId, now, sid, owner])
            guard db.changesCount == 1 else { return .notOwner }
            try db.execute(sql: "DELETE FROM site_members WHERE site_id = ? AND user_id = ?", arguments: [sid, userId])
            try db.execute(sql: "INSERT INTO site_members (site_id, user_id, role, joined_at) VALUES (?, ?, 'admin', ?)",
                           arguments: [sid, owner, now])
            return .changed(email: email, from: from)
        }
        switch outcome {
        case .notMember: throw APIError(404, "Team member not found")
        case .notOwner: throw APIError(403, "Only the site owner can change roles")
        case .changed(let email, let from):
            if role == .owner { siteCache.invalidate(sid) }
            let target = ActivityTarget(type: "user", id: userId, email: email)
            if role == .owner {
                await recordActivity(call, .teamOwnershipTransferred, target: target, siteId: sid,
                                     metadata: [("previousOwnerId", .string(owner)), ("previousRole", .string(from))])
            } else {
                await recordActivity(call, .teamRoleChanged, target: target, siteId: sid,
                                     metadata: [("oldRole", .string(from)), ("newRole", .string(role.rawValue))])
            }
            return .json(.object([("member", .object([("id", .string(userId)), ("email", .string(email)),
                                                      ("role", .string(role.rawValue)), ("updatedAt", .string(Clock.iso(now)))]))]))
        }
    }

    // MARK: DELETE /api/teams

    /// Outcome of a member removal inside its transaction.
    private enum Removal { case removed(email: String, role: String), notMember, forbidden }

    func removeMember(_ call: Call) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        guard let target = call.query["userId"], !target.isEmpty else { throw APIError.badRequest("User ID required") }
        let (site, callerRole) = try await authorizedSite(call, siteId)
        let me = try call.user.id
        let sid = site.id, now = call.nowMs
        if target == site.ownerId { throw APIError(403, "Cannot remove the site owner") }
        // Leaving is always allowed (§3); anything else wants an owner or an admin.
        if target != me && callerRole < .admin { throw APIError(403, "Only owners and admins can remove team members") }
        try requireTeamAdminScope(call)
        if target.hasPrefix("inv_") {
            let revoked = try await meta.pool.write { db -> String? in
                let email = try String.fetchOne(db, sql: "SELECT email FROM invitations WHERE id = ? AND site_id = ? AND \(InvitationRecord.pendingSQL)",
                                                arguments: [target, sid, now])
                guard email != nil else { return nil }
                try db.execute(sql: "UPDATE invitations SET revoked_at = ? WHERE id = ?", arguments: [now, target])
                return email
            }
            guard let email = revoked else { throw APIError(404, "Team member not found") }
            await recordActivity(call, .teamMemberRemoved, target: ActivityTarget(type: "invitation", id: target, email: email),
                                 siteId: sid, metadata: [("invitation", true)])
            return .ok("Team member removed successfully")
        }
        let isOwner = callerRole == .owner
        let removed = try await meta.pool.write { db -> Removal in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT m.role, u.email FROM site_members m JOIN users u ON u.id = m.user_id WHERE m.site_id = ? AND m.user_id = ?
                """, arguments: [sid, target]) else { return .notMember }
            let raw: String = row["role"], email: String = row["email"]
            // An admin removes editors and viewers (and itself), not other admins.
            if target != me && !isOwner && SiteRole(rawValue: raw) ?? .viewer >= .admin { return .forbidden }
            try db.execute(sql: "DELETE FROM site_members WHERE site_id = ? AND user_id = ?", arguments: [sid, target])
            return .removed(email: email, role: raw)
        }
        switch removed {
        case .notMember: throw APIError(404, "Team member not found")
        case .forbidden: throw APIError(403, "Insufficient permissions")
        case .removed(let email, let role):
            await recordActivity(call, .teamMemberRemoved, target: ActivityTarget(type: "user", id: target, email: email),
                                 siteId: sid, metadata: [("role", .string(role)), ("left", .bool(target == me))])
            return .ok("Team member removed successfully")
        }
    }
}
