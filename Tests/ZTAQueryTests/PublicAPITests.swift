import XCTest
import ZTAStorage
import ZTAQuery

/// Uses only the public API (plain import), as the engine and CLI will.
final class PublicAPITests: XCTestCase {
    func testEntryPointsArePublic() throws {
        let engine = QueryEngine(source: InMemoryEventSource(chunksBySite: [:]), threads: 2)
        let now: Int64 = 1_773_000_000_000
        let api = try StatsAPIRequest.parse(["site_id": "s", "period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-02"],
                                            timezone: "Europe/Berlin", now: now)
        let body = String(decoding: try engine.statsAPI(api), as: UTF8.self)
        XCTAssertTrue(body.hasPrefix(#"{"results":[{"date":"2026-03-01","visitors":0,"pageviews":0},{"date":"2026-03-02""#), body)
        XCTAssertFalse(try engine.explain(api).isEmpty)
        _ = try engine.dashboard(try DashboardRequest.parse(["siteId": "s"], timezone: "UTC", now: now))
        _ = try engine.export(try ExportRequest.parse(["siteId": "s", "type": "pageviews"], timezone: "UTC", now: now))
        var streamed: [UInt8] = []
        try engine.exportStream(try ExportRequest.parse(["siteId": "s", "format": "csv", "type": "summary", "period": "7d"], timezone: "UTC", now: now)) {
            streamed += $0
        }
        XCTAssertTrue(String(decoding: streamed, as: UTF8.self).hasPrefix("date,pageviews,unique_visitors,sessions,bounces,bounce_rate,avg_time_on_page,visit_duration\r\n"))
        XCTAssertEqual(String(decoding: streamed, as: UTF8.self).components(separatedBy: "\r\n").count, 1 + 7 + 1)
        let heat = try HeatmapRequest.parse(["siteId": "s", "path": "/", "type": "click"], kind: HeatmapKind.fromCLIType("click"), timezone: "UTC", now: now)
        do {
            _ = try engine.heatmap(heat)
            XCTFail("expected 404")
        } catch let e as QueryError {
            XCTAssertEqual(e.status, 404)
            XCTAssertEqual(e.message, "No heatmap data found for this page")
        }
        let rage = try HeatmapRequest.parse(["siteId": "s", "path": "/"], kind: .rageClicks, timezone: "UTC", now: now)
        XCTAssertEqual(String(decoding: try engine.heatmap(rage), as: UTF8.self), #"{"path":"/","period":"7d","rageClicks":[]}"#)
        let pages = try HeatmapRequest.parse(["siteId": "s"], kind: .pages, timezone: "UTC", now: now)
        XCTAssertEqual(String(decoding: try engine.heatmap(pages), as: UTF8.self), #"{"pages":[]}"#)
        XCTAssertEqual(QueryError(message: "x").status, 400)
    }
}
