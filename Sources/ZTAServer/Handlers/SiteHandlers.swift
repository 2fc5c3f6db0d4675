import Foundation
import GRDB
import ZTAEngine
import ZTAQuery

/// `/api/sites` (api.md §7.1).
extension ServerCore {
    /// Lower-cased; scheme, leading `www.`, port, path and trailing slash stripped.
    static func normalizeDomain(_ raw: String) throws(APIError) -> String {
        var d = raw.trimmingCharacters(" ").lowercased()
        if d.isEmpty { throw APIError.badRequest("Domain is required") }
        if let r = d.range(of: "://") { d = String(d[r.upperBound...]) }
        if let slash = d.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { d = String(d[..<slash]) }
        if let colon = d.lastIndex(of: ":") { d = String(d[..<colon]) }
        if d.hasPrefix("www.") { d.removeFirst(4) }
        if d.hasSuffix(".") { d.removeLast() }
        if ["localhost", "127.0.0.1", "0.0.0.0"].contains(d) { throw APIError.badRequest("Invalid domain") }
        let labels = d.split(separator: ".", omittingEmptySubsequences: false)
        let validLabel: (Substring) -> Bool = { l in
            !l.isEmpty && l.count <= 63 && !l.hasPrefix("-") && !l.hasSuffix("-")
                && l.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
        guard !d.isEmpty, d.count <= 253, labels.allSatisfy(validLabel) else { throw APIError.badRequest("Invalid domain format") }
        guard labels.count >= 2, let tld = labels.last, tld.count >= 2, tld.contains(where: { $0.isLetter }) else {
            throw APIError.badRequest("Domain must include a TLD (e.g., .com)")
        }
        return d
    }

    /// Validated `settings` (excludePaths, dataRetention); absent keys keep `base`'s values.
    static func parseSettings(_ v: JSONValue?, base: ([String], Int?)) throws(APIError) -> ([String], Int?) {
        guard let v, !v.isNull else { return base }
        guard v.isObject else { throw APIError.invalid("settings") }
        var (paths, retention) = base
        if let p = v["excludePaths"] {
            guard let arr = p.arrayValue, arr.count <= 50 else { throw APIError.invalid("settings.excludePaths") }
            paths = []
            for e in arr {
                guard let s = e.stringValue, s.utf8.first == UInt8(ascii: "/") else { throw APIError.invalid("settings.excludePaths") }
                if s.unicodeScalars.count > 200 { throw APIError.badRequest("settings.excludePaths must be at most 200 characters") }
                paths.append(s)
            }
        }
        if let r = v["dataRetention"] {
            if r.isNull { retention = nil } else {
                guard let days = r.intValue, (1...36500).contains(days) else { throw APIError.invalid("settings.dataRetention") }
                retention = days
            }
        }
        return (paths, retention)
    }

    func createSite(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let rawDomain = body["domain"], !rawDomain.isNull else { throw APIError.badRequest("Domain is required") }
        guard let domainText = rawDomain.stringValue else { throw APIError.badRequest("Invalid domain format") }
        let domain = try Self.normalizeDomain(domainText)
        var name = domain
        if let n = body["name"], !n.isNull {
            guard let s = n.stringValue else { throw APIError.invalid("name") }
            // Unicode scalars as sent, as JSON Schema's maxLength counts (graphemes have no byte bound).
            if s.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
            let t = s.trimmingCharacters(" ")
            if !t.isEmpty { name = t }
        }
        var timezone = "UTC"
        if let tz = body["timezone"], !tz.isNull {
            guard let s = tz.stringValue, SiteTimeZone(s) != nil else { throw APIError.badRequest("Invalid timezone") }
            timezone = s
        }
        var isPublic = false
        if let p = body["public"], !p.isNull {
            guard let b = p.boolValue else { throw APIError.invalid("public") }
            isPublic = b
        }
        let (paths, retention) = try Self.parseSettings(body["settings"], base: ([], nil))
        // Role/scope step (§1, last): any user may create a site, a key only with the admin
        // scope and no site binding (§3).
        if call.principal?.apiKey?.siteId != nil { throw APIError.keyScope }
        try call.authorizeScope()
        let site = SiteRecord(id: Secrets.id("site"), ownerId: try call.user.id, domain: domain, name: name, timezone: timezone,
                              isPublic: isPublic, excludePaths: paths, dataRetention: retention, createdAt: call.nowMs)
        do {
            try await meta.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO sites (id, owner_id, domain, name, timezone, public, exclude_paths, data_retention, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [site.id, site.ownerId, site.domain, site.name, site.timezone, site.isPublic,
                                     site.excludePathsJSON, site.dataRetention, site.createdAt, site.updatedAt])
            }
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
            throw APIError(409, "A site with this domain already exists")
        }
        await recordActivity(call, .siteCreated, target: .site(site), siteId: site.id, metadata: [("domain", .string(site.domain))])
        let code = "<script async src=\"\(config.publicURL)/js/analytics.js\" data-site-id=\"\(site.id)\"></script>"
        return .json(.object([("site", .object(site.json(role: .owner) + [("trackingCode", .string(code))]))]), status: .created)
    }

