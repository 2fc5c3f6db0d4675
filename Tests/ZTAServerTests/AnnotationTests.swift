import Foundation
import GRDB
import Testing
@testable import ZTAServer

/// api.md §7.9: annotations, their validation, and the editor-owns-own rule.
@Suite("Annotations", .serialized)
struct AnnotationTests {
    static func create(_ s: TestServer, _ token: String, _ body: [String: Any]) async throws -> [String: Any] {
        let r = try await s.call("POST", "/api/annotations", token: token, json: body)
        #expect(r.status == 201, "\(r.text)")
        return try #require(r.json["annotation"] as? [String: Any])
    }

    @Test func crudDefaultsAndOrder() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "notes.example.com")

        let a = try await Self.create(s, f.owner, ["siteId": f.site, "date": "2026-03-05"])
        let id = try #require(a["id"] as? String)
        #expect(id.hasPrefix("ann_"))
        #expect(a["siteId"] as? String == f.site)
        #expect(a["date"] as? String == "2026-03-05")
        #expect(a["title"] as? String == "Event")
        #expect(a["description"] as? String == "")
        #expect(a["color"] as? String == "#0d6efd")
        #expect(a["icon"] as? String == "star")
        #expect(a["createdBy"] as? String == f.ownerId)
        #expect(a["createdAt"] is String && a["updatedAt"] is String)

        let full = try await Self.create(s, f.editor, ["siteId": f.site, "date": "2026-03-01", "title": "Launch",
                                                       "description": "Went live", "color": "#A1b2C3", "icon": "rocket-2"])
        #expect(full["title"] as? String == "Launch")
        #expect(full["description"] as? String == "Went live")
        #expect(full["color"] as? String == "#A1b2C3")
        #expect(full["icon"] as? String == "rocket-2")
        #expect(full["createdBy"] as? String == f.editorId)
        let same = try await Self.create(s, f.admin, ["siteId": f.site, "date": "2026-03-05", "title": "Second that day"])
        _ = try await Self.create(s, f.owner, ["siteId": f.site, "date": "2026-04-10", "title": NSNull(), "color": NSNull()])

        // By date, then creation; startDate/endDate inclusive, each optional.
        func titles(_ query: String, _ token: String) async throws -> [String] {
            let r = try await s.call("GET", "/api/annotations?siteId=\(f.site)\(query)", token: token)
            #expect(r.status == 200, "\(r.text)")
            return (r.json["annotations"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String }
        }
        #expect(try await titles("", f.viewer) == ["Launch", "Event", "Second that day", "Event"])
        #expect(try await titles("&startDate=2026-03-05&endDate=2026-03-05", f.viewer) == ["Event", "Second that day"])
        #expect(try await titles("&startDate=2026-03-02", f.viewer) == ["Event", "Second that day", "Event"])
        #expect(try await titles("&endDate=2026-03-04", f.viewer) == ["Launch"])
        #expect(try await titles("&startDate=2026-03-01&endDate=2026-04-10", f.viewer).count == 4)
        #expect(try await titles("&startDate=2026-04-11", f.viewer).isEmpty)

        // PATCH: fields change, others stay, updatedAt moves, createdBy does not.
        let patched = try await s.call("PATCH", "/api/annotations", token: f.owner,
                                       json: ["annotationId": id, "title": "Renamed", "date": "2026-02-28", "icon": "flag"])
        #expect(patched.status == 200, "\(patched.text)")
        let p = try #require(patched.json["annotation"] as? [String: Any])
        #expect(p["title"] as? String == "Renamed")
        #expect(p["date"] as? String == "2026-02-28")
        #expect(p["icon"] as? String == "flag")
        #expect(p["color"] as? String == "#0d6efd")
        #expect(p["createdBy"] as? String == f.ownerId)
        #expect(p["createdAt"] as? String == a["createdAt"] as? String)
        #expect(try await titles("", f.owner).first == "Renamed")

        let del = try await s.call("DELETE", "/api/annotations?annotationId=\(id)", token: f.owner)
        #expect(del.status == 200)
        #expect(del.json["success"] as? Bool == true)
        #expect(del.json["message"] as? String == "Annotation deleted successfully")
        let again = try await s.call("DELETE", "/api/annotations?annotationId=\(id)", token: f.owner)
        #expect(again.status == 404 && again.error == "Annotation not found")
        let patchGone = try await s.call("PATCH", "/api/annotations", token: f.owner, json: ["annotationId": id, "title": "x"])
        #expect(patchGone.status == 404 && patchGone.error == "Annotation not found")
        #expect(try await titles("", f.owner).count == 3)
        _ = same

        // Annotations go with their site.
        #expect(try await s.call("DELETE", "/api/sites?id=\(f.site)", token: f.owner).status == 200)
        let rows = try await s.server.core.meta.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM annotations") ?? -1 }
        #expect(rows == 0)
        try await s.stop()
    }

    @Test func validationMessages() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "annvalid.example.com")
        let long = String(repeating: "é", count: 101)
        let cases: [([String: Any], String)] = [
            ([:], "Site ID and date required"),
            (["siteId": f.site], "Site ID and date required"),
            (["date": "2026-03-01"], "Site ID and date required"),
            (["siteId": "", "date": "2026-03-01"], "Site ID and date required"),
            (["siteId": f.site, "date": ""], "Site ID and date required"),
            (["siteId": f.site, "date": "03/01/2026"], "Invalid date format. Use YYYY-MM-DD"),
            (["siteId": f.site, "date": "2026-02-30"], "Invalid date format. Use YYYY-MM-DD"),
            (["siteId": f.site, "date": "2026-3-1"], "Invalid date format. Use YYYY-MM-DD"),
            (["siteId": f.site, "date": "1999-12-31"], "Invalid date format. Use YYYY-MM-DD"),
            (["siteId": f.site, "date": 20260301], "Invalid date format. Use YYYY-MM-DD"),
            (["siteId": f.site, "date": "2026-03-01", "title": long], "title must be at most 100 characters"),
            (["siteId": f.site, "date": "2026-03-01", "title": 5], "Invalid title"),
            (["siteId": f.site, "date": "2026-03-01", "description": String(repeating: "d", count: 1001)],
             "description must be at most 1000 characters"),
            (["siteId": f.site, "date": "2026-03-01", "color": "blue"], "Invalid color"),
            (["siteId": f.site, "date": "2026-03-01", "color": "#12345g"], "Invalid color"),
            (["siteId": f.site, "date": "2026-03-01", "color": "#1234567"], "Invalid color"),
            (["siteId": f.site, "date": "2026-03-01", "icon": "Star"], "Invalid icon"),
            (["siteId": f.site, "date": "2026-03-01", "icon": ""], "Invalid icon"),
            (["siteId": f.site, "date": "2026-03-01", "icon": String(repeating: "a", count: 33)], "Invalid icon"),
            (["siteId": f.site, "date": "2026-03-01", "icon": "a_b"], "Invalid icon"),
        ]
        for (body, message) in cases {
            let r = try await s.call("POST", "/api/annotations", token: f.owner, json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.error == message, "\(body): \(r.text)")
        }
        // Limits are inclusive.
        let edge = try await Self.create(s, f.owner, ["siteId": f.site, "date": "2099-12-31", "title": String(repeating: "t", count: 100),
                                                      "description": String(repeating: "d", count: 1000),
                                                      "icon": String(repeating: "z", count: 32)])
        let id = try #require(edge["id"] as? String)

        #expect(try await s.call("GET", "/api/annotations", token: f.owner).error == "Site ID required")
        let badRange = try await s.call("GET", "/api/annotations?siteId=\(f.site)&startDate=2026-13-01", token: f.owner)
        #expect(badRange.status == 400 && badRange.error == "Invalid date format. Use YYYY-MM-DD")
        let reversed = try await s.call("GET", "/api/annotations?siteId=\(f.site)&startDate=2026-03-02&endDate=2026-03-01", token: f.owner)
        #expect(reversed.status == 400 && reversed.error == "startDate must not be after endDate")

        let noId = try await s.call("PATCH", "/api/annotations", token: f.owner, json: ["title": "x"])
        #expect(noId.status == 400 && noId.error == "Annotation ID required")
        let badPatch = try await s.call("PATCH", "/api/annotations", token: f.owner, json: ["annotationId": id, "date": "tomorrow"])
        #expect(badPatch.status == 400 && badPatch.error == "Invalid date format. Use YYYY-MM-DD")
        let badColor = try await s.call("PATCH", "/api/annotations", token: f.owner, json: ["annotationId": id, "color": "#fff"])
        #expect(badColor.status == 400 && badColor.error == "Invalid color")
        let noDelId = try await s.call("DELETE", "/api/annotations", token: f.owner)
        #expect(noDelId.status == 400 && noDelId.error == "Annotation ID required")
        let unknown = try await s.call("DELETE", "/api/annotations?annotationId=ann_nope", token: f.owner)
        #expect(unknown.status == 404 && unknown.error == "Annotation not found")
        let invalidJSON = try await s.call("POST", "/api/annotations", token: f.owner, body: Array("[1]".utf8))
        #expect(invalidJSON.status == 400 && invalidJSON.error == "Invalid JSON body")
        try await s.stop()
    }

    @Test func rolesAndOwnership() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "annroles.example.com")
        let body: [String: Any] = ["siteId": f.site, "date": "2026-03-01"]

        // Viewers read but do not write; outsiders see nothing (403 Access denied / 404).
        #expect(try await s.call("GET", "/api/annotations?siteId=\(f.site)", token: f.viewer).status == 200)
        let viewerPost = try await s.call("POST", "/api/annotations", token: f.viewer, json: body)
        #expect(viewerPost.status == 403 && viewerPost.error == "Insufficient permissions")
        let outsiderGet = try await s.call("GET", "/api/annotations?siteId=\(f.site)", token: f.outsider)
        #expect(outsiderGet.status == 403 && outsiderGet.error == "Access denied")
        let outsiderPost = try await s.call("POST", "/api/annotations", token: f.outsider, json: body)
        #expect(outsiderPost.status == 403 && outsiderPost.error == "Access denied")
        // Parameters before visibility.
        let outsiderBad = try await s.call("POST", "/api/annotations", token: f.outsider, json: ["siteId": f.site, "date": "x"])
        #expect(outsiderBad.status == 400)

        let ownerNote = try #require(try await Self.create(s, f.owner, body)["id"] as? String)
        let editorNote = try #require(try await Self.create(s, f.editor, body)["id"] as? String)
        let otherEditorToken = try await s.register("editor2@annroles.example.com")
        try await s.addMember(userId: try await s.userId(otherEditorToken), f.site, role: "editor")

        // An editor changes only its own.
        for (token, note, status) in [(f.editor, ownerNote, 403), (otherEditorToken, editorNote, 403), (f.viewer, editorNote, 403),
                                      (f.editor, editorNote, 200)] {
            let r = try await s.call("PATCH", "/api/annotations", token: token, json: ["annotationId": note, "title": "by someone"])
            #expect(r.status == status, "\(r.text)")
            if status == 403 { #expect(r.error == "Insufficient permissions") }
            if status == 403 {
                let d = try await s.call("DELETE", "/api/annotations?annotationId=\(note)", token: token)
                #expect(d.status == 403 && d.error == "Insufficient permissions")
            }
        }
        let outsiderPatch = try await s.call("PATCH", "/api/annotations", token: f.outsider, json: ["annotationId": ownerNote, "title": "x"])
        #expect(outsiderPatch.status == 404 && outsiderPatch.error == "Annotation not found")
        // Admins and owners change any.
        #expect(try await s.call("PATCH", "/api/annotations", token: f.admin, json: ["annotationId": editorNote, "title": "admin"]).status == 200)
        #expect(try await s.call("PATCH", "/api/annotations", token: f.owner, json: ["annotationId": editorNote, "color": "#000000"]).status == 200)
        #expect(try await s.call("DELETE", "/api/annotations?annotationId=\(editorNote)", token: f.admin).status == 200)
        #expect(try await s.call("DELETE", "/api/annotations?annotationId=\(ownerNote)", token: f.owner).status == 200)
        let mine = try #require(try await Self.create(s, f.editor, body)["id"] as? String)
        #expect(try await s.call("DELETE", "/api/annotations?annotationId=\(mine)", token: f.editor).status == 200)

        // Keys: read lists; write creates/changes; the scope check comes after parameters.
        let readKey = try await RoleFixture.key(s, f.owner, scope: "read")
        let writeKey = try await RoleFixture.key(s, f.owner, scope: "write")
        #expect(try await s.call("GET", "/api/annotations?siteId=\(f.site)", token: readKey).status == 200)
        let readPost = try await s.call("POST", "/api/annotations", token: readKey, json: body)
        #expect(readPost.status == 403 && readPost.error == "API key does not allow this operation")
        let readBad = try await s.call("POST", "/api/annotations", token: readKey, json: ["siteId": f.site])
        #expect(readBad.status == 400 && readBad.error == "Site ID and date required")
        let keyNote = try #require(try await Self.create(s, writeKey, body)["id"] as? String)
        let readPatch = try await s.call("PATCH", "/api/annotations", token: readKey, json: ["annotationId": keyNote, "title": "x"])
        #expect(readPatch.status == 403 && readPatch.error == "API key does not allow this operation")
        #expect(try await s.call("DELETE", "/api/annotations?annotationId=\(keyNote)", token: writeKey).status == 200)
        #expect(try await s.call("GET", "/api/annotations?siteId=\(f.site)").status == 401)
        try await s.stop()
    }

    /// share.* and annotation.* land in the activity log once each, after the write.
    @Test func activityRecorded() async throws {
        let s = try await TestServer.start()
        let f = try await RoleFixture.make(s, domain: "annact.example.com")
        let note = try #require(try await Self.create(s, f.editor, ["siteId": f.site, "date": "2026-03-01"])["id"] as? String)
        #expect(try await s.call("PATCH", "/api/annotations", token: f.editor, json: ["annotationId": note, "title": "T"]).status == 200)
        // A refused change records nothing.
        #expect(try await s.call("DELETE", "/api/annotations?annotationId=\(note)", token: f.viewer).status == 403)
        #expect(try await s.call("DELETE", "/api/annotations?annotationId=\(note)", token: f.editor).status == 200)
        let share = try #require(try await ShareTests.share(s, f.admin, ["siteId": f.site])["token"] as? String)
        #expect(try await s.call("DELETE", "/api/sites/share?token=\(share)", token: f.admin).status == 200)
        let rows = try await s.server.core.meta.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT action, type, actor_id, target_type, target_id, site_id FROM activity_log WHERE site_id = ? ORDER BY timestamp, rowid",
                             arguments: [f.site]).map { r -> [String?] in
                [r["action"], r["type"], r["actor_id"], r["target_type"], r["target_id"], r["site_id"]]
            }
        }
        let actions = rows.map { $0[0] ?? "" }.filter { $0.hasPrefix("annotation.") || $0.hasPrefix("share.") }
        #expect(actions == ["annotation.created", "annotation.updated", "annotation.deleted", "share.created", "share.revoked"])
        for r in rows where r[0]?.hasPrefix("annotation.") == true {
            #expect(r[1] == "annotation" && r[2] == f.editorId && r[3] == "annotation" && r[4] == note)
        }
        for r in rows where r[0]?.hasPrefix("share.") == true {
            #expect(r[1] == "site" && r[2] == f.adminId && r[3] == "site" && r[4] == f.site)
        }
        try await s.stop()
    }
}
