import Foundation
import Testing
import ZTAServer

/// api.md §3 and §7.1: sites and who may see them.
@Suite("Sites and authorization", .serialized)
struct SiteTests {
    @Test func siteCRUD() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("owner@example.com")
        let created = try await s.call("POST", "/api/sites", token: t,
                                       json: ["domain": "https://WWW.Shop.Example.com:8443/", "timezone": "Europe/Berlin",
                                              "settings": ["excludePaths": ["/admin"], "dataRetention": 30]])
        #expect(created.status == 201)
        let site = try #require(created.json["site"] as? [String: Any])
        let id = try #require(site["id"] as? String)
        #expect(id.hasPrefix("site_"))
        #expect(site["domain"] as? String == "shop.example.com")
        #expect(site["name"] as? String == "shop.example.com")
        #expect(site["role"] as? String == "owner")
        #expect((site["trackingCode"] as? String)?.contains("data-site-id=\"\(id)\"") == true)
        #expect((site["settings"] as? [String: Any])?["dataRetention"] as? Int == 30)

        for (body, message) in [
            (["timezone": "UTC"], "Domain is required"),
            (["domain": "localhost"], "Invalid domain"),
            (["domain": "nodot"], "Domain must include a TLD (e.g., .com)"),
            (["domain": "bad domain!.com"], "Invalid domain format"),
            (["domain": "ok.example.org", "timezone": "Mars/Olympus"], "Invalid timezone"),
        ] as [([String: Any], String)] {
            let r = try await s.call("POST", "/api/sites", token: t, json: body)
            #expect(r.status == 400)
            #expect(r.error == message)
        }
        let dup = try await s.call("POST", "/api/sites", token: t, json: ["domain": "shop.example.com"])
        #expect(dup.status == 409)
        #expect(dup.error == "A site with this domain already exists")

        let list = try await s.call("GET", "/api/sites", token: t)
        let sites = list.json["sites"] as? [[String: Any]] ?? []
        #expect(sites.count == 1)
        #expect((sites.first?["stats"] as? [String: Any])?["pageviews"] as? Int == 0)
        let one = try await s.call("GET", "/api/sites/\(id)", token: t)
        #expect(((one.json["site"] as? [String: Any])?["owner"] as? [String: Any])?["email"] as? String == "owner@example.com")

        let patched = try await s.call("PATCH", "/api/sites", token: t, json: ["id": id, "name": "Shop", "settings": ["dataRetention": NSNull()]])
        #expect(patched.status == 200)
        let ps = patched.json["site"] as? [String: Any]
        #expect(ps?["name"] as? String == "Shop")
        #expect((ps?["settings"] as? [String: Any])?["dataRetention"] is NSNull)
        #expect(((ps?["settings"] as? [String: Any])?["excludePaths"] as? [String]) == ["/admin"])
        #expect(try await s.call("PATCH", "/api/sites", token: t, json: ["id": id, "domain": "other.example.com"]).error == "Domain cannot be changed")

