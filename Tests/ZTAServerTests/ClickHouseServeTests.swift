import Foundation
import Testing
import ZTAClickHouse
import ZTAServer
import ZTATestSupport

/// `ztas serve --events clickhouse://…`: the server refuses a ClickHouse store it cannot use,
/// and tracked events reach the stats through the outbox and the shipper.
@Suite("ClickHouse serve", .serialized)
struct ClickHouseServeTests {
    @Test func refusesAnUnreachableStore() async throws {
        do {
            let s = try await TestServer.start { c in
                c.events = ClickHouseConfig(endpoint: ClickHouseEndpoint(host: "127.0.0.1", port: 1), database: "ztas")
            }
            try await s.stop()
            Issue.record("the server started without its event store")
        } catch {
            #expect("\(error)".contains("unreachable"), "\(error)")
        }
    }

    @Test(.enabled(if: LocalClickHouse.available)) func trackedEventsReachTheStatsThroughClickHouse() async throws {
        let endpoint = try LocalClickHouse.start()
        defer { LocalClickHouse.stopIfStartedHere() }
        let config = ClickHouseConfig(endpoint: endpoint, database: "ztas_test_serve_\(getpid())")
        defer { _ = try? ClickHouseClient(endpoint: endpoint).query("DROP DATABASE IF EXISTS \(config.database)") }

        // Not initialised: the start fails and says what to run.
        do {
            let s = try await TestServer.start { $0.events = config }
            try await s.stop()
            Issue.record("the server started on an uninitialised ClickHouse database")
        } catch {
            #expect("\(error)".contains("ztas clickhouse init"), "\(error)")
        }

        try ClickHouseMigrator(config: config).initialise()
        let s = try await TestServer.start { c in
            c.events = config
            c.clickHouseShipping.linger = 0.02
        }
        let t = try await s.register("clickhouse@example.com")
        let site = try await s.createSite(t, domain: "ch.example.com")
        for k in 0..<5 {
            let r = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/p\(k)"],
                                     headers: [("User-Agent", TrackTests.chrome)])
            #expect(r.status == 200)
        }
        try await eventually("the tracked pageviews in ClickHouse's stats") {
            let r = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=pageviews&interval=month", token: t)
            let rows = r.json["results"] as? [[String: Any]] ?? []
            return rows.reduce(0) { $0 + ($1["pageviews"] as? Int ?? 0) } == 5
        }
        let metrics = try await s.call("GET", "/metrics").text
        #expect(metrics.contains("zta_clickhouse_outbox_rows 0"))
        #expect(metrics.contains("zta_clickhouse_shipped_total 5"))
        #expect(metrics.contains("zta_clickhouse_ship_errors_total 0"))
        // The acknowledgement came from the outbox; the embedded store got nothing.
        #expect(FileManager.default.fileExists(atPath: s.directory + "/clickhouse-outbox/cursor"))
        #expect(metrics.contains("zta_stored_events 0"))
        try await s.stop()
    }
}

/// A local `clickhouse-server` for the serve tests: the shared runner's first shard, in a
/// directory of its own (the ClickHouse store's tests start and stop theirs separately). Without
/// the Debian package the test is disabled (with a message); with `CI=true` it runs, and fails.
enum LocalClickHouse {
    static let cluster = ClickHouseLocalCluster(name: "ztas-clickhouse-serve-tests")
    nonisolated(unsafe) private static var startedHere = false
    private static let lock = NSLock()

    static var available: Bool {
        let installed = ClickHouseLocalCluster.installed
        if !installed {
            print("SKIP clickhouse-server is not installed: the serve --events test did not run")
        }
        return installed || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    static func start() throws -> ClickHouseEndpoint {
        lock.lock(); defer { lock.unlock() }
        let shards = try cluster.start()
        startedHere = shards.startedHere
        return shards.shard1
    }

    static func stopIfStartedHere() {
        lock.lock(); defer { lock.unlock() }
        if startedHere { cluster.stop() }
        startedHere = false
    }
}
