import Foundation
import Testing
import ZTAServer

/// Defects found while fuzzing the API against its OpenAPI document (docs/reliability.md,
/// "API fuzzing"), one test each.
@Suite("API fuzzing regressions", .serialized)
struct APIFuzzRegressionTests {
    /// 60 × "e" + combining acute: 60 characters (graphemes) but 120 Unicode scalars.
    static let combining = String(repeating: "e\u{301}", count: 60)

    /// Length limits counted graphemes, so any number of combining marks fit in "100 characters"
    /// (no byte bound) and the document's `maxLength` (scalars) disagreed; names are now measured
    /// as sent, in Unicode scalars.
    @Test func nameLimitsCountUnicodeScalars() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("limits@example.com")
        let tooLong = [Self.combining, " " + String(repeating: "a", count: 100)]
        for name in tooLong {
            let key = try await s.call("POST", "/api/api-keys", token: t, json: ["name": name, "scope": "read"])
            #expect(key.status == 400)
            #expect(key.error == "name must be at most 100 characters")
            let site = try await s.call("POST", "/api/sites", token: t, json: ["domain": "limits.example", "name": name])
            #expect(site.status == 400)
            #expect(site.error == "name must be at most 100 characters")
            let user = try await s.call("POST", "/api/auth/register",
                                        json: ["email": "other@example.com", "password": TestServer.password, "name": name])
            #expect(user.status == 400)
            #expect(user.error == "name must be at most 100 characters")
        }
        let ok = try await s.call("POST", "/api/api-keys", token: t, json: ["name": String(repeating: "é", count: 100), "scope": "read"])
        #expect(ok.status == 201)
        let id = try #require((ok.json["apiKey"] as? [String: Any])?["id"] as? String)
        let rename = try await s.call("PATCH", "/api/api-keys", token: t, json: ["id": id, "name": Self.combining])
        #expect(rename.status == 400)
        let path = "/" + String(repeating: "e\u{301}", count: 100)
        let site = try await s.call("POST", "/api/sites", token: t,
                                    json: ["domain": "limits.example", "settings": ["excludePaths": [path]]])
        #expect(site.status == 400)
        #expect(site.error == "settings.excludePaths must be at most 200 characters")
        #expect(try await s.call("POST", "/api/sites", token: t, json: ["domain": "limits.example", "name": "Limits"]).status == 201)
        try await s.stop()
    }
}
