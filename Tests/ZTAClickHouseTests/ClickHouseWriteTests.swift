import Foundation
import XCTest
import ZTAClickHouse
import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTATestSupport

/// Imports, tracked inserts and deletions (by import, by date, by site) on a two-shard cluster.
final class ClickHouseWriteTests: XCTestCase {
    static let database = "ztas_test_writes_\(getpid())"

    override class func tearDown() {
        if let s = try? ClickHouseTestCluster.shards() {
            for e in [s.shard1, s.shard2] { _ = try? ClickHouseClient(endpoint: e).query("DROP DATABASE IF EXISTS \(database)") }
        }
        ClickHouseTestCluster.stopIfStarted()
        super.tearDown()
    }

    func count(_ store: ClickHouseEvents, _ condition: String = "1") throws -> Int64 {
        let rows = try TabSeparated.parse(try ClickHouseClient(endpoint: store.config.endpoint).query(
            "SELECT count() FROM events WHERE \(condition) FORMAT TabSeparated", database: store.config.database))
        return try TabSeparated.int64(rows[0][0])
    }

    func testImportTrackAndDelete() throws {
        let s = try ClickHouseTestCluster.require()
        let config = ClickHouseConfig(endpoint: s.shard1, database: Self.database, cluster: s.cluster, shards: [s.shard1, s.shard2])
        try ClickHouseMigrator(config: config).initialise()
        let store = ClickHouseEvents(config: config)

        // Two imports through the engine's importer: referrers normalised, channels derived
        // (events.md §2/§4), a bad line rejected with its number.
        let lines = """
            {"ts":"2026-03-01T10:00:00Z","site":"s1","type":"pageview","visitor":"v1","session":"a","path":"/","referrer":"WWW.Google.com"}
            {"ts":"2026-03-01T10:01:00Z","site":"s1","type":"pageview","visitor":"v1","session":"a","path":"/x"}
            {"ts":"2026-03-02T10:00:00Z","site":"s2","type":"event","visitor":"v2","session":"b","name":"Signup"}
            not json
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ch-import-\(UUID().uuidString).ndjson")
        try Data(lines.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let first = try store.importNDJSON(input: try ImportInput(path: file.path))
        XCTAssertEqual(first.accepted, 3)
        XCTAssertEqual(first.rejected, 1)
        let second = try store.importNDJSON(input: try ImportInput(path: file.path))
        XCTAssertGreaterThan(second.importId, first.importId)
        XCTAssertEqual(try count(store), 6)
        XCTAssertEqual(try count(store, "referrer = 'google.com' AND channel = 'organic'"), 2)

        // Tracked events (import 0) next to them.
        var r = EventRecord()
        r.ts = 1_772_400_000_000; r.site = "s1"; r.visitor = 7; r.session = 8; r.path = "/t"
        try store.ingest([r, r])
        XCTAssertEqual(try count(store, "import_id = 0"), 2)

        // Deleting one import leaves the other and the tracked rows.
        XCTAssertEqual(try store.deleteImport(site: "s1", importId: first.importId), 2)
        XCTAssertEqual(try count(store), 6)
        XCTAssertEqual(try store.deleteImport(site: "s1", importId: first.importId), 0)

        // Retention: s1's rows before 2026-03-01T10:00:30Z.
        XCTAssertEqual(try store.applyRetention(site: "s1", cutoff: 1_772_359_230_000), 1)
        XCTAssertEqual(try count(store, "site = 's1'"), 3)

        // The site as a whole, on whichever shard holds it.
        XCTAssertEqual(try store.deleteSite("s1"), 3)
        XCTAssertEqual(try count(store, "site = 's1'"), 0)
        XCTAssertEqual(try count(store, "site = 's2'"), 2)
    }

    /// The server's maintenance pass applies `settings.dataRetention` to the store that holds
    /// the events (on ClickHouse, not the local engine), and the site list's last pageview reads
    /// that store too; both against the embedded store with the same rows.
    /// A fresh database `<database>_<suffix>` on the two-shard cluster (schema initialised) and
    /// an empty embedded store to answer beside it; `cleanup` drops the one and removes the other.
    func clusterAndEmbedded(_ suffix: String) throws -> (store: ClickHouseEvents, embedded: Database, cleanup: () -> Void) {
        let s = try ClickHouseTestCluster.require()
        let config = ClickHouseConfig(endpoint: s.shard1, database: Self.database + "_" + suffix, cluster: s.cluster,
                                      shards: [s.shard1, s.shard2])
        try ClickHouseMigrator(config: config).initialise()
        let dir = TestPaths.temporaryDirectory("ch-\(suffix)")
        let embedded = try Database(path: dir)
        return (ClickHouseEvents(config: config), embedded, {
            try? embedded.close()
            try? FileManager.default.removeItem(atPath: dir)
            for e in [s.shard1, s.shard2] { _ = try? ClickHouseClient(endpoint: e).query("DROP DATABASE IF EXISTS \(config.database)") }
        })
    }

    func testRetentionPassAndLastPageviewOnClickHouse() throws {
        let (store, embedded, cleanup) = try clusterAndEmbedded("ret")
        defer { cleanup() }
        // The server's own local engine, which in ClickHouse mode holds no events.
        let dir = TestPaths.temporaryDirectory("ch-ret-local")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let local = try Database(path: dir)

        let day: Int64 = 86_400_000
        let now: Int64 = 1_772_400_000_000
        var rows: [EventRecord] = []
        for (i, age) in [40, 20, 10, 2, 1].enumerated() {
            var r = EventRecord()
            r.ts = now - Int64(age) * day; r.site = "s1"; r.visitor = UInt64(i + 1); r.session = UInt64(i + 1); r.path = "/p\(i)"
            r.type = i == 4 ? .event : .pageview
            r.name = i == 4 ? "Signup" : ""
            rows.append(r)
        }
        var other = rows[0]
        other.site = "s2"
        try store.ingest(rows + [other])
        try embedded.ingest(rows + [other])

        // The newest pageview is 2 days old (the newer row is a custom event), on both stores;
        // a bound before it finds the one before.
        for before in [now + 1, now - 2 * day, now - 40 * day] {
            XCTAssertEqual(try store.queries.lastPageview(site: "s1", before: before),
                           try embedded.queries.lastPageview(site: "s1", before: before), "before \(before)")
        }
        XCTAssertEqual(try store.queries.lastPageview(site: "s1", before: now + 1), now - 2 * day)
        XCTAssertNil(try store.queries.lastPageview(site: "nosuch", before: now + 1))

        // A pass with 15 days' retention for s1: its 40- and 20-day-old rows go, s2 keeps all.
        let pass = MaintenanceScheduler(database: local, retentionDays: { ["s1": 15] }, events: store)
        pass.runOnce(now: Date(timeIntervalSince1970: Double(now) / 1000))
        XCTAssertEqual(pass.stats.errors, 0, pass.stats.lastError ?? "")
        XCTAssertEqual(pass.stats.retentionDeleted, 2)
        XCTAssertEqual(try count(store, "site = 's1'"), 3)
        XCTAssertEqual(try count(store, "site = 's2'"), 1)
        try local.close()
    }

    /// The dashboard's top pages come from ClickHouse as the first 10 by pageviews (`ORDER BY …
    /// LIMIT`): ties across the 10th row broken by the path's bytes, and paths with no pageview
    /// or event (only engagement rows) not taking a place — the same body as the embedded store.
    func testDashboardTopPagesLimitMatchesTheEmbeddedStore() throws {
        let (store, embedded, cleanup) = try clusterAndEmbedded("top")
        defer { cleanup() }

        let t0: Int64 = 1_772_400_000_000
        var rows: [EventRecord] = []
        var n: UInt64 = 0
        func add(_ site: String, _ path: String, _ type: EventType, count: Int) {
            for _ in 0..<count {
                n += 1
                var r = EventRecord()
                r.ts = t0 + Int64(n) * 1000; r.site = site; r.type = type; r.path = path
                r.visitor = n % 7; r.session = n % 11
                r.name = type == .event ? "E" : ""
                r.timeOnPage = type == .engagement ? 30 : 0
                rows.append(r)
            }
        }
        // s1: 13 pages with pageviews 6, 5, 5, then eight with 3 (the 10th place is a tie), 2, 1.
        let counts = [6, 5, 5, 3, 3, 3, 3, 3, 3, 3, 3, 2, 1]
        for (i, c) in counts.enumerated() { add("s1", "/p\(String(format: "%02d", 13 - i))", .pageview, count: c) }
        // s2: 8 pages, one with an event only (eligible, last), two with engagement only (never a
        // row, though their bytes sort before it).
        for (i, c) in counts.prefix(8).enumerated() { add("s2", "/p\(String(format: "%02d", 13 - i))", .pageview, count: c) }
        add("s2", "/p00", .event, count: 2)
        add("s2", "/a", .engagement, count: 9)
        add("s2", "/b", .engagement, count: 1)
        try store.ingest(rows)
        try embedded.ingest(rows)

        for site in ["s1", "s2"] {
            let params = ["siteId": site, "period": "custom", "startDate": "2026-03-01", "endDate": "2026-03-03"]
            let r = try DashboardRequest.parse(params, timezone: "UTC", now: t0 + 86_400_000)
            let a = String(decoding: try embedded.queries.dashboard(r), as: UTF8.self)
            let b = String(decoding: try store.queries.dashboard(r), as: UTF8.self)
            XCTAssertEqual(b, a, site)
            XCTAssertTrue(a.contains("\"topPages\":[{\"path\":\"/p13\",\"pageviews\":6"), a)
            XCTAssertFalse(a.contains("\"/a\""), a)
            XCTAssertEqual(a.contains("\"/p00\""), site == "s2", a)
            if site == "s1" {
                // Eight tied at 3 (/p03 … /p10) for places 4 to 11: /p09 is 10th, /p10 is not shown.
                XCTAssertTrue(a.contains("{\"path\":\"/p09\",\"pageviews\":3,\"uniqueVisitors\":3}]"), a)
                XCTAssertFalse(a.contains("\"/p10\""), a)
            }
        }
    }

    /// `ztas migrate --to` (the CLI, as an operator runs it) copies an embedded store into the
    /// cluster: afterwards both stores answer the dashboard and stats-api alike, and a second
    /// migrate refuses sites that already have rows instead of doubling them.
    func testMigrateCommandCopiesAnEmbeddedStore() throws {
        let s = try ClickHouseTestCluster.require()
        var binary = Bundle(for: ClickHouseWriteTests.self).bundleURL
        while binary.pathExtension == "xctest" || binary.lastPathComponent == "Contents" { binary.deleteLastPathComponent() }
        binary.appendPathComponent("ztas")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { return XCTFail("CI: ztas not built at \(binary.path)") }
            throw XCTSkip("SKIP: ztas not built at \(binary.path) (swift build)")
        }
        let database = Self.database + "_migrate"
        let url = "clickhouse://\(s.shard1.host):\(s.shard1.port)/\(database)?cluster=\(s.cluster)"
            + "&shards=\(s.shard1.host):\(s.shard1.port),\(s.shard2.host):\(s.shard2.port)"
        defer { for e in [s.shard1, s.shard2] { _ = try? ClickHouseClient(endpoint: e).query("DROP DATABASE IF EXISTS \(database)") } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ch-migrate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var lines = ""
        let t0: Int64 = 1_772_400_000_000
        for i in 0..<3000 {
            let type = i % 9 == 4 ? "event" : "pageview"
            lines += "{\"ts\":\(t0 + Int64(i) * 7_001),\"site\":\"m\(i % 2)\",\"type\":\"\(type)\",\"visitor\":\"v\(i % 41)\","
                + "\"session\":\"s\(i % 173)\",\"path\":\"/p\(i % 11)\",\"referrer\":\"\(["", "google.com", "t.co"][i % 3])\","
                + "\"country\":\"\(["DE", "US", ""][i % 3])\",\"name\":\"\(type == "event" ? "Signup" : "")\"}\n"
        }
        let file = dir + ".ndjson"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            let db = try Database(path: dir)
            XCTAssertEqual(try db.importNDJSON(input: try ImportInput(path: file)).accepted, 3000)
            try db.close()
        }

        func migrate() throws -> (Int32, String) { try runProcess(binary, ["migrate", "--data", dir, "--to", url]) }
        let (status, text) = try migrate()
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("\"events\":3000"), text)

        let config = try ClickHouseConfig.parse(url)
        let store = ClickHouseEvents(config: config)
        let embedded = try Database(path: dir)
        for site in ["m0", "m1"] {
            let d = try DashboardRequest.parse(["siteId": site, "period": "custom", "startDate": "2026-03-01", "endDate": "2026-03-03"],
                                               timezone: "UTC", now: t0 + 86_400_000)
            XCTAssertEqual(String(decoding: try store.queries.dashboard(d), as: UTF8.self),
                           String(decoding: try embedded.queries.dashboard(d), as: UTF8.self), site)
            let a = try StatsAPIRequest.parse(["site_id": site, "period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-03",
                                               "property": "source", "metrics": "visitors,pageviews,bounce_rate,visit_duration"],
                                              timezone: "Europe/Berlin", now: t0 + 86_400_000)
            XCTAssertEqual(String(decoding: try store.queries.statsAPI(a), as: UTF8.self),
                           String(decoding: try embedded.queries.statsAPI(a), as: UTF8.self), site)
        }
        try embedded.close()  // migrate locks the data directory
        // Again: refused, and nothing doubled.
        let (again, message) = try migrate()
        XCTAssertNotEqual(again, 0)
        XCTAssertTrue(message.contains("already has"), message)
        let rows = try TabSeparated.parse(try ClickHouseClient(endpoint: s.shard1).query("SELECT count() FROM events FORMAT TabSeparated", database: database))
        XCTAssertEqual(try TabSeparated.int64(rows[0][0]), 3000)
    }

    /// Row exports read the rows by SQL (`ClickHouseEventSource`) and render them with the
    /// embedded store's code: every format, byte for byte, with strings that need escaping in
    /// TabSeparated, CSV and JSON, rows tied on `ts`, and a page (`limit`/`offset`) across them.
    func testRowExportsAnswerLikeTheEmbeddedStore() throws {
        let s = try ClickHouseTestCluster.require()
        let config = ClickHouseConfig(endpoint: s.shard1, database: Self.database + "_export")
        defer { _ = try? ClickHouseClient(endpoint: s.shard1).query("DROP DATABASE IF EXISTS \(config.database)") }
        try ClickHouseMigrator(config: config).initialise()
        let store = ClickHouseEvents(config: config)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ch-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let embedded = try Database(path: dir)
        defer { try? embedded.close() }

        var rows: [EventRecord] = []
        let texts = ["plain", "tab\there", "new\nline", "back\\slash", "quote\"'", "=formula", "ünï🚀", ""]
        for i in 0..<300 {
            var r = EventRecord()
            r.ts = 1_772_400_000_000 + Int64(i / 3) * 1_000  // three rows per timestamp
            r.site = "s1"
            r.type = [.pageview, .event, .click][i % 3]
            r.visitor = UInt64(i % 7) &* 0x9E37_79B9_7F4A_7C15
            r.session = UInt64(i % 11)
            r.path = "/p\(i % 5)/" + texts[i % texts.count]
            r.name = r.type == .event ? texts[(i / 3) % texts.count] : ""
            r.text = r.type == .click ? texts[(i / 2) % texts.count] : ""
            r.value = r.type == .event ? Double(i) / 7 : 0
            r.x = Int32(i); r.y = Int32(-i)
            rows.append(r)
        }
        try store.ingest(rows)
        try embedded.ingest(rows)
        var checked = 0
        for type in ["pageviews", "events", "all"] {
            for format in ["json", "csv", "ndjson"] {
                for (limit, offset) in [("10000", "0"), ("7", "5")] {
                    let req = try ExportRequest.parse(["siteId": "s1", "type": type, "format": format, "limit": limit, "offset": offset,
                                                       "startDate": "2026-03-01", "endDate": "2026-03-02"],
                                                      timezone: "UTC", now: 1_772_500_000_000)
                    let expected = try embedded.queries.export(req)
                    XCTAssertGreaterThan(expected.count, 100, "\(type) \(format) \(limit)")
                    let got = try store.queries.export(req)
                    if got != expected {
                        // The first difference with some context (the bodies are long).
                        let i = (0..<min(got.count, expected.count)).first { got[$0] != expected[$0] } ?? min(got.count, expected.count)
                        let around = { (b: [UInt8]) in String(decoding: b[max(0, i - 80)..<min(b.count, i + 80)], as: UTF8.self) }
                        XCTFail("\(type) \(format) limit \(limit) offset \(offset): byte \(i) differs: \(around(got)) vs \(around(expected))")
                    }
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 18)
    }
}
