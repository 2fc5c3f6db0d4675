import Foundation
import Testing
import ZTAServer

/// api.md §5: country and region of tracked events from a MaxMind DB (`GEOIP_DB`).
@Suite("GeoIP", .serialized)
struct GeoIPTests {
    static let chrome = TrackTests.chrome

    static func databasePath() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-geoip-\(UUID().uuidString).mmdb").path
        try MaxMindDBWriter.testDatabase(at: path)
        return path
    }

    @Test func resolverLooksUpIPv4AndIPv6() throws {
        let path = try Self.databasePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let geo = try GeoIPResolver(path: path)
        #expect(geo.databaseType == "ztas-Test-City")
        #expect(geo.locate("203.0.113.7") == GeoLocation(country: "DE", region: "DE-BE"))
        #expect(geo.locate("203.0.113.255") == GeoLocation(country: "DE", region: "DE-BE"))
        // IPv4-mapped IPv6 is the IPv4 address.
        #expect(geo.locate("::ffff:203.0.113.9") == GeoLocation(country: "DE", region: "DE-BE"))
        #expect(geo.locate("198.51.100.1") == GeoLocation(country: "US", region: ""))
        #expect(geo.locate("2001:db8::1") == GeoLocation(country: "FR", region: "FR-IDF"))
        #expect(geo.locate("2001:db8:ffff:1::42") == GeoLocation(country: "FR", region: "FR-IDF"))
        #expect(geo.locate("203.0.114.1") == .unknown)
        #expect(geo.locate("127.0.0.1") == .unknown)
        #expect(geo.locate("2001:db9::1") == .unknown)
        #expect(geo.locate("not an address") == .unknown)
        #expect(geo.locate("") == .unknown)
    }

    @Test func concurrentLookupsAgree() async throws {
        let path = try Self.databasePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let geo = try GeoIPResolver(path: path)
        let results = await withTaskGroup(of: Bool.self) { group in
            for k in 0..<8 {
                group.addTask {
                    (0..<2000).allSatisfy { i in
                        let de = geo.locate("203.0.113.\((i &+ k) % 256)") == GeoLocation(country: "DE", region: "DE-BE")
                        let fr = geo.locate("2001:db8::\(String(i, radix: 16))") == GeoLocation(country: "FR", region: "FR-IDF")
                        return de && fr
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test func unreadableDatabaseIsAClearError() async throws {
        let missing = "/nonexistent/ztas-geoip.mmdb"
        let e = #expect(throws: ServerError.self) { try GeoIPResolver(path: missing) }
        #expect(e?.description.contains("cannot open GeoIP database /nonexistent/ztas-geoip.mmdb") == true)
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-junk-\(UUID().uuidString).mmdb").path
        try Data("not a maxmind database".utf8).write(to: URL(fileURLWithPath: junk))
        defer { try? FileManager.default.removeItem(atPath: junk) }
        #expect(throws: ServerError.self) { try GeoIPResolver(path: junk) }
        // The server refuses to start rather than silently tracking without countries.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-geoip-start-\(UUID().uuidString)").path
        var config = ServerConfig(dataDirectory: dir)
        config.port = 0
        config.geoIPDatabase = missing
        await #expect(throws: ServerError.self) { _ = try await ZTAServer.start(config: config) }
        #expect(!FileManager.default.fileExists(atPath: dir))
    }

    @Test func trackedEventsGetCountryAndRegion() async throws {
        let path = try Self.databasePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let s = try await TestServer.start { c in
            c.geoIPDatabase = path
            c.trustedProxies = ["127.0.0.1", "::1"]
        }
        let t = try await s.register("geo@example.com")
        let site = try await s.createSite(t, domain: "geo.example.com")
        for (ip, n) in [("203.0.113.7", 3), ("2001:db8::5", 2), ("192.0.2.1", 1)] {
            for k in 0..<n {
                let r = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/p\(k)"],
                                         headers: [("User-Agent", Self.chrome), ("X-Forwarded-For", "\(ip), 10.0.0.1")])
                #expect(r.status == 200)
            }
        }
        // Directly from the loopback peer (no proxy header): unknown.
        _ = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site], headers: [("User-Agent", Self.chrome)])

        let byCountry = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=pageviews&property=country", token: t)
        #expect(byCountry.status == 200)
        let countries = Dictionary(uniqueKeysWithValues: (byCountry.json["results"] as? [[String: Any]] ?? []).map {
            ($0["country"] as? String ?? "?", $0["pageviews"] as? Int ?? -1)
        })
        #expect(countries == ["DE": 3, "FR": 2, "": 2])
        let byRegion = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=pageviews&property=region", token: t)
        let regions = Set((byRegion.json["results"] as? [[String: Any]] ?? []).compactMap { $0["region"] as? String })
        #expect(regions == ["DE-BE", "FR-IDF", ""])
        let filtered = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=pageviews&interval=month&filters=\(q("country==DE"))", token: t)
        #expect((filtered.json["results"] as? [[String: Any]])?.first?["pageviews"] as? Int == 3)
        let dash = try await s.call("GET", "/api/stats?siteId=\(site)&period=day", token: t)
        let dashCountries = dash.json["countries"] as? [[String: Any]] ?? []
        #expect(Set(dashCountries.compactMap { $0["code"] as? String }) == ["DE", "FR"])  // unknown omitted
        #expect(dashCountries.first { $0["code"] as? String == "DE" }?["visits"] as? Int == 1)

        // The addresses only decided the country: none of them is in the data directory.
        let dir = s.directory
        try await s.stop(removing: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in try FileManager.default.subpathsOfDirectory(atPath: dir) {
            guard let data = FileManager.default.contents(atPath: dir + "/" + file) else { continue }
            for ip in ["203.0.113.7", "2001:db8::5", "192.0.2.1"] {
                #expect(data.range(of: Data(ip.utf8)) == nil, "\(ip) found in \(file)")
            }
        }
        #expect(!s.logs.lines.withLock { $0.contains { "\($0)".contains("203.0.113.7") } })
    }
}
