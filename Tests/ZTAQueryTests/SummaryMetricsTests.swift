import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
import ZTAWorkloads
@testable import ZTAQuery

/// The typed summary (`QueryEngine.summary`, `summaries`) against the dashboard JSON it feeds
/// and against one query per window.
final class SummaryMetricsTests: XCTestCase {
    static let site = "s"

    /// Random events over the scenario's days (the property tests' generator), split into chunks.
    static func source(seed: UInt64, from: Int64, to: Int64, sessions: Int) -> InMemoryEventSource {
        var rng = SplitMix64(seed: seed)
        let events = PropertyTests.randomEvents(&rng, site: site, from: from, to: to, sessions: sessions)
        return InMemoryEventSource(chunksBySite: [site: makeChunks(events, rng: &rng)])
    }

    /// For random data, periods, filters and thread counts, `summary` equals the `summary`
    /// object of `GET /api/stats` for the same request, key by key.
    func testSummaryEqualsDashboardJSON() throws {
        var rng = SplitMix64(seed: 0xA1E7)
        for (n, sc) in PropertyTests.scenarios.enumerated() {
            let tz = try XCTUnwrap(SiteTimeZone(sc.tz))
            let from = tz.startOfDay(sc.from), to = tz.startOfDay(sc.to.adding(days: 1))
            let src = Self.source(seed: UInt64(n) &+ 77, from: from, to: to, sessions: 150)
            for round in 0..<6 {
                var params = ["siteId": Self.site, "startDate": sc.from.description, "endDate": sc.to.description]
                let specs = PropertyTests.randomFilters(&rng)
                if round % 2 == 1 {
                    params["filters"] = specs.map(\.text).joined(separator: ";")
                }
                let req = try DashboardRequest.parse(params, timezone: sc.tz, now: to)
                let engine = QueryEngine(source: src, threads: 1 + round % 3)
                let typed = try engine.summary(site: req.siteId, window: req.window, filters: req.filters)
                let json = try XCTUnwrap(try parseJSON(try engine.dashboard(req)) as? [String: Any])
                let summary = try XCTUnwrap(json["summary"] as? [String: Any])
                let ctx = "\(sc.tz) round \(round) filters \(params["filters"] ?? "")"
                XCTAssertEqual((summary["pageviews"] as? NSNumber)?.int64Value, typed.pageviews, ctx)
                XCTAssertEqual((summary["uniqueVisitors"] as? NSNumber)?.int64Value, typed.uniqueVisitors, ctx)
                XCTAssertEqual((summary["sessions"] as? NSNumber)?.int64Value, typed.sessions, ctx)
                XCTAssertEqual((summary["events"] as? NSNumber)?.int64Value, typed.events, ctx)
                XCTAssertEqual((summary["bounceRate"] as? NSNumber)?.doubleValue, typed.bounceRate, ctx)
                XCTAssertEqual((summary["avgSessionDuration"] as? NSNumber)?.int64Value, typed.avgSessionDuration, ctx)
                XCTAssertEqual((summary["avgTimeOnPage"] as? NSNumber)?.int64Value, typed.avgTimeOnPage, ctx)
                XCTAssertEqual((summary["viewsPerVisit"] as? NSNumber)?.doubleValue, typed.viewsPerVisit, ctx)
                if round == 0 { XCTAssertGreaterThan(typed.pageviews, 0, "the data must exercise the metrics: \(ctx)") }
            }
        }
    }

    /// `summaries` over disjoint windows (the anomaly rule's 29 hours, and irregular ones with
    /// gaps and adjacent windows) equals one `summary` per window.
    func testSummariesEqualOneQueryPerWindow() throws {
        let tz = try XCTUnwrap(SiteTimeZone("Europe/Berlin"))
        let day: Int64 = 86_400_000, hour: Int64 = 3_600_000
        let now = tz.startOfDay(CivilDate(year: 2026, month: 3, day: 30)) + 11 * hour + 7 * 60_000
        let src = Self.source(seed: 0xD15C, from: now - 30 * day, to: now, sessions: 900)
        let engine = QueryEngine(source: src, threads: 2)
        let anomalyHours = (0...28).reversed().map { k in
            TimeWindow(from: now - Int64(k) * day - hour, to: now - Int64(k) * day, timeZone: tz)
        }
        var rng = SplitMix64(seed: 9)
        var irregular: [TimeWindow] = []
        var t = now - 20 * day
        while t < now {
            let len = 1 + Int64(rng.next() % UInt64(2 * day))
            irregular.append(TimeWindow(from: t, to: min(now, t + len), timeZone: tz))
            t += len + (rng.next() % 2 == 0 ? 0 : Int64(rng.next() % UInt64(day)))  // adjacent or a gap
        }
        for windows in [anomalyHours, irregular] {
            let together = try engine.summaries(site: Self.site, windows: windows)
            XCTAssertEqual(together.count, windows.count)
            var nonEmpty = 0
            for (w, s) in zip(windows, together) {
                let alone = try engine.summary(site: Self.site, window: w)
                XCTAssertEqual(s, alone, "window [\(w.from), \(w.to))")
                if alone.pageviews > 0 { nonEmpty += 1 }
            }
            XCTAssertGreaterThan(nonEmpty, windows.count / 3, "the windows must hold data")
        }
        XCTAssertThrowsError(try engine.summaries(site: Self.site, windows: [anomalyHours[1], anomalyHours[0]]))
    }
}
