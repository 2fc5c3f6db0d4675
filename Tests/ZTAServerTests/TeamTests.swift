import Foundation
import Synchronization
import Testing
import GRDB
@testable import ZTAServer

/// A request clock the test moves forward (no sleeping): the server's `config.clock`.
final class TestClock: Sendable {
    private let offsetMs = Mutex<Int64>(0)
    func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) + offsetMs.withLock { $0 } }
    func advance(ms: Int64) { offsetMs.withLock { $0 += ms } }
}

/// api.md §7.4 (teams and invitations) and the §3 role matrix as invited members live it.
@Suite("Teams and invitations", .serialized)
struct TeamTests {
    static let week: Int64 = 7 * 86_400_000

    /// The owner's token and site on a fresh server.
    func setUp(_ configure: (inout ServerConfig) -> Void = { _ in }) async throws -> (TestServer, String, String) {
        let s = try await TestServer.start(configure)
        let owner = try await s.register("owner@example.com")
        let site = try await s.createSite(owner, domain: "team.example.com")
        return (s, owner, site)
    }

    /// Invites `email` (201 expected) and returns the invitation object and its token.
    func invite(_ s: TestServer, _ token: String, _ site: String, _ email: String, role: String) async throws -> ([String: Any], String) {
        let r = try await s.call("POST", "/api/teams", token: token, json: ["siteId": site, "email": email, "role": role])
        guard r.status == 201, let inv = r.json["invitation"] as? [String: Any], let url = inv["inviteUrl"] as? String,
              let tok = url.components(separatedBy: "token=").last else {
            throw HTTPClient.Failure(description: "invite \(email): \(r.status) \(r.text)")
        }
        return (inv, tok)
    }

    /// Registers `email`, has it accept an invitation as `role`, and returns its token.
    func member(_ s: TestServer, _ owner: String, _ site: String, _ email: String, role: String) async throws -> String {
        let (_, tok) = try await invite(s, owner, site, email, role: role)
        let t = try await s.register(email)
        let r = try await s.call("POST", "/api/invite", token: t, json: ["token": tok])
        guard r.status == 200 else { throw HTTPClient.Failure(description: "accept \(email): \(r.status) \(r.text)") }
        return t
    }

    func members(_ s: TestServer, _ token: String, _ site: String) async throws -> [[String: Any]] {
        let r = try await s.call("GET", "/api/teams?siteId=\(site)", token: token)
        #expect(r.status == 200, "\(r.text)")
        return r.json["members"] as? [[String: Any]] ?? []
    }