        let del = try await s.call("DELETE", "/api/sites?id=\(id)", token: t)
        #expect(del.json["message"] as? String == "Site deleted successfully")
        let gone = try await s.call("GET", "/api/sites/\(id)", token: t)
        #expect(gone.status == 404)
        #expect(gone.error == "Site not found")
        try await s.stop()
    }

    @Test func anotherUserCannotReadTheSite() async throws {
        let s = try await TestServer.start()
        let a = try await s.register("a@example.com")
        let b = try await s.register("b@example.com")
        let site = try await s.createSite(a, domain: "a-site.example.com")
        for path in ["/api/stats?siteId=\(site)", "/api/stats-api?site_id=\(site)", "/api/realtime?siteId=\(site)",
                     "/api/export?siteId=\(site)", "/api/heatmaps?siteId=\(site)&path=/&type=click",
                     "/api/heatmaps/pages?siteId=\(site)", "/api/import?siteId=\(site)"] {
            let r = try await s.call("GET", path, token: b)
            #expect(r.status == 403, "\(path)")
            #expect(r.error == "Access denied", "\(path)")
            // The owner gets an answer (the empty click heatmap is a 404 by api.md §6).
            let own = try await s.call("GET", path, token: a)
            #expect(own.status == (path.contains("type=click") ? 404 : 200), "\(path)")
        }
        let unknown = try await s.call("GET", "/api/stats?siteId=site_doesnotexist", token: a)
        #expect(unknown.status == 403)
        #expect(unknown.error == "Access denied")
        #expect(try await s.call("GET", "/api/sites/\(site)", token: b).error == "Site not found")
        #expect(try await s.call("DELETE", "/api/sites?id=\(site)", token: b).status == 404)
        #expect(try await s.call("PATCH", "/api/sites", token: b, json: ["id": site, "name": "x"]).status == 404)
        let imp = try await s.call("POST", "/api/import?siteId=\(site)", token: b, body: Array("{}\n".utf8),
                                   headers: [("Content-Type", "application/x-ndjson")])
        #expect(imp.status == 403)
        #expect(imp.error == "Site not found or access denied")
        #expect((try await s.call("GET", "/api/sites", token: b).json["sites"] as? [Any])?.isEmpty == true)
        // Parameters are checked before visibility (api.md §1 check order).
        #expect(try await s.call("GET", "/api/stats?siteId=\(site)&period=bogus", token: b).status == 400)
        #expect(try await s.call("GET", "/api/stats", token: b).error == "Site ID required")
        #expect(try await s.call("GET", "/api/stats-api", token: b).error == "site_id parameter is required")
        try await s.stop()
    }

    @Test func apiKeys() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("keys@example.com")
        let site = try await s.createSite(t, domain: "keys.example.com")
        let other = try await s.createSite(t, domain: "other-keys.example.com")
        let made = try await s.call("POST", "/api/api-keys", token: t, json: ["name": "ci", "scope": "read", "siteId": site])
        #expect(made.status == 201)
        let apiKey = try #require(made.json["apiKey"] as? [String: Any])
        let key = try #require(apiKey["key"] as? String)
        #expect(key.hasPrefix("zta_live_") && key.count == 41)
        #expect(apiKey["keyPrefix"] as? String == String(key.prefix(16)) + "...")
        #expect(try await s.call("POST", "/api/api-keys", token: t, json: ["name": "x", "scope": "root"]).error == "Invalid scope")
        #expect(try await s.call("POST", "/api/api-keys", token: t, json: ["scope": "read"]).error == "Name is required")

        let stats = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=7d", token: key)
        #expect(stats.status == 200)
        #expect(stats.header("X-RateLimit-Limit") == "100")
        #expect(try await s.call("GET", "/api/stats-api?site_id=\(other)", token: key).error == "API key does not allow this operation")
        #expect(try await s.call("GET", "/api/user/sessions", token: key).error == "This endpoint requires a user session")
        #expect(try await s.call("GET", "/api/api-keys", token: key).status == 403)
        #expect(try await s.call("POST", "/api/sites", token: key, json: ["domain": "k.example.com"]).error
                == "API key does not allow this operation")
        let listed = try await s.call("GET", "/api/api-keys", token: t)
        #expect((listed.json["apiKeys"] as? [[String: Any]])?.first?["key"] == nil)
        let id = try #require(apiKey["id"] as? String)
        #expect(try await s.call("DELETE", "/api/api-keys?id=\(id)", token: t).json["message"] as? String == "API key revoked successfully")
        #expect(try await s.call("GET", "/api/stats-api?site_id=\(site)", token: key).error == "Invalid or inactive API key")
        #expect(try await s.call("GET", "/api/stats-api?site_id=\(site)", token: "zta_live_0000").error == "Invalid or inactive API key")
        try await s.stop()
    }
}
