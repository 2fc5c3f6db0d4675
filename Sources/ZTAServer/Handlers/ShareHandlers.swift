import HTTPTypes
import ZTAQuery

/// `/api/sites/share` and `GET /api/public/stats` (api.md §7.2).
///
/// Share management wants the admin or owner role and, for an API key, the `admin` scope
/// (§3). The route table asks only for a read-scope key, and the handlers check role and scope
/// after parameters and the site's visibility, as §1 orders them (the same as webhooks).
extension ServerCore {
    /// Periods a share may allow and the public stats page accepts, in their canonical order.
    static let sharePeriods = ["24h", "7d", "30d", "90d", "365d"]
    static let defaultSharePeriods = ["7d", "30d", "90d"]
    /// `expiresIn` values and their lengths in days.
    static let shareLifetimes: [String: Int64] = ["1d": 1, "7d": 7, "30d": 30, "90d": 90]

    /// Role then key scope for share management on a visible site.
    private func requireShareAdmin(_ call: Call, role: SiteRole) throws(APIError) {
        guard role >= .admin else { throw APIError(403, "Insufficient permissions") }
        if let key = call.principal?.apiKey, key.scope != KeyScope.admin.rawValue {
            throw APIError(403, "API key does not allow this operation")
        }
    }

    /// `expiresIn`: absent or null → never; else one of `shareLifetimes` (400 `Invalid expiresIn`).
    static func shareExpiry(_ v: JSONValue?, nowMs: Int64) throws(APIError) -> Int64? {
        guard let v, !v.isNull else { return nil }
        guard let s = v.stringValue, let days = shareLifetimes[s] else { throw APIError.invalid("expiresIn") }
        return nowMs + days * 86_400_000
    }

    /// `allowedPeriods`: absent or null → the default; else a non-empty array of known periods,
    /// returned without duplicates in canonical order (400 `Invalid allowedPeriods`).
    static func shareAllowedPeriods(_ v: JSONValue?) throws(APIError) -> [String] {
        guard let v, !v.isNull else { return defaultSharePeriods }
        guard let arr = v.arrayValue, !arr.isEmpty, arr.count <= 32 else { throw APIError.invalid("allowedPeriods") }
        var chosen = Set<String>()
        for e in arr {
            guard let s = e.stringValue, sharePeriods.contains(s) else { throw APIError.invalid("allowedPeriods") }
            chosen.insert(s)
        }
        return sharePeriods.filter(chosen.contains)
    }

