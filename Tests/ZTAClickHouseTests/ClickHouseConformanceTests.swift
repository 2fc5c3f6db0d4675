import Foundation
import XCTest
import ZTAClickHouse
import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTATestSupport

/// The conformance kit's events imported by the engine's importer (events.md §2/§4), shipped to
/// ClickHouse — one server, and a cluster of two shards behind a `Distributed` table — and every
/// conformance query (stats-api, the dashboard, heatmaps, exports) answered by both stores: the
/// rendered bodies must be byte-identical.
///
/// Needs `clickhouse-server` (Debian package, 18.16): `scripts/clickhouse-cluster` starts two
/// servers on free loopback ports. Without it the tests skip loudly, unless `CI=true`.
final class ClickHouseConformanceTests: XCTestCase {
    struct Fixture: @unchecked Sendable {
        var embedded: Database
        var embeddedDir: String
        var single: ClickHouseEvents
        var cluster: ClickHouseEvents
        var shards: ClickHouseTestCluster.Shards
        var rows: Int
    }

    nonisolated(unsafe) static var cached: Fixture?
    static let singleDB = "ztas_test_single_\(getpid())"
    static let clusterDB = "ztas_test_cluster_\(getpid())"

    static func fixture() throws -> Fixture {
        if let cached { return cached }
        let shards = try ClickHouseTestCluster.require()
        let gz = ConformanceKit.eventsPath
        guard ConformanceKit.available else { throw XCTSkip("conformance kit not found at \(gz)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ch-conf-\(UUID().uuidString)").path
        let db = try Database(path: dir)
        var clock = ContinuousClock.now
        func lap(_ what: String) {
            print("clickhouse conformance fixture: \(what) in \(ContinuousClock.now - clock)")
            clock = ContinuousClock.now
        }
        let summary = try db.importNDJSON(path: gz)
        lap("imported \(summary.accepted) events into the embedded store")
        XCTAssertEqual(summary.rejected, 0)
        try db.store.flush()

        let single = ClickHouseConfig(endpoint: shards.shard1, database: singleDB)
        let cluster = ClickHouseConfig(endpoint: shards.shard1, database: clusterDB, cluster: shards.cluster,
                                       shards: [shards.shard1, shards.shard2])
        for c in [single, cluster] {
            try ClickHouseMigrator(config: c).initialise()
            let copied = try ClickHouseEventWriter(config: c).copy(from: db.store, sites: db.store.sites())
            XCTAssertEqual(copied, summary.accepted)
            lap("shipped to \(c.cluster == nil ? "one server" : "the cluster")")
        }
        let f = Fixture(embedded: db, embeddedDir: dir, single: ClickHouseEvents(config: single),
                        cluster: ClickHouseEvents(config: cluster), shards: shards, rows: summary.accepted)
        cached = f
        return f
    }

    override class func tearDown() {
        if let f = cached {
            for e in [f.shards.shard1, f.shards.shard2] {
                let c = ClickHouseClient(endpoint: e)
                _ = try? c.query("DROP DATABASE IF EXISTS \(singleDB)")
                _ = try? c.query("DROP DATABASE IF EXISTS \(clusterDB)")
            }
            try? f.embedded.close()
            try? FileManager.default.removeItem(atPath: f.embeddedDir)
            cached = nil
        }
        ClickHouseTestCluster.stopIfStarted()
        super.tearDown()
    }

    func testStoresHoldTheSameRows() throws {
        let f = try Self.fixture()
        for (name, e, db) in [("single", f.shards.shard1, Self.singleDB), ("cluster", f.shards.shard1, Self.clusterDB)] {
            let rows = try TabSeparated.parse(try ClickHouseClient(endpoint: e).query("SELECT count() FROM events FORMAT TabSeparated", database: db))
            XCTAssertEqual(try TabSeparated.int64(rows[0][0]), Int64(f.rows), name)
        }
        // The cluster spreads sites over both shards' local tables, each site whole on one.
        var perShard: [Int64] = []
        for e in [f.shards.shard1, f.shards.shard2] {
            let r = try TabSeparated.parse(try ClickHouseClient(endpoint: e).query(
                "SELECT count(), uniqExact(site) FROM events_local FORMAT TabSeparated", database: Self.clusterDB))
            perShard.append(try TabSeparated.int64(r[0][0]))
        }
        XCTAssertEqual(perShard.reduce(0, +), Int64(f.rows))
        let versions = try ClickHouseMigrator(config: f.cluster.config).versions()
        XCTAssertEqual(versions.map(\.1), [ClickHouseSchema.currentVersion, ClickHouseSchema.currentVersion])
        // Migrating an up-to-date store changes nothing.
        XCTAssertTrue(try ClickHouseMigrator(config: f.cluster.config).migrate().allSatisfy { $0.contains("schema at version") })
    }

    func testConformanceQueriesAnswerByteIdentically() throws {
        let f = try Self.fixture()
        let queries = try ConformanceKit.queries()
        XCTAssertGreaterThanOrEqual(queries.count, 35)
        var failed: [String] = []
        for (name, store) in [("single", f.single), ("cluster", f.cluster)] {
            var passed = 0
            for q in queries {
                let id = q["id"] as? String ?? "?"
                do {
                    let expected = try ConformanceKit.run(q, engine: f.embedded.queries)
                    let got = try ConformanceKit.run(q, engine: store.queries)
                    if expected == got { passed += 1; continue }
                    failed.append("\(name)/\(id)")
                    XCTFail("[\(name)] \(id) differs:\n embedded:   \(String(decoding: expected.prefix(1500), as: UTF8.self))\n clickhouse: \(String(decoding: got.prefix(1500), as: UTF8.self))")
                } catch {
                    failed.append("\(name)/\(id)")
                    XCTFail("[\(name)] \(id) threw \(error)")
                }
            }
            print("clickhouse conformance [\(name)]: \(passed) passed, \(queries.count - passed) failed")
        }
    }

    /// `summaries` (alerts' anomaly windows): hand-made buckets with fillers between them.
    func testSummariesOverDisjointWindowsMatch() throws {
        let f = try Self.fixture()
        guard let tz = SiteTimeZone("Europe/Berlin") else { return XCTFail("time zone") }
        let hour: Int64 = 3_600_000
        let base: Int64 = 1_774_000_000_000 / hour * hour
        let windows = (0..<6).map { k in TimeWindow(from: base - Int64(k) * 24 * hour, to: base - Int64(k) * 24 * hour + hour, timeZone: tz) }
            .sorted { $0.from < $1.from }
        for site in ["site_alpha", "site_gamma"] {
            let expected = try f.embedded.queries.summaries(site: site, windows: windows)
            XCTAssertEqual(try f.single.queries.summaries(site: site, windows: windows), expected, site)
            XCTAssertEqual(try f.cluster.queries.summaries(site: site, windows: windows), expected, site)
        }
    }
}
