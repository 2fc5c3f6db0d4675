import HTTPTypes
import ZTAQuery

/// The route table: every endpoint with its auth policy, body limit and pre-auth IP limit.
extension ServerCore {
    func makeRoutes() -> RouteTable {
        var t = RouteTable()
        let rl = config.rateLimits
        let json = BodyPolicy.limit(config.maxBody)
        func add(_ m: HTTPRequest.Method, _ path: String, _ auth: AuthPolicy, body: BodyPolicy = .ignore,
                 ip: (String, RateLimit)? = nil, user: (String, RateLimit)? = nil, cors: Bool = true,
                 _ h: @escaping @Sendable (Call) async throws -> Reply.Out) {
            t.add(m, path, Endpoint(auth: auth, body: body, ipLimits: ip, userLimits: user, cors: cors, handler: h))
        }

        // Operational (§9)
        add(.get, "/health", .none) { try await self.health($0) }
        add(.get, "/api/health", .none) { try await self.health($0) }
        add(.get, "/metrics", .none) { try await self.metricsText($0) }
        add(.get, "/api/openapi.json", .none) { _ in Reply.bytes(OpenAPIDocument.bytes) }

        // Authentication (§2)
        add(.post, "/api/auth/register", .none, body: json, ip: ("register", rl.register)) { try await self.register($0) }
        add(.post, "/api/auth/login", .none, body: json, ip: ("login", rl.login)) { try await self.login($0) }
        add(.post, "/api/auth/logout", .jwt, body: json) { try await self.logout($0) }
        add(.post, "/api/auth/forgot", .none, body: json, ip: ("forgot", rl.forgot)) { try await self.forgot($0) }
        add(.get, "/api/auth/verify-reset-token", .none, ip: ("verify_reset", rl.verifyReset)) { try await self.verifyResetToken($0) }
        add(.post, "/api/auth/reset", .none, body: json, ip: ("reset", rl.reset)) { try await self.resetPassword($0) }
        add(.post, "/api/auth/2fa/setup", .jwt, body: json) { try await self.setupTwoFactor($0) }
        add(.post, "/api/auth/2fa/verify", .jwt, body: json) { try await self.verifyTwoFactor($0) }
        add(.post, "/api/auth/2fa/disable", .jwt, body: json) { try await self.disableTwoFactor($0) }
        add(.post, "/api/auth/2fa/validate", .none, body: json, ip: ("2fa_validate", rl.twoFactorIP)) { try await self.validateTwoFactor($0) }

        // Account (§2)
        add(.get, "/api/user/status", .jwtOrKey(.read)) { try await self.userStatus($0) }
        add(.patch, "/api/user/password", .jwt, body: json) { try await self.changePassword($0) }
        add(.get, "/api/user/sessions", .jwt) { try await self.listSessions($0) }
        add(.delete, "/api/user/sessions", .jwt) { try await self.revokeSessions($0) }
        add(.get, "/api/user/export", .jwt) { try await self.exportAccount($0) }
        add(.post, "/api/user/delete", .jwt, body: json) { try await self.deleteAccount($0) }

        // API keys (§7.3)
        add(.get, "/api/api-keys", .jwt) { try await self.listAPIKeys($0) }
        add(.post, "/api/api-keys", .jwt, body: json) { try await self.createAPIKey($0) }
        add(.patch, "/api/api-keys", .jwt, body: json) { try await self.renameAPIKey($0) }
        add(.delete, "/api/api-keys", .jwt) { try await self.revokeAPIKey($0) }

        // Sites (§7.1)
        add(.get, "/api/sites", .jwtOrKey(.read)) { try await self.listSites($0) }
        add(.post, "/api/sites", .jwtOrKey(.admin), body: json) { try await self.createSite($0) }
        add(.patch, "/api/sites", .jwtOrKey(.admin), body: json) { call in
            let r = try await self.updateSite(call)
            if let id = (try? call.json())?["id"]?.stringValue { self.siteCache.invalidate(id) }
            return r
        }
        // The handler drops the track cache entry and the site's webhooks as soon as the delete commits.
        add(.delete, "/api/sites", .jwtOrKey(.admin)) { try await self.deleteSite($0) }
        add(.get, "/api/sites/{id}", .jwtOrKey(.read)) { try await self.getSite($0) }

        // Teams and invitations (§7.4): team writes want admin/owner (leaving: any member) and an
        // admin-scope key, checked in the handlers after parameters and visibility (§1 order).
        add(.get, "/api/teams", .jwtOrKey(.read)) { try await self.listTeams($0) }
        add(.post, "/api/teams", .jwtOrKey(.read), body: json, user: ("invitations", rl.invitationsPerUser)) { try await self.inviteMember($0) }
        add(.patch, "/api/teams", .jwtOrKey(.read), body: json) { try await self.changeMemberRole($0) }
        add(.delete, "/api/teams", .jwtOrKey(.read)) { try await self.removeMember($0) }
        add(.get, "/api/invite", .none, ip: ("invite", rl.inviteLookup)) { try await self.showInvite($0) }
        add(.post, "/api/invite", .jwt, body: json) { try await self.answerInvite($0) }

        // Shares and public stats (§7.2). Share management is admin/owner with an admin-scope key,
        // checked in the handlers after parameters and visibility (api.md §1 order).
        add(.get, "/api/sites/share", .jwtOrKey(.read)) { try await self.listShares($0) }
        add(.post, "/api/sites/share", .jwtOrKey(.read), body: json) { try await self.createShare($0) }
        add(.delete, "/api/sites/share", .jwtOrKey(.read)) { try await self.revokeShare($0) }
        add(.get, "/api/public/stats", .none, ip: ("public_stats", rl.publicStats)) { try await self.publicStats($0) }

        // Annotations (§7.9): viewers read; editor (own) / admin (any) writes with a write-scope
        // key, checked in the handlers after parameters and visibility.
        add(.get, "/api/annotations", .jwtOrKey(.read)) { try await self.listAnnotations($0) }
        add(.post, "/api/annotations", .jwtOrKey(.read), body: json) { try await self.createAnnotation($0) }
        add(.patch, "/api/annotations", .jwtOrKey(.read), body: json) { try await self.updateAnnotation($0) }
        add(.delete, "/api/annotations", .jwtOrKey(.read)) { try await self.deleteAnnotation($0) }

        // Goals (§7.5) and funnels (§7.6)
        add(.get, "/api/goals", .jwtOrKey(.read)) { try await self.listGoals($0) }
        // A goal change re-reads the goals that `goal` webhooks match against (after the write).
        add(.post, "/api/goals", .jwtOrKey(.write), body: json) { call in
            let r = try await self.createGoal(call)
            await self.webhooks.goalsChanged()
            return r
        }
        add(.patch, "/api/goals", .jwtOrKey(.write), body: json) { call in
            let r = try await self.updateGoal(call)
            await self.webhooks.goalsChanged()
            return r
        }
        add(.delete, "/api/goals", .jwtOrKey(.write)) { call in
            let r = try await self.deleteGoal(call)
            await self.webhooks.goalsChanged()
            return r
        }
        add(.get, "/api/goals/{id}/stats", .jwtOrKey(.read)) { try await self.goalStats($0) }
        add(.get, "/api/funnels", .jwtOrKey(.read)) { try await self.listFunnels($0) }
        add(.post, "/api/funnels", .jwtOrKey(.write), body: json) { try await self.createFunnel($0) }
        add(.patch, "/api/funnels", .jwtOrKey(.write), body: json) { try await self.updateFunnel($0) }
        add(.delete, "/api/funnels", .jwtOrKey(.write)) { try await self.deleteFunnel($0) }
        add(.get, "/api/funnels/{id}/stats", .jwtOrKey(.read)) { try await self.funnelStats($0) }

        // Alerts (§7.7)
        add(.get, "/api/alerts", .jwtOrKey(.read)) { try await self.listAlerts($0) }
        add(.post, "/api/alerts", .jwtOrKey(.write), body: json) { try await self.createAlert($0) }
        add(.patch, "/api/alerts", .jwtOrKey(.write), body: json) { try await self.updateAlert($0) }
        add(.delete, "/api/alerts", .jwtOrKey(.write)) { try await self.deleteAlert($0) }
        add(.get, "/api/alerts/{id}/history", .jwtOrKey(.read)) { try await self.alertHistory($0) }
        add(.post, "/api/alerts/{id}/acknowledge", .jwtOrKey(.write), body: json) { try await self.acknowledgeAlert($0) }

        // Webhooks (§7.8): all admin/owner with an admin-scope key.
        add(.get, "/api/webhooks", .jwtOrKey(.admin)) { try await self.listWebhooks($0) }
        add(.post, "/api/webhooks", .jwtOrKey(.admin), body: json) { try await self.createWebhook($0) }
        add(.patch, "/api/webhooks", .jwtOrKey(.admin), body: json) { try await self.updateWebhook($0) }
        add(.delete, "/api/webhooks", .jwtOrKey(.admin)) { try await self.deleteWebhook($0) }
        add(.post, "/api/webhooks/{id}/test", .jwtOrKey(.admin)) { try await self.testWebhook($0) }

        // Activity log (§7.10): own actions JWT only, a site's for admins with an admin-scope
        // key — decided in the handlers after parameters and visibility (§1 order).
        add(.get, "/api/activity-log", .jwtOrKey(.read)) { try await self.listActivity($0) }
        add(.get, "/api/activity-log/export", .jwtOrKey(.read)) { try await self.exportActivity($0) }

        // Ingest (§5)
        add(.post, "/api/track", .none, body: .limit(config.maxTrackBody), ip: ("track", rl.track), cors: false) {
            try await self.track($0)
        }

        // Queries (§6)
        add(.get, "/api/stats", .jwtOrKey(.read)) { try await self.stats($0) }
        add(.get, "/api/stats-api", .jwtOrKey(.read)) { try await self.statsAPI($0) }
        add(.get, "/api/realtime", .jwtOrKey(.read)) { try await self.realtime($0) }
        add(.get, "/api/export", .jwtOrKey(.read)) { try await self.export($0) }
        add(.get, "/api/heatmaps", .jwtOrKey(.read)) { try await self.heatmap($0, kind: .heatmap) }
        add(.get, "/api/heatmaps/elements", .jwtOrKey(.read)) { try await self.heatmap($0, kind: .elements) }
        add(.get, "/api/heatmaps/rage-clicks", .jwtOrKey(.read)) { try await self.heatmap($0, kind: .rageClicks) }
        add(.get, "/api/heatmaps/dead-clicks", .jwtOrKey(.read)) { try await self.heatmap($0, kind: .deadClicks) }
        add(.get, "/api/heatmaps/pages", .jwtOrKey(.read)) { try await self.heatmap($0, kind: .pages) }

        // Import (§8)
        add(.post, "/api/import", .jwtOrKey(.write), body: .stream(config.maxImportBody)) { try await self.importEvents($0) }
        add(.get, "/api/import", .jwtOrKey(.write)) { try await self.listImports($0) }
        add(.delete, "/api/import", .jwtOrKey(.write)) { try await self.deleteImport($0) }

        // Web front end (issue 12): tracking scripts at stable URLs, dashboard files by content hash,
        // the dashboard page at every path it routes itself.
        add(.get, "/js/analytics.js", .none) { try await self.webAsset($0) }
        add(.get, "/js/heatmap.js", .none) { try await self.webAsset($0) }
        add(.get, "/assets/{file}", .none) { try await self.webAsset($0) }
        for page in ["/", "/login", "/register", "/forgot-password", "/reset-password", "/account",
                     "/sites/{id}", "/sites/{id}/{view}", "/shared/{token}"] {
            add(.get, page, .none) { try await self.dashboardPage($0) }
        }
        return t
    }
}
