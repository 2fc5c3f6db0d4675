import Foundation
import XCTest
import ZTAClickHouse
import ZTAEngine
import ZTAQuery

/// Hour, day, week and month buckets around DST changes and in zones with half-hour offsets
/// (the conformance data covers spring-forward only): both stores must answer byte-identically.
final class ClickHouseTimeZoneTests: XCTestCase {
    static let database = "ztas_test_tz_\(getpid())"

    override class func tearDown() {
        if let s = try? ClickHouseTestCluster.shards() {
            _ = try? ClickHouseClient(endpoint: s.shard1).query("DROP DATABASE IF EXISTS \(database)")
        }
        ClickHouseTestCluster.stopIfStarted()
        super.tearDown()
    }

    func testBucketsAroundTransitionsMatchTheEmbeddedStore() throws {
        let s = try ClickHouseTestCluster.require()
        // An event every 7 minutes from 2026-10-24 to 2026-11-03 UTC (Europe's and America's
        // fall-back weekends), sessions of 5 events, 3 visitors.
        var lines = ""
        let start: Int64 = 1_792_800_000_000  // 2026-10-24T00:00:00Z
        var i = 0
        var t = start
        while t < start + 10 * 86_400_000 {
            let type = i % 4 == 3 ? "event" : "pageview"
            lines += "{\"ts\":\(t),\"site\":\"tz\",\"type\":\"\(type)\",\"visitor\":\"v\(i % 3)\",\"session\":\"s\(i / 5)\",\"path\":\"/p\(i % 6)\",\"name\":\"\(type == "event" ? "E" : "")\"}\n"
            t += 7 * 60_000
            i += 1
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ch-tz-\(UUID().uuidString).ndjson")
        try Data(lines.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ch-tz-\(UUID().uuidString)").path
        let db = try Database(path: dir)
        defer { try? db.close(); try? FileManager.default.removeItem(atPath: dir) }
        _ = try db.importNDJSON(input: try ImportInput(path: file.path))
        let config = ClickHouseConfig(endpoint: s.shard1, database: Self.database)
        try ClickHouseMigrator(config: config).initialise()
        let ch = ClickHouseEvents(config: config)
        _ = try ch.importNDJSON(input: try ImportInput(path: file.path))

        let cases: [(String, String, String, String)] = [
            ("America/Los_Angeles", "2026-10-31", "2026-11-02", "hour"),
            ("Europe/Berlin", "2026-10-24", "2026-10-26", "hour"),
            ("Asia/Kolkata", "2026-10-25", "2026-10-26", "hour"),
            ("Australia/Lord_Howe", "2026-10-27", "2026-10-28", "hour"),
            ("America/Los_Angeles", "2026-10-24", "2026-11-02", "day"),
            ("Asia/Kathmandu", "2026-10-24", "2026-11-02", "week"),
            ("Europe/Berlin", "2026-10-15", "2026-11-02", "month"),
            // More than BucketMap.directLimit buckets: ClickHouse's time-zone functions (the
            // cases above with fewer compare ts with the boundaries Swift computed).
            ("America/Los_Angeles", "2026-10-15", "2026-11-02", "day"),
            ("Asia/Kathmandu", "2026-07-01", "2026-11-02", "week"),
            ("Europe/Berlin", "2025-08-15", "2026-11-02", "month"),
            // UTC buckets are integer arithmetic on ts, not time-zone functions (BucketMap).
            ("UTC", "2026-10-24", "2026-10-26", "hour"),
            ("UTC", "2026-10-15", "2026-11-02", "day"),
            ("UTC", "2026-10-01", "2026-11-02", "week"),
            ("UTC", "2026-07-01", "2026-11-02", "week"),
            ("UTC", "2026-10-15", "2026-11-02", "month"),
        ]
        for (tz, from, to, interval) in cases {
            let params = ["site_id": "tz", "period": "custom", "date_from": from, "date_to": to, "interval": interval,
                          "metrics": "visitors,pageviews,sessions,bounces,visit_duration,events"]
            let r = try StatsAPIRequest.parse(params, timezone: tz, now: 1_800_000_000_000)
            let a = try db.queries.statsAPI(r), b = try ch.queries.statsAPI(r)
            XCTAssertEqual(String(decoding: b, as: UTF8.self), String(decoding: a, as: UTF8.self), "\(tz) \(interval)")
        }
    }
}