    /// Whether `s` has the shape of a share token (`share_` + 32 lower-case hex digits).
    static func isShareToken(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 38, s.hasPrefix("share_") else { return false }
        return u[6...].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    func listShares(_ call: Call) async throws -> Reply.Out {
        let (site, role) = try await managedSite(call, call.query["siteId"], minRole: .viewer)
        try requireShareAdmin(call, role: role)
        let shares = try await meta.activeShares(siteId: site.id, nowMs: call.nowMs)
        return .json(.object([("shares", .array(shares.map { $0.json(publicURL: config.publicURL) }))]))
    }

    func createShare(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let siteId = body["siteId"]?.stringValue, !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        let expiresAt = try Self.shareExpiry(body["expiresIn"], nowMs: call.nowMs)
        let periods = try Self.shareAllowedPeriods(body["allowedPeriods"])
        let (site, role) = try await managedSite(call, siteId, minRole: .viewer)
        try requireShareAdmin(call, role: role)
        let share = ShareRecord(token: "share_" + Secrets.randomHex(bytes: 16), siteId: site.id, createdBy: try call.user.id,
                                allowedPeriods: periods, createdAt: call.nowMs, expiresAt: expiresAt)
        try await meta.insertShare(share)
        await recordShareActivity(call, created: true, share: share, site: site)
        return .json(.object([("share", share.json(publicURL: config.publicURL)),
                              ("shareUrl", .string(share.url(publicURL: config.publicURL))),
                              ("site", .object([("domain", .string(site.domain))]))]), status: .created)
    }

    func revokeShare(_ call: Call) async throws -> Reply.Out {
        guard let token = call.query["token"], !token.isEmpty else { throw APIError.badRequest("Share token required") }
        let notFound = APIError(404, "Share not found or access denied")
        // Expired shares are gone for every purpose: not listed, not served, not revocable.
        guard Self.isShareToken(token), let share = try await meta.share(token: token), share.isActive(at: call.nowMs) else {
            throw notFound
        }
        let (site, role) = try await authorizedSite(call, share.siteId, denied: notFound)
        try requireShareAdmin(call, role: role)
        guard try await meta.deleteShare(token: token) else { throw notFound }
        await recordShareActivity(call, created: false, share: share, site: site)
        return .ok()
    }

    /// `share.created` / `share.revoked` in the activity log (type `site`, the site as target),
    /// once the write succeeded. The token is not logged: it is the credential of the link.
    private func recordShareActivity(_ call: Call, created: Bool, share: ShareRecord, site: SiteRecord) async {
        await recordActivity(call, created ? .shareCreated : .shareRevoked,
                             target: ActivityTarget(type: "site", id: site.id, name: site.name), siteId: site.id,
                             metadata: [("allowedPeriods", .array(share.allowedPeriods.map { .string($0) })),
                                        ("expiresAt", Clock.isoValue(share.expiresAt))])
    }

    /// `GET /api/public/stats`: no credentials; a share token, or the id of a public site.
    /// Parameters (presence, period, date) first, then the token or site (404), then the share's
    /// allowed periods (403). The numbers are the dashboard's: the same `DashboardRequest`
    /// (period, `date`, the site's time zone, its default interval) and the same engine query
    /// through the query gate, presented with counts instead of percentages.
    func publicStats(_ call: Call) async throws -> Reply.Out {
        let token = call.query["token"].flatMap { $0.isEmpty ? nil : $0 }
        let siteId = call.query["siteId"].flatMap { $0.isEmpty ? nil : $0 }
        guard token != nil || siteId != nil else { throw APIError.badRequest("Share token required") }
        let period = call.query["period"].flatMap { $0.isEmpty ? nil : $0 } ?? "7d"
        guard Self.sharePeriods.contains(period) else {
            throw APIError.badRequest("Invalid period. Must be one of: \(Self.sharePeriods.joined(separator: ", "))")
        }
        var params = ["period": period]
        if let d = call.query["date"], !d.isEmpty { params["date"] = d }
        // Validated with UTC first, so a bad `date` answers 400 before any lookup.
        _ = try DashboardRequest.parse(params.merging(["siteId": "_"]) { a, _ in a }, timezone: "UTC", now: call.nowMs)

        let invalid = APIError(404, "Invalid or expired share link")
        let site: SiteRecord
        var allowed: [String]?
        if let token {
            guard Self.isShareToken(token), let share = try await meta.share(token: token), share.isActive(at: call.nowMs),
                  let s = try await self.site(share.siteId) else { throw invalid }
            site = s
            allowed = share.allowedPeriods
        } else {
            guard let siteId, let s = try await self.site(siteId), s.isPublic else { throw invalid }
            site = s
        }
        if let allowed, !allowed.contains(period) { throw APIError(403, "Period not allowed for this share") }

        params["siteId"] = site.id
        let request = try DashboardRequest.parse(params, timezone: site.timezone, now: call.nowMs)
        let events = self.events
        let d = try await queryGate.run { try events.queries.dashboardResult(request) }
        var resp = Reply.json(Self.publicStatsJSON(site: site, period: period, allowed: allowed, d))
        resp.headers[.cacheControl] = "public, max-age=300"
        return resp
    }

    /// The body of api.md §7.2's public stats from the dashboard's typed panels.
    static func publicStatsJSON(site: SiteRecord, period: String, allowed: [String]?, _ d: DashboardResult) -> JSONValue {
        let t = d.summary
        return .object([
            ("site", .object([("domain", .string(site.domain)), ("nickname", .string(site.name))])),
            ("period", .string(period)),
            ("allowedPeriods", allowed.map { JSONValue.array($0.map { JSONValue.string($0) }) } ?? JSONValue.null),
            ("uniqueVisitors", .int(t.uniqueVisitors)),
            ("pageviews", .int(t.pageviews)),
            ("bounceRate", .double(t.bounceRate)),
            ("avgSessionDuration", .int(t.avgSessionDuration)),
            ("pages", .array(d.topPages.map {
                .object([("path", .string($0.value)), ("pageviews", .int($0.pageviews)), ("uniqueVisitors", .int($0.visitors))])
            })),
            ("referrers", .array(d.topSources.map { .object([("source", .string($0.value)), ("visits", .int($0.sessions))]) })),
            // By count descending, then name (§6 "by X"); all three classes, zero included.
            ("devices", .array(d.devices.sorted { $0.visitors != $1.visitors ? $0.visitors > $1.visitors : $0.value < $1.value }
                .map { .object([("type", .string($0.value)), ("count", .int($0.visitors))]) })),
            ("browsers", .array(d.browsers.map { .object([("name", .string($0.value)), ("count", .int($0.visitors))]) })),
            ("countries", .array(d.countriesByVisitors.map {
                .object([("code", .string($0.value)), ("name", .string(QueryEngine.countryName($0.value))),
                         ("count", .int($0.visitors))])
            })),
            ("daily", .array(d.timeseries.map {
                .object([("date", .string($0.label)), ("pageviews", .int($0.pageviews)), ("uniqueVisitors", .int($0.visitors))])
            })),
        ])
    }
}