    @Test func inviteValidationAndAcceptance() async throws {
        // Every refused body counts against the invitation limit (10/hour): room for this walk.
        let (s, owner, site) = try await setUp { $0.rateLimits.invitationsPerUser = RateLimit(100, per: 3600) }
        for (body, message) in [
            (["email": "a@example.com", "role": "viewer"], "Site ID required"),
            (["siteId": "", "email": "a@example.com", "role": "viewer"], "Site ID required"),
            (["siteId": site, "role": "viewer"], "Email address is required"),
            (["siteId": site, "email": "  ", "role": "viewer"], "Email address is required"),
            (["siteId": site, "email": "not-an-email", "role": "viewer"], "Invalid email format"),
            (["siteId": site, "email": 7, "role": "viewer"], "Invalid email format"),
            (["siteId": site, "email": "a@example.com"], "role is required"),
            (["siteId": site, "email": "a@example.com", "role": "owner"], "Invalid role. Must be: admin, editor, or viewer"),
            (["siteId": site, "email": "a@example.com", "role": "superuser"], "Invalid role. Must be: admin, editor, or viewer"),
            (["siteId": site, "email": "a@example.com", "role": "viewer", "message": String(repeating: "m", count: 501)],
             "message must be at most 500 characters"),
            (["siteId": site, "email": "a@example.com", "role": "viewer", "message": 5], "Invalid message"),
            // Parameters before visibility (§1): a bad body on an unknown site is a 400.
            (["siteId": "site_nope", "email": "a@example.com", "role": "boss"], "Invalid role. Must be: admin, editor, or viewer"),
        ] as [([String: Any], String)] {
            let r = try await s.call("POST", "/api/teams", token: owner, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body)")
        }
        let unknown = try await s.call("POST", "/api/teams", token: owner, json: ["siteId": "site_nope", "email": "a@example.com", "role": "viewer"])
        #expect(unknown.status == 403)
        #expect(unknown.error == "Access denied")
        #expect(try await s.call("POST", "/api/teams", token: owner, body: Array("nope".utf8)).error == "Invalid JSON body")

        // `member` is accepted as `editor`, never returned; the e-mail is normalised.
        let r = try await s.call("POST", "/api/teams", token: owner,
                                 json: ["siteId": site, "email": " Ed@Example.com ", "role": "member", "message": "Welcome aboard"])
        #expect(r.status == 201)
        let inv = try #require(r.json["invitation"] as? [String: Any])
        #expect((inv["id"] as? String)?.hasPrefix("inv_") == true)
        #expect(inv["email"] as? String == "ed@example.com")
        #expect(inv["role"] as? String == "editor")
        #expect(inv["status"] as? String == "pending")
        let url = try #require(inv["inviteUrl"] as? String)
        #expect(url.hasPrefix("http://127.0.0.1/accept-invite?token="))
        let token = try #require(url.components(separatedBy: "token=").last)
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
        let invitedAt = try #require(inv["invitedAt"] as? String), expiresAt = try #require(inv["expiresAt"] as? String)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let span = try #require(iso.date(from: expiresAt)).timeIntervalSince(try #require(iso.date(from: invitedAt)))
        #expect(span == 7 * 86_400)
        // The token is stored only as its SHA-256: nowhere in the metadata file.
        let metaBytes = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/meta.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: s.directory + "/meta.sqlite-wal"))) ?? Data())
        #expect(metaBytes.range(of: Data(token.utf8)) == nil)

        // The invitation seen without credentials.
        let shown = try await s.call("GET", "/api/invite?token=\(token)")
        #expect(shown.status == 200)
        #expect((shown.json["invite"] as? [String: Any])?["email"] as? String == "ed@example.com")
        #expect((shown.json["invite"] as? [String: Any])?["role"] as? String == "editor")
        #expect((shown.json["invite"] as? [String: Any])?["expiresAt"] as? String == expiresAt)
        #expect((shown.json["team"] as? [String: Any])?["name"] as? String == "team.example.com")
        #expect((shown.json["site"] as? [String: Any])?["id"] as? String == site)
        #expect((shown.json["site"] as? [String: Any])?["domain"] as? String == "team.example.com")
        #expect(try await s.call("GET", "/api/invite").error == "Token required")
        let bogus = try await s.call("GET", "/api/invite?token=\(String(repeating: "ab", count: 32))")
        #expect(bogus.status == 404)
        #expect(bogus.error == "Invalid or expired invite")

        // The owner sees itself first, then the pending invitation.
        let listed = try await members(s, owner, site)
        #expect(listed.count == 2)
        #expect(listed.first?["role"] as? String == "owner")
        #expect(listed.first?["status"] as? String == "active")
        #expect(listed.first?["email"] as? String == "owner@example.com")
        #expect(listed.last?["status"] as? String == "pending")
        #expect(listed.last?["id"] as? String == inv["id"] as? String)
        #expect(listed.last?["invitedBy"] as? String == (try await s.userId(owner)))

        // Someone else can't take it; the invited address can, once.
        let other = try await s.register("other@example.com")
        #expect(try await s.call("POST", "/api/invite", token: other, json: ["token": token]).error
                == "This invitation is for a different email address")
        let ed = try await s.register("ed@example.com")
        #expect(try await s.call("POST", "/api/invite", token: ed, json: [:] as [String: Any]).error == "Token required")
        #expect(try await s.call("POST", "/api/invite", token: ed, json: ["token": token, "action": "maybe"]).error == "Invalid action")
        let accepted = try await s.call("POST", "/api/invite", token: ed, json: ["token": token])
        #expect(accepted.status == 200)
        #expect(accepted.json["success"] as? Bool == true)
        #expect(accepted.json["message"] as? String == "Invite accepted")
        #expect(accepted.json["role"] as? String == "editor")
        #expect((accepted.json["site"] as? [String: Any])?["id"] as? String == site)
        for t in [ed, other] {
            let again = try await s.call("POST", "/api/invite", token: t, json: ["token": token])
            #expect(again.status == 400)
            #expect(again.error == "Invitation has already been accepted")
        }
        #expect(try await s.call("GET", "/api/invite?token=\(token)").error == "Invitation has already been accepted")

        // The member sees the site with its role, in /api/sites and /api/teams.
        let sites = try await s.call("GET", "/api/sites", token: ed).json["sites"] as? [[String: Any]] ?? []
        #expect(sites.count == 1)
        #expect(sites.first?["id"] as? String == site)
        #expect(sites.first?["role"] as? String == "editor")
        #expect(sites.first?["teamMembers"] as? Int == 2)
        let teams = try await s.call("GET", "/api/teams", token: ed)
        let entry = (teams.json["sites"] as? [[String: Any]])?.first
        #expect(entry?["siteId"] as? String == site)
        #expect(entry?["siteName"] as? String == "team.example.com")
        #expect(entry?["domain"] as? String == "team.example.com")
        #expect(entry?["role"] as? String == "editor")
        #expect(entry?["memberCount"] as? Int == 2)
        #expect((try await s.call("GET", "/api/teams", token: other).json["sites"] as? [Any])?.isEmpty == true)
        let asEditor = try await members(s, ed, site)
        #expect(asEditor.map { $0["role"] as? String } == ["owner", "editor"])
        #expect(asEditor.last?["email"] as? String == "ed@example.com")
        #expect(asEditor.last?["lastActive"] is String)
        #expect(try await s.call("GET", "/api/teams?siteId=\(site)", token: other).error == "Access denied")

        // Members and the owner can't be invited again.
        for email in ["ed@example.com", "OWNER@example.com"] {
            let dup = try await s.call("POST", "/api/teams", token: owner, json: ["siteId": site, "email": email, "role": "viewer"])
            #expect(dup.status == 400)
            #expect(dup.error == "User is already a team member")
        }
        try await s.stop()
    }

    @Test func roleMatrixThroughInvitations() async throws {
        let (s, owner, site) = try await setUp()
        let admin = try await member(s, owner, site, "admin@example.com", role: "admin")
        let editor = try await member(s, owner, site, "editor@example.com", role: "editor")
        let viewer = try await member(s, owner, site, "viewer@example.com", role: "viewer")
        for (t, role) in [(admin, "admin"), (editor, "editor"), (viewer, "viewer")] {
            let sites = try await s.call("GET", "/api/sites", token: t).json["sites"] as? [[String: Any]] ?? []
            #expect(sites.first?["role"] as? String == role)
            #expect(try await s.call("GET", "/api/stats?siteId=\(site)&period=7d", token: t).status == 200, "\(role) reads stats")
            #expect(try await s.call("GET", "/api/sites/\(site)", token: t).status == 200, "\(role) reads the site")
        }
        let viewerExport = try await s.call("GET", "/api/export?siteId=\(site)&period=7d", token: viewer)
        #expect(viewerExport.status == 403)
        #expect(viewerExport.error == "Insufficient permissions")
        #expect(try await s.call("GET", "/api/export?siteId=\(site)&period=7d", token: editor).status == 200)
        #expect(try await s.call("GET", "/api/export?siteId=\(site)&period=7d", token: admin).status == 200)
        var n = 0
        for (t, status) in [(viewer, 403), (editor, 403), (admin, 201), (owner, 201)] {
            n += 1
            let r = try await s.call("POST", "/api/goals", token: t,
                                     json: ["siteId": site, "name": "Goal \(n)", "type": "pageview", "path": "/p\(n)"])
            #expect(r.status == status, "\(r.text)")
            if status == 403 { #expect(r.error == "Insufficient permissions") }
        }
        // Site settings: admin yes, editor no; deleting the site: owner only.
        #expect(try await s.call("PATCH", "/api/sites", token: admin, json: ["id": site, "name": "Renamed"]).status == 200)
        #expect(try await s.call("PATCH", "/api/sites", token: editor, json: ["id": site, "name": "Nope"]).status == 403)
        let adminDelete = try await s.call("DELETE", "/api/sites?id=\(site)", token: admin)
        #expect(adminDelete.status == 403)
        #expect(adminDelete.error == "Only the site owner can delete this site")
        // The detail view lists the team.
        let detail = try await s.call("GET", "/api/sites/\(site)", token: viewer).json["site"] as? [String: Any]
        #expect((detail?["team"] as? [[String: Any]])?.compactMap { $0["role"] as? String } == ["admin", "editor", "viewer"])
        // Owners and admins see pending invitations, editors and viewers don't.
        _ = try await invite(s, owner, site, "pending@example.com", role: "viewer")
        #expect(try await members(s, admin, site).contains { $0["status"] as? String == "pending" })
        #expect(try await members(s, viewer, site).allSatisfy { $0["status"] as? String == "active" })
        #expect(try await members(s, viewer, site).count == 4)
        try await s.stop()
    }

    @Test func whoMayInvite() async throws {
        let (s, owner, site) = try await setUp()
        let admin = try await member(s, owner, site, "admin@example.com", role: "admin")
        let editor = try await member(s, owner, site, "editor@example.com", role: "editor")
        let viewer = try await member(s, owner, site, "viewer@example.com", role: "viewer")
        for t in [editor, viewer] {
            let r = try await s.call("POST", "/api/teams", token: t, json: ["siteId": site, "email": "x@example.com", "role": "viewer"])
            #expect(r.status == 403)
            #expect(r.error == "Only owners and admins can invite team members")
        }
        let adminForAdmin = try await s.call("POST", "/api/teams", token: admin, json: ["siteId": site, "email": "x@example.com", "role": "admin"])
        #expect(adminForAdmin.status == 403)
        #expect(adminForAdmin.error == "Only the owner can invite admins")
        _ = try await invite(s, admin, site, "x@example.com", role: "editor")
        _ = try await invite(s, owner, site, "y@example.com", role: "admin")
        // API keys: an admin-scope key may invite, a write key may not (after visibility).
        let write = try await s.call("POST", "/api/api-keys", token: owner, json: ["name": "w", "scope": "write"]).json["apiKey"] as? [String: Any]
        let adminKey = try await s.call("POST", "/api/api-keys", token: owner, json: ["name": "a", "scope": "admin"]).json["apiKey"] as? [String: Any]
        let wk = try #require(write?["key"] as? String), ak = try #require(adminKey?["key"] as? String)
        let denied = try await s.call("POST", "/api/teams", token: wk, json: ["siteId": site, "email": "k@example.com", "role": "viewer"])
        #expect(denied.status == 403)
        #expect(denied.error == "API key does not allow this operation")
        #expect(try await s.call("POST", "/api/teams", token: wk, json: ["siteId": site, "role": "viewer"]).error == "Email address is required")
        #expect(try await s.call("POST", "/api/teams", token: ak, json: ["siteId": site, "email": "k@example.com", "role": "viewer"]).status == 201)
        #expect(try await s.call("GET", "/api/teams?siteId=\(site)", token: wk).status == 200)
        // Answering an invitation wants a user session.
        #expect(try await s.call("POST", "/api/invite", token: ak, json: ["token": "x"]).error == "This endpoint requires a user session")
        try await s.stop()
    }

    @Test func roleChangesAndOwnershipTransfer() async throws {
        let (s, owner, site) = try await setUp()
        let admin = try await member(s, owner, site, "admin@example.com", role: "admin")
        let editor = try await member(s, owner, site, "editor@example.com", role: "editor")
        let (ownerId, adminId, editorId) = (try await s.userId(owner), try await s.userId(admin), try await s.userId(editor))
        for (body, message) in [
            (["userId": editorId, "role": "viewer"], "Site ID required"),
            (["siteId": site, "role": "viewer"], "User ID required"),
            (["siteId": site, "userId": editorId], "role is required"),
            (["siteId": site, "userId": editorId, "role": "boss"], "Invalid role"),
        ] as [([String: Any], String)] {
            let r = try await s.call("PATCH", "/api/teams", token: owner, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body)")
        }
        let byAdmin = try await s.call("PATCH", "/api/teams", token: admin, json: ["siteId": site, "userId": editorId, "role": "viewer"])
        #expect(byAdmin.status == 403)
        #expect(byAdmin.error == "Only the site owner can change roles")
        let ownersRole = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": ownerId, "role": "admin"])
        #expect(ownersRole.status == 403)
        #expect(ownersRole.error == "Cannot change the owner's role")
        let nobody = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": "usr_nobody", "role": "viewer"])
        #expect(nobody.status == 404)
        #expect(nobody.error == "Team member not found")

        let changed = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": editorId, "role": "viewer"])
        #expect(changed.status == 200)
        let m = changed.json["member"] as? [String: Any]
        #expect(m?["id"] as? String == editorId)
        #expect(m?["email"] as? String == "editor@example.com")
        #expect(m?["role"] as? String == "viewer")
        #expect(m?["updatedAt"] is String)
        #expect(try await s.call("GET", "/api/export?siteId=\(site)&period=7d", token: editor).status == 403, "now a viewer")
        let back = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": editorId, "role": "member"])
        #expect((back.json["member"] as? [String: Any])?["role"] as? String == "editor")

        // Ownership transfer: the admin becomes owner, the old owner an admin, in one step.
        let transfer = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": adminId, "role": "owner"])
        #expect(transfer.status == 200)
        #expect((transfer.json["member"] as? [String: Any])?["role"] as? String == "owner")
        let detail = try await s.call("GET", "/api/sites/\(site)", token: owner).json["site"] as? [String: Any]
        #expect((detail?["owner"] as? [String: Any])?["id"] as? String == adminId)
        #expect(detail?["role"] as? String == "admin")
        let list = try await members(s, admin, site)
        #expect(list.first?["id"] as? String == adminId)
        #expect(list.first?["role"] as? String == "owner")
        #expect(list.filter { $0["role"] as? String == "owner" }.count == 1)
        #expect(list.first { $0["id"] as? String == ownerId }?["role"] as? String == "admin")
        // The old owner lost the owner's powers; the new owner has them.
        #expect(try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": editorId, "role": "viewer"]).error
                == "Only the site owner can change roles")
        let leave = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(adminId)", token: owner)
        #expect(leave.status == 403)
        #expect(leave.error == "Cannot remove the site owner")
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: owner).error == "Only the site owner can delete this site")
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: admin).status == 200)
        try await s.stop()
    }

    @Test func removalRules() async throws {
        let (s, owner, site) = try await setUp()
        let admin = try await member(s, owner, site, "admin@example.com", role: "admin")
        let admin2 = try await member(s, owner, site, "admin2@example.com", role: "admin")
        let editor = try await member(s, owner, site, "editor@example.com", role: "editor")
        let viewer = try await member(s, owner, site, "viewer@example.com", role: "viewer")
        let viewer2 = try await member(s, owner, site, "viewer2@example.com", role: "viewer")
        let ids = (owner: try await s.userId(owner), admin2: try await s.userId(admin2), editor: try await s.userId(editor),
                   viewer: try await s.userId(viewer), viewer2: try await s.userId(viewer2))
        #expect(try await s.call("DELETE", "/api/teams?userId=\(ids.viewer)", token: owner).error == "Site ID required")
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)", token: owner).error == "User ID required")
        #expect(try await s.call("DELETE", "/api/teams?siteId=site_nope&userId=\(ids.viewer)", token: owner).error == "Access denied")
        for t in [owner, admin, viewer] {
            let r = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.owner)", token: t)
            #expect(r.status == 403)
            #expect(r.error == "Cannot remove the site owner")
        }
        let byViewer = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.viewer2)", token: viewer)
        #expect(byViewer.status == 403)
        #expect(byViewer.error == "Only owners and admins can remove team members")
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.viewer2)", token: editor).status == 403)
        let adminOnAdmin = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.admin2)", token: admin)
        #expect(adminOnAdmin.status == 403)
        #expect(adminOnAdmin.error == "Insufficient permissions")
        let unknown = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=usr_nobody", token: owner)
        #expect(unknown.status == 404)
        #expect(unknown.error == "Team member not found")

        // Leaving is always allowed; an admin removes editors; the owner removes admins.
        let left = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.viewer)", token: viewer)
        #expect(left.status == 200)
        #expect(left.json["message"] as? String == "Team member removed successfully")
        #expect(try await s.call("GET", "/api/stats?siteId=\(site)&period=7d", token: viewer).error == "Access denied")
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.editor)", token: admin).status == 200)
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.admin2)", token: owner).status == 200)
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ids.editor)", token: admin).error == "Team member not found")
        #expect(try await members(s, owner, site).count == 3)

        // An invitation id revokes the invitation (admins may), once.
        let (inv, tok) = try await invite(s, owner, site, "later@example.com", role: "admin")
        let invId = try #require(inv["id"] as? String)
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(invId)", token: viewer2).error
                == "Only owners and admins can remove team members")
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(invId)", token: admin).status == 200)
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(invId)", token: admin).error == "Team member not found")
        let revoked = try await s.call("GET", "/api/invite?token=\(tok)")
        #expect(revoked.status == 404)
        #expect(revoked.error == "Invalid or expired invite")
        try await s.stop()
    }

    @Test func expiryDeclineAndReplacement() async throws {
        let clock = TestClock()
        let (s, owner, site) = try await setUp { $0.clock = { clock.now() } }
        // Expiry: valid until 7 days have passed, then 400 (GET and POST).
        let (_, oldTok) = try await invite(s, owner, site, "late@example.com", role: "viewer")
        clock.advance(ms: Self.week - 60_000)
        #expect(try await s.call("GET", "/api/invite?token=\(oldTok)").status == 200)
        clock.advance(ms: 60_001)
        let expired = try await s.call("GET", "/api/invite?token=\(oldTok)")
        #expect(expired.status == 400)
        #expect(expired.error == "Invitation has expired")
        let late = try await s.register("late@example.com")
        #expect(try await s.call("POST", "/api/invite", token: late, json: ["token": oldTok]).error == "Invitation has expired")
        #expect(try await s.call("GET", "/api/stats?siteId=\(site)&period=7d", token: late).status == 403)
        // Expired invitations are not pending any more.
        let owner2 = try await s.call("POST", "/api/auth/login", json: ["email": "owner@example.com", "password": TestServer.password])
        let ownerNow = try #require(owner2.json["token"] as? String)
        #expect(try await members(s, ownerNow, site).count == 1)

        // Decline: the invitation is spent, membership never happens.
        let (_, decTok) = try await invite(s, ownerNow, site, "late@example.com", role: "editor")
        let declined = try await s.call("POST", "/api/invite", token: late, json: ["token": decTok, "action": "decline"])
        #expect(declined.status == 200)
        #expect(declined.json["message"] as? String == "Invite declined")
        for r in [try await s.call("GET", "/api/invite?token=\(decTok)"),
                  try await s.call("POST", "/api/invite", token: late, json: ["token": decTok, "action": "accept"])] {
            #expect(r.status == 404)
            #expect(r.error == "Invalid or expired invite")
        }
        #expect((try await s.call("GET", "/api/sites", token: late).json["sites"] as? [Any])?.isEmpty == true)

        // A new invitation to the same address replaces the pending one.
        let (first, firstTok) = try await invite(s, ownerNow, site, "late@example.com", role: "viewer")
        let (second, secondTok) = try await invite(s, ownerNow, site, "late@example.com", role: "editor")
        #expect(first["id"] as? String != second["id"] as? String)
        #expect(try await s.call("GET", "/api/invite?token=\(firstTok)").error == "Invalid or expired invite")
        let pending = try await members(s, ownerNow, site).filter { $0["status"] as? String == "pending" }
        #expect(pending.count == 1)
        #expect(pending.first?["id"] as? String == second["id"] as? String)
        #expect(pending.first?["role"] as? String == "editor")
        let ok = try await s.call("POST", "/api/invite", token: late, json: ["token": secondTok, "action": "accept"])
        #expect(ok.json["role"] as? String == "editor")
        try await s.stop()
    }

    @Test func invitedAddressRegistersWhileRegistrationIsClosed() async throws {
        let clock = TestClock()
        let (s, owner, site) = try await setUp {
            $0.allowRegistration = false
            $0.clock = { clock.now() }
        }
        let stranger = try await s.call("POST", "/api/auth/register", json: ["email": "stranger@example.com", "password": TestServer.password])
        #expect(stranger.status == 403)
        #expect(stranger.error == "Registration is disabled")
        let (_, tok) = try await invite(s, owner, site, "Guest@Example.com", role: "viewer")
        let guest = try await s.register("guest@example.com")
        #expect(try await s.call("POST", "/api/invite", token: guest, json: ["token": tok]).status == 200)
        // The invitation is used: nobody else gets in on it, nor on a revoked or expired one.
        #expect(try await s.call("POST", "/api/auth/register", json: ["email": "guest2@example.com", "password": TestServer.password]).status == 403)
        let (revokedInv, _) = try await invite(s, owner, site, "revoked@example.com", role: "viewer")
        let rid = try #require(revokedInv["id"] as? String)
        #expect(try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(rid)", token: owner).status == 200)
        #expect(try await s.call("POST", "/api/auth/register", json: ["email": "revoked@example.com", "password": TestServer.password]).status == 403)
        _ = try await invite(s, owner, site, "slow@example.com", role: "viewer")
        clock.advance(ms: Self.week + 1)
        let slow = try await s.call("POST", "/api/auth/register", json: ["email": "slow@example.com", "password": TestServer.password])
        #expect(slow.status == 403)
        #expect(slow.error == "Registration is disabled")
        try await s.stop()
    }

    @Test func invitationRateLimits() async throws {
        let (s, owner, site) = try await setUp {
            $0.rateLimits.invitationsPerUser = RateLimit(4, per: 3600)
            $0.rateLimits.invitationsPerSite = RateLimit(2, per: 86_400)
        }
        let other = try await s.createSite(owner, domain: "other.example.com")
        let first = try await s.call("POST", "/api/teams", token: owner, json: ["siteId": site, "email": "a1@example.com", "role": "viewer"])
        #expect(first.status == 201)
        // The headers report the invitation window (fewer remaining than the general one).
        #expect(first.header("X-RateLimit-Limit") == "4")
        #expect(first.header("X-RateLimit-Remaining") == "3")
        _ = try await invite(s, owner, site, "a2@example.com", role: "viewer")
        // The site's allowance is spent (2/day) while the user still has some left (this one counts for the user).
        let perSite = try await s.call("POST", "/api/teams", token: owner, json: ["siteId": site, "email": "a3@example.com", "role": "viewer"])
        #expect(perSite.status == 429)
        #expect(perSite.error?.hasPrefix("Rate limit exceeded. Try again in ") == true)
        #expect(perSite.json["retryAfter"] is Int)
        _ = try await invite(s, owner, other, "b1@example.com", role: "viewer")
        // Now the user's (4/hour): refused before anything else, even a bad body.
        for body in [["siteId": other, "email": "b2@example.com", "role": "viewer"], ["siteId": other]] {
            let r = try await s.call("POST", "/api/teams", token: owner, json: body)
            #expect(r.status == 429)
            #expect(r.header("Retry-After") != nil)
        }
        // Other team endpoints are not limited by it.
        #expect(try await s.call("GET", "/api/teams?siteId=\(site)", token: owner).status == 200)
        try await s.stop()
    }

    /// Each team action leaves one activity entry (api.md §7.10), by the acting user, on the site.
    @Test func teamActionsAreRecorded() async throws {
        let (s, owner, site) = try await setUp()
        let viewer = try await member(s, owner, site, "viewer@example.com", role: "viewer")
        let viewerId = try await s.userId(viewer)
        let (_, declineTok) = try await invite(s, owner, site, "decliner@example.com", role: "viewer")
        let decliner = try await s.register("decliner@example.com")
        _ = try await s.call("POST", "/api/invite", token: decliner, json: ["token": declineTok, "action": "decline"])
        let (inv, _) = try await invite(s, owner, site, "revoked@example.com", role: "editor")
        _ = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(inv["id"] as? String ?? "")", token: owner)
        _ = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": viewerId, "role": "admin"])
        _ = try await s.call("PATCH", "/api/teams", token: owner, json: ["siteId": site, "userId": viewerId, "role": "owner"])
        let ownerId = try await s.userId(owner)
        _ = try await s.call("DELETE", "/api/teams?siteId=\(site)&userId=\(ownerId)", token: owner)
        // A refused action leaves nothing.
        _ = try await s.call("POST", "/api/teams", token: decliner, json: ["siteId": site, "email": "z@example.com", "role": "viewer"])
        let rows = try await s.server.core.meta.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT action, type, actor_email, target_type, target_email FROM activity_log WHERE site_id = ? AND type = 'team' ORDER BY timestamp, rowid",
                             arguments: [site]).map { r -> [String?] in
                [r["action"], r["type"], r["actor_email"], r["target_type"], r["target_email"]]
            }
        }
        #expect(rows == [
            ["team.member_invited", "team", "owner@example.com", "invitation", "viewer@example.com"],
            ["team.member_accepted", "team", "viewer@example.com", "user", "viewer@example.com"],
            ["team.member_invited", "team", "owner@example.com", "invitation", "decliner@example.com"],
            ["team.member_declined", "team", "decliner@example.com", "user", "decliner@example.com"],
            ["team.member_invited", "team", "owner@example.com", "invitation", "revoked@example.com"],
            ["team.member_removed", "team", "owner@example.com", "invitation", "revoked@example.com"],
            ["team.role_changed", "team", "owner@example.com", "user", "viewer@example.com"],
            ["team.ownership_transferred", "team", "owner@example.com", "user", "viewer@example.com"],
            ["team.member_removed", "team", "owner@example.com", "user", "owner@example.com"],
        ])
        try await s.stop()
    }
}
