import Foundation
import GRDB
import Synchronization
import Testing
@testable import ZTAServer

/// api.md §2 `POST /api/user/delete` and §7.1 `DELETE /api/sites`: what goes, what is refused
/// while an import runs, and that tracking stops before the answer.
@Suite("Account and site deletion", .serialized)
struct AccountDeletionTests {
    static let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

    func track(_ s: TestServer, _ site: String) async throws -> HTTPResult {
        try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/"], headers: [("User-Agent", Self.chrome)])
    }

    func deleteAccount(_ s: TestServer, _ token: String, _ email: String) async throws -> HTTPResult {
        try await s.call("POST", "/api/user/delete", token: token,
                         json: ["password": TestServer.password, "confirmEmail": email, "confirmDelete": "DELETE_MY_ACCOUNT"])
    }

    func count(_ s: TestServer, _ sql: String, _ args: StatementArguments) async throws -> Int {
        try await s.server.core.meta.pool.read { db in try Int.fetchOne(db, sql: sql, arguments: args) ?? -1 }
    }

    @Test func deletionRemovesImportHistoryMembershipsAndStopsTracking() async throws {
        let s = try await TestServer.start()
        let a = try await s.register("a@example.com")
        let site = try await s.createSite(a, domain: "a.example.com")
        let imported = try await s.call("POST", "/api/import?siteId=\(site)", token: a, body: Array(ImportExportTests.lines(site: site, n: 5).utf8),
                                        headers: [("Content-Type", "text/plain")])
        #expect(imported.status == 201)
        #expect(try await count(s, "SELECT COUNT(*) FROM imports WHERE site_id = ?", [site]) == 1)
        // `a` is also an editor of b's site (through an accepted invitation).
        let b = try await s.register("b@example.com")
        let bSite = try await s.createSite(b, domain: "b.example.com")
        let inv = try await s.call("POST", "/api/teams", token: b, json: ["siteId": bSite, "email": "a@example.com", "role": "editor"])
        let tok = try #require((inv.json["invitation"] as? [String: Any])?["inviteUrl"] as? String).components(separatedBy: "token=").last ?? ""
        #expect(try await s.call("POST", "/api/invite", token: a, json: ["token": tok]).status == 200)
        // An invitation `a` sent as owner of its own site goes with the site.
        #expect(try await s.call("POST", "/api/teams", token: a, json: ["siteId": site, "email": "c@example.com", "role": "viewer"]).status == 201)
        // Tracking works (and the track cache now holds the site).
        #expect(try await track(s, site).status == 200)

        let r = try await deleteAccount(s, a, "a@example.com")
        #expect(r.status == 200)
        #expect((r.json["summary"] as? [String: Any])?["sitesDeleted"] as? Int == 1)
        // Right after the answer: no event is stored for the deleted site.
        let after = try await track(s, site)
        #expect(after.status == 404)
        #expect(after.error == "Invalid site ID")
        #expect(try await count(s, "SELECT COUNT(*) FROM imports WHERE site_id = ?", [site]) == 0)
        #expect(try await count(s, "SELECT COUNT(*) FROM invitations WHERE site_id = ?", [site]) == 0)
        #expect(try await count(s, "SELECT COUNT(*) FROM site_members", []) == 0, "a's membership of b's site went")
        let members = try await s.call("GET", "/api/teams?siteId=\(bSite)", token: b).json["members"] as? [[String: Any]] ?? []
        #expect(members.map { $0["email"] as? String } == ["b@example.com"])
        let bSites = try await s.call("GET", "/api/sites", token: b).json["sites"] as? [[String: Any]] ?? []
        #expect(bSites.first?["teamMembers"] as? Int == 1)
        // b's site and its data are untouched.
        #expect(try await track(s, bSite).status == 200)
        try await s.stop()
    }

    @Test func deletionIsRefusedWhileAnImportOfTheUsersSitesRuns() async throws {
        let s = try await TestServer.start()
        let a = try await s.register("a@example.com")
        let one = try await s.createSite(a, domain: "one.example.com")
        let two = try await s.createSite(a, domain: "two.example.com")
        let imports = s.server.core.imports
        // An import of the second site is running (its slot held as `importEvents` holds it).
        #expect(imports.begin(two))
        let refused = try await deleteAccount(s, a, "a@example.com")
        #expect(refused.status == 409)
        #expect(refused.error == "An import is running for one of your sites")
        // The refused deletion released the slot it had claimed for the first site.
        #expect(imports.begin(one))
        imports.end(one)
        #expect(try await s.call("GET", "/api/user/status", token: a).status == 200, "nothing was deleted")
        #expect(try await track(s, one).status == 200)
        imports.end(two)
        #expect(try await deleteAccount(s, a, "a@example.com").status == 200)
        #expect(imports.begin(one), "slots are released after the deletion")
        #expect(try await track(s, one).status == 404)
        try await s.stop()
    }

    @Test func siteDeletionStopsTrackingAndWaitsForImports() async throws {
        let s = try await TestServer.start()
        let a = try await s.register("a@example.com")
        let site = try await s.createSite(a, domain: "gone.example.com")
        #expect(try await track(s, site).status == 200)
        let imports = s.server.core.imports
        #expect(imports.begin(site))
        let busy = try await s.call("DELETE", "/api/sites?id=\(site)", token: a)
        #expect(busy.status == 409)
        #expect(busy.error == "An import is already running for this site")
        imports.end(site)
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: a).status == 200)
        let after = try await track(s, site)
        #expect(after.status == 404)
        #expect(after.error == "Invalid site ID")
        // The deletion holds the slot only while it runs.
        #expect(imports.begin(site))
        try await s.stop()
    }

    /// A site loaded before an invalidation (a deletion racing a track request's lookup) is
    /// not put back into the cache after it.
    @Test func siteCacheIgnoresLoadsThatRacedAnInvalidation() async throws {
        let cache = SiteCache()
        let (loading, loadingCont) = AsyncStream<Void>.makeStream()
        let (release, releaseCont) = AsyncStream<Void>.makeStream()
        let stale = Task {
            try await cache.get("site_x", nowMs: 1000) {
                loadingCont.yield()
                for await _ in release { break }
                return nil
            }
        }
        for await _ in loading { break }
        cache.invalidate("site_x")
        releaseCont.yield()
        _ = try await stale.value
        let loads = Mutex(0)
        _ = try await cache.get("site_x", nowMs: 1001) { loads.withLock { $0 += 1 }; return nil }
        #expect(loads.withLock { $0 } == 1, "the raced load was not cached")
        _ = try await cache.get("site_x", nowMs: 1002) { loads.withLock { $0 += 1 }; return nil }
        #expect(loads.withLock { $0 } == 1, "an undisturbed load is cached")
    }
}