    /// Sites the caller has a role on (a site-bound key: its site), oldest first.
    func visibleSites(_ call: Call) async throws -> [(SiteRecord, SiteRole)] {
        let uid = try call.user.id
        let rows = try await meta.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.*, CASE WHEN s.owner_id = ? THEN 'owner' ELSE m.role END AS my_role FROM sites s
                LEFT JOIN site_members m ON m.site_id = s.id AND m.user_id = ?
                WHERE s.owner_id = ? OR m.user_id IS NOT NULL ORDER BY s.created_at, s.id
                """, arguments: [uid, uid, uid]).map { r -> (SiteRecord, SiteRole) in
                (SiteRecord(row: r), SiteRole(rawValue: r["my_role"]) ?? .viewer)
            }
        }
        if let bound = call.principal?.apiKey?.siteId { return rows.filter { $0.0.id == bound } }
        return rows
    }

    func listSites(_ call: Call) async throws -> Reply.Out {
        var out: [JSONValue] = []
        for (site, role) in try await visibleSites(call) {
            let s = try await siteSummary(site, nowMs: call.nowMs)
            let members = try await meta.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM site_members WHERE site_id = ?", arguments: [site.id]) ?? 0
            }
            out.append(.object(site.json(role: role) + [
                ("stats", .object([("pageviews", .int(s.pageviews)), ("visitors", .int(s.visitors)),
                                   ("lastPageview", Clock.isoValue(s.lastPageview))])),
                ("teamMembers", .int(members + 1)),
            ]))
        }
        return .json(.object([("sites", .array(out))]))
    }

    /// The site a `/api/sites…` request names: 404 `Site not found` when unknown or invisible.
    func managedSite(_ call: Call, _ id: String?, minRole: SiteRole) async throws -> (SiteRecord, SiteRole) {
        guard let id, !id.isEmpty else { throw APIError.badRequest("Site ID required") }
        return try await authorizedSite(call, id, minRole: minRole, denied: APIError(404, "Site not found"))
    }

    func getSite(_ call: Call) async throws -> Reply.Out {
        let (site, role) = try await managedSite(call, call.pathParams["id"], minRole: .viewer)
        let s = try await siteSummary(site, nowMs: call.nowMs)
        let owner = try await userById(site.ownerId)
        let team = try await meta.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT u.id, u.email, m.role FROM site_members m JOIN users u ON u.id = m.user_id
                WHERE m.site_id = ? ORDER BY m.joined_at
                """, arguments: [site.id]).map { r -> JSONValue in
                .object([("id", .string(r["id"])), ("email", .string(r["email"])), ("role", .string(r["role"]))])
            }
        }
        let alerts = try await meta.alerts(site: site.id)
        let ownerJSON: JSONValue = .object([("id", .string(site.ownerId)), ("email", .optional(owner?.email)),
                                            ("name", .optional(owner?.name))])
        let stats: JSONValue = .object([("pageviews", .int(s.pageviews)), ("visitors", .int(s.visitors)),
                                        ("sessions", .int(s.sessions)), ("bounceRate", s.bounceRate),
                                        ("avgSessionDuration", .int(s.avgSessionDuration)),
                                        ("lastPageview", Clock.isoValue(s.lastPageview))])
        let goals = try await meta.goals(siteId: site.id).map { $0.json() }
        let funnels = try await meta.funnels(siteId: site.id).map { $0.json() }
        return .json(.object([("site", .object(site.json(role: role) + [
            ("owner", ownerJSON), ("stats", stats), ("team", .array(team)), ("goals", .array(goals)),
            ("funnels", .array(funnels)), ("alerts", .array(alerts.map(\.json))),
        ]))]))
    }

    func updateSite(_ call: Call) async throws -> Reply.Out {
        // Parameters first (api.md §1), then visibility and role/scope, then the business rule
        // that the domain stays.
        let body = try call.json()
        guard let id = body["id"]?.stringValue, !id.isEmpty else { throw APIError.badRequest("Site ID required") }
        var name: String?
        if let n = body["name"], !n.isNull {
            guard let s = n.stringValue else { throw APIError.invalid("name") }
            // Unicode scalars as sent, as JSON Schema's maxLength counts (graphemes have no byte bound).
            if s.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
            name = s.trimmingCharacters(" ")
        }
        var timezone: String?
        if let tz = body["timezone"], !tz.isNull {
            guard let s = tz.stringValue, SiteTimeZone(s) != nil else { throw APIError.badRequest("Invalid timezone") }
            timezone = s
        }
        var isPublic: Bool?
        if let p = body["public"], !p.isNull {
            guard let b = p.boolValue else { throw APIError.invalid("public") }
            isPublic = b
        }
        // Validated against an empty base now; applied over the site's own settings below.
        _ = try Self.parseSettings(body["settings"], base: ([], nil))
        let (old, role) = try await managedSite(call, id, minRole: .admin)
        if let d = body["domain"], !d.isNull {
            guard let s = d.stringValue, (try? Self.normalizeDomain(s)) == old.domain else {
                throw APIError.badRequest("Domain cannot be changed")
            }
        }
        var site = old
        if let name { site.name = name.isEmpty ? site.domain : name }
        if let timezone { site.timezone = timezone }
        if let isPublic { site.isPublic = isPublic }
        (site.excludePaths, site.dataRetention) = try Self.parseSettings(body["settings"], base: (site.excludePaths, site.dataRetention))
        site.updatedAt = call.nowMs
        let s = site
        try await meta.pool.write { db in
            try db.execute(sql: """
                UPDATE sites SET name = ?, timezone = ?, public = ?, exclude_paths = ?, data_retention = ?, updated_at = ? WHERE id = ?
                """, arguments: [s.name, s.timezone, s.isPublic, s.excludePathsJSON, s.dataRetention, s.updatedAt, s.id])
        }
        await recordActivity(call, .siteUpdated, target: .site(s), siteId: s.id, metadata: Self.activityFields(body))
        return .json(.object([("site", .object(site.json(role: role)))]))
    }

    func deleteSite(_ call: Call) async throws -> Reply.Out {
        let (site, role) = try await managedSite(call, call.query["id"], minRole: .viewer)
        guard role == .owner else { throw APIError(403, "Only the site owner can delete this site") }
        // Reserve first: holding the site's import slot, no import can start while it goes.
        guard imports.begin(site.id) else { throw APIError(409, "An import is already running for this site") }
        defer { imports.end(site.id) }
        // Events first: if that fails the site is still whole and the delete can be retried.
        try await deleteSiteData(site.id)
        try await meta.pool.write { db in
            try db.execute(sql: "DELETE FROM imports WHERE site_id = ?", arguments: [site.id])
            try db.execute(sql: "DELETE FROM sites WHERE id = ?", arguments: [site.id])
        }
        await siteRemoved(site.id)
        // Without siteId: the site's own entries went with it (ON DELETE CASCADE); this one stays
        // in the owner's log.
        await recordActivity(call, .siteDeleted, target: .site(site), metadata: [("domain", .string(site.domain))])
        return .ok("Site deleted successfully")
    }

    /// Removes every event of a site from the store.
    func deleteSiteData(_ siteId: String) async throws {
        let events = self.events
        _ = try await Blocking.run { try events.deleteSite(siteId) }
    }

    /// Right after a site's rows are deleted, before the answer: the track cache forgets it (no
    /// event is stored for it afterwards: track answers 404), its webhooks stop, and events
    /// tracked while the cache still held it are deleted in a second, usually empty, pass.
    func siteRemoved(_ siteId: String) async {
        siteCache.invalidate(siteId)
        webhooks.forget(siteId: siteId)
        do { try await deleteSiteData(siteId) } catch {
            logger.error("deleting a deleted site's late events failed", metadata: ["site": "\(siteId)", "error": "\(error)"])
        }
    }
}
