import XCTest
@testable import ZTAQuery

/// Filter grammar, period/interval parsing and their api.md error messages, buckets across DST,
/// rounding half away from zero, JSON writing.
final class ParserTests: XCTestCase {
    func error(_ body: () throws -> Void) -> QueryError? {
        do { try body(); return nil } catch { return error as? QueryError }
    }

    // MARK: filters

    func testFilterGrammar() throws {
        let f = try FilterParser.parse("page==/blog/*|/docs/*;country!=US|CA;source==(direct)")
        XCTAssertEqual(f.count, 3)
        XCTAssertEqual(f[0].dimension, .page)
        XCTAssertFalse(f[0].negated)
        XCTAssertTrue(f[0].matches("/blog/x"))
        XCTAssertTrue(f[0].matches("/docs/"))
        XCTAssertFalse(f[0].matches("/pricing"))
        XCTAssertFalse(f[0].matches("/Blog/x"), "case-sensitive")
        XCTAssertEqual(f[1].dimension, .country)
        XCTAssertTrue(f[1].negated)
        XCTAssertFalse(f[1].matches("US"))
        XCTAssertTrue(f[1].matches("DE"))
        XCTAssertTrue(f[1].matches(""))
        XCTAssertTrue(f[2].matches(""), "(direct) = empty referrer in source")
        XCTAssertFalse(f[2].matches("google.com"))
        // referrer treats (direct) literally.
        let r = try FilterParser.parse("referrer==(direct)")
        XCTAssertFalse(r[0].matches(""))
        XCTAssertTrue(r[0].matches("(direct)"))
        XCTAssertEqual(try FilterParser.parse("").count, 0)
    }

    func testWildcards() throws {
        func m(_ p: String, _ v: String) throws -> Bool { try FilterParser.parse("page==" + p)[0].matches(v) }
        XCTAssertTrue(try m("*", ""))
        XCTAssertTrue(try m("*", "/anything"))
        XCTAssertTrue(try m("/a*b", "/ab"))
        XCTAssertTrue(try m("/a*b", "/axxb"))
        XCTAssertFalse(try m("/a*b", "/axxbc"))
        XCTAssertTrue(try m("*x*y*", "axbyc"))
        XCTAssertFalse(try m("*x*y*", "aybxc"))
        XCTAssertTrue(try m("a**b", "ab"))
        XCTAssertFalse(try m("aa*aa", "aaa"), "prefix and suffix may not overlap")
        XCTAssertTrue(try m("aa*aa", "aaaa"))
        XCTAssertTrue(try m("/über*", "/über/x"), "bytes, not characters")
    }

    func testEscapes() throws {
        let f = try FilterParser.parse(#"utm_campaign==spring\;sale|a\|b|star\*|back\\slash;page==/x"#)
        XCTAssertEqual(f.count, 2)
        XCTAssertTrue(f[0].matches("spring;sale"))
        XCTAssertTrue(f[0].matches("a|b"))
        XCTAssertTrue(f[0].matches("star*"))
        XCTAssertFalse(f[0].matches("starry"), "an escaped star is literal")
        XCTAssertTrue(f[0].matches(#"back\slash"#))
        XCTAssertEqual(f[1].dimension, .page)
    }

    func testFilterErrors() {
        XCTAssertEqual(error { _ = try FilterParser.parse("page") }?.message, "Invalid filter: page")
        XCTAssertEqual(error { _ = try FilterParser.parse("page=/x") }?.message, "Invalid filter: page=/x")
        XCTAssertEqual(error { _ = try FilterParser.parse("page==") }?.message, "Invalid filter: page==")
        XCTAssertEqual(error { _ = try FilterParser.parse("page==/a||/b") }?.message, "Invalid filter: page==/a||/b")
        XCTAssertEqual(error { _ = try FilterParser.parse(#"page==/a\x"#) }?.message, #"Invalid filter: page==/a\x"#)
        XCTAssertEqual(error { _ = try FilterParser.parse(#"page==/a\"#) }?.message, #"Invalid filter: page==/a\"#)
        XCTAssertEqual(error { _ = try FilterParser.parse("page==/a;;country==US") }?.message, "Invalid filter: ")
        XCTAssertEqual(error { _ = try FilterParser.parse("==x") }?.message, "Invalid filter: ==x")
        XCTAssertEqual(error { _ = try FilterParser.parse("entry_page==/") }?.message, "Invalid filter property: entry_page")
        XCTAssertEqual(error { _ = try FilterParser.parse("country==US;colour==red") }?.message, "Invalid filter property: colour")
        XCTAssertEqual(error { _ = try FilterParser.parse("page==/a;colour") }?.message, "Invalid filter: colour")
    }

    // MARK: stats-api parameters

    let now: Int64 = Periods.parseRFC3339("2026-03-15T10:30:00Z")!

    func parse(_ p: [String: String], tz: String = "UTC") throws -> StatsAPIRequest {
        try StatsAPIRequest.parse(p, timezone: tz, now: now)
    }

    func testStatsAPIErrors() {
        XCTAssertEqual(error { _ = try parse([:]) }?.message, "site_id parameter is required")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "week"]) }?.message,
                       "Invalid period. Must be one of: realtime, 24h, day, 7d, 30d, 90d, 365d, 6mo, 12mo, custom")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "custom", "date_from": "2026-03-01"]) }?.message,
                       "date_from and date_to are required for custom period")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "custom", "date_from": "2026-3-1", "date_to": "2026-03-02"]) }?.message,
                       "Invalid date format. Use YYYY-MM-DD")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "custom", "date_from": "1999-12-31", "date_to": "2026-03-02"]) }?.message,
                       "Invalid date format. Use YYYY-MM-DD")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "custom", "date_from": "2026-02-30", "date_to": "2026-03-02"]) }?.message,
                       "Invalid date format. Use YYYY-MM-DD")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "custom", "date_from": "2026-03-03", "date_to": "2026-03-02"]) }?.message,
                       "date_from must not be after date_to")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "date": "yesterday"]) }?.message, "Invalid date reference")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "metrics": "visitors,foo"]) }?.message, "Invalid metric: foo")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "property": "city"]) }?.message,
                       "Invalid property. Must be one of: page, entry_page, source, referrer, channel, country, region, device, browser, os, utm_source, utm_medium, utm_campaign, event_name")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "filters": "city==x"]) }?.message, "Invalid filter property: city")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "interval": "minute"]) }?.message, "Invalid interval")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "365d", "interval": "hour"]) }?.message, "Too many buckets for this interval")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "property": "page", "limit": "0"]) }?.message, "Invalid limit")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "property": "page", "limit": "1001"]) }?.message, "Invalid limit")
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "property": "page", "offset": "-1"]) }?.message, "Invalid offset")
        // First failure wins: period before metrics.
        XCTAssertEqual(error { _ = try parse(["site_id": "s", "period": "x", "metrics": "foo"]) }?.message.hasPrefix("Invalid period"), true)
    }

    func testStatsAPIDefaults() throws {
        let r = try parse(["site_id": "s", "metrics": "visits,sessions,pageviews,visits"])
        XCTAssertEqual(r.metrics, [.sessions, .pageviews], "duplicates dropped, visits = sessions")
        XCTAssertEqual(r.window.period, "7d")
        XCTAssertEqual(r.buckets?.count, 7)
        XCTAssertEqual(r.buckets?.labels.first, "2026-03-09")
        XCTAssertEqual(r.buckets?.labels.last, "2026-03-15")
        XCTAssertEqual(try parse(["site_id": "s"]).metrics, [.visitors, .pageviews])
        XCTAssertEqual(try parse(["site_id": "s", "property": "page"]).limit, 100)
    }

    func testPeriods() throws {
        func window(_ p: [String: String], tz: String = "UTC") throws -> (String, String) {
            let r = try parse(p.merging(["site_id": "s"]) { $1 }, tz: tz)
            return (r.window.timeZone.rfc3339(r.window.from), r.window.timeZone.rfc3339(r.window.to))
        }
        XCTAssertEqual(try window(["period": "day"]).0, "2026-03-15T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "day"]).1, "2026-03-16T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "24h"]).0, "2026-03-14T11:00:00+00:00")
        XCTAssertEqual(try window(["period": "24h"]).1, "2026-03-15T11:00:00+00:00")
        XCTAssertEqual(try window(["period": "30d"]).0, "2026-02-14T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "6mo"]).0, "2025-10-01T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "6mo"]).1, "2026-04-01T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "12mo"]).0, "2025-04-01T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "realtime"]).0, "2026-03-15T10:25:00+00:00")
        // `date` reference: a local date means its last ms.
        XCTAssertEqual(try window(["period": "day", "date": "2026-03-08"], tz: "America/Los_Angeles").0, "2026-03-08T00:00:00-08:00")
        XCTAssertEqual(try window(["period": "day", "date": "2026-03-08"], tz: "America/Los_Angeles").1, "2026-03-09T00:00:00-07:00")
        XCTAssertEqual(try window(["period": "7d", "date": "2026-03-01T12:00:00+01:00"]).0, "2026-02-23T00:00:00+00:00")
        XCTAssertEqual(try window(["period": "custom", "date_from": "2026-03-29", "date_to": "2026-03-29"], tz: "Europe/Berlin").1,
                       "2026-03-30T00:00:00+02:00")
        // Default intervals.
        XCTAssertEqual(try parse(["site_id": "s", "period": "24h"]).buckets?.interval, .hour)
        XCTAssertEqual(try parse(["site_id": "s", "period": "day"]).buckets?.count, 24)
        XCTAssertEqual(try parse(["site_id": "s", "period": "12mo"]).buckets?.interval, .month)
        XCTAssertEqual(try parse(["site_id": "s", "period": "12mo"]).buckets?.count, 12)
        XCTAssertNil(try parse(["site_id": "s", "period": "realtime"]).buckets)
    }

    func testDashboardAndHeatmapErrors() {
        XCTAssertEqual(error { _ = try DashboardRequest.parse([:], timezone: "UTC", now: self.now) }?.message, "Site ID required")
        XCTAssertEqual(error { _ = try DashboardRequest.parse(["siteId": "s", "startDate": "2026-03-01"], timezone: "UTC", now: self.now) }?.message,
                       "Both startDate and endDate are required")
        XCTAssertEqual(error { _ = try DashboardRequest.parse(["siteId": "s", "startDate": "2026-03-02", "endDate": "2026-03-01"], timezone: "UTC", now: self.now) }?.message,
                       "startDate must not be after endDate")
        XCTAssertEqual(error { _ = try DashboardRequest.parse(["siteId": "s", "period": "realtime"], timezone: "UTC", now: self.now) }?.message,
                       "Invalid period. Must be one of: 24h, day, 7d, 30d, 90d, 365d, 6mo, 12mo, custom")
        XCTAssertEqual(error { _ = try HeatmapRequest.parse(["siteId": "s"], kind: .heatmap, timezone: "UTC", now: self.now) }?.message,
                       "Site ID and path are required")
        XCTAssertEqual(error { _ = try HeatmapRequest.parse(["siteId": "s", "path": "/", "type": "hover"], kind: .heatmap, timezone: "UTC", now: self.now) }?.message,
                       "Invalid heatmap type. Must be: click, scroll, move, or attention")
        XCTAssertEqual(error { _ = try HeatmapRequest.parse(["siteId": "s", "path": "/", "type": "click", "device": "tv"], kind: .heatmap, timezone: "UTC", now: self.now) }?.message,
                       "Invalid device")
        XCTAssertEqual(error { _ = try HeatmapRequest.parse(["siteId": "s", "path": "/", "type": "click", "limit": "10001"], kind: .heatmap, timezone: "UTC", now: self.now) }?.message,
                       "Invalid limit")
        XCTAssertEqual(error { _ = try HeatmapRequest.parse(["siteId": "s", "path": "/", "limit": "51"], kind: .elements, timezone: "UTC", now: self.now) }?.message,
                       "Invalid limit")
        XCTAssertEqual(error { _ = try ExportRequest.parse(["siteId": "s", "type": "raw"], timezone: "UTC", now: self.now) }?.message, "Invalid type")
        XCTAssertEqual(error { _ = try ExportRequest.parse(["siteId": "s", "format": "xml"], timezone: "UTC", now: self.now) }?.message, "Invalid format")
        XCTAssertEqual(error { _ = try ExportRequest.parse(["siteId": "s", "limit": "0"], timezone: "UTC", now: self.now) }?.message, "Invalid limit")
        XCTAssertNil(error { _ = try ExportRequest.parse(["siteId": "s", "limit": "0", "format": "csv"], timezone: "UTC", now: self.now) })
    }

    // MARK: buckets across DST

    func buckets(_ tz: String, _ from: String, _ to: String, _ i: Interval) throws -> Bucketing {
        try parse(["site_id": "s", "period": "custom", "date_from": from, "date_to": to, "interval": i.rawValue], tz: tz).buckets!
    }

    func testHourBucketsSpringForward() throws {
        let b = try buckets("America/Los_Angeles", "2026-03-08", "2026-03-08", .hour)
        XCTAssertEqual(b.count, 23)
        XCTAssertEqual(b.labels[0], "2026-03-08T00:00:00-08:00")
        XCTAssertEqual(b.labels[1], "2026-03-08T01:00:00-08:00")
        XCTAssertEqual(b.labels[2], "2026-03-08T03:00:00-07:00")
        XCTAssertEqual(b.labels[22], "2026-03-08T23:00:00-07:00")
        for k in 0..<b.count { XCTAssertEqual(b.boundaries[k + 1] - b.boundaries[k], 3_600_000) }
        let g = try buckets("Europe/Berlin", "2026-03-29", "2026-03-29", .hour)
        XCTAssertEqual(g.count, 23)
        XCTAssertEqual(g.labels[2], "2026-03-29T03:00:00+02:00")
    }

    func testHourBucketsFallBack() throws {
        let b = try buckets("America/Los_Angeles", "2026-11-01", "2026-11-01", .hour)
        XCTAssertEqual(b.count, 25)
        XCTAssertEqual(b.labels[1], "2026-11-01T01:00:00-07:00")
        XCTAssertEqual(b.labels[2], "2026-11-01T01:00:00-08:00", "the repeated hour appears twice")
        XCTAssertEqual(b.labels[24], "2026-11-01T23:00:00-08:00")
        let u = try buckets("UTC", "2026-03-01", "2026-03-01", .hour)
        XCTAssertEqual(u.labels[5], "2026-03-01T05:00:00+00:00", "+00:00, not Z")
    }

    func testHalfHourZoneHours() throws {
        let b = try buckets("Asia/Kolkata", "2026-03-01", "2026-03-01", .hour)
        XCTAssertEqual(b.count, 24)
        XCTAssertEqual(b.labels[1], "2026-03-01T01:00:00+05:30")
        XCTAssertEqual(b.boundaries[0] % 3_600_000, 1_800_000)
    }

    func testDayWeekMonthBuckets() throws {
        let d = try buckets("America/Los_Angeles", "2026-03-07", "2026-03-09", .day)
        XCTAssertEqual(d.labels, ["2026-03-07", "2026-03-08", "2026-03-09"])
        XCTAssertEqual(d.boundaries[2] - d.boundaries[1], 23 * 3_600_000, "spring-forward day lasts 23 h")
        let w = try buckets("UTC", "2026-03-04", "2026-03-17", .week)
        XCTAssertEqual(w.labels, ["2026-03-02", "2026-03-09", "2026-03-16"], "clipped weeks keep their Monday")
        XCTAssertEqual(w.boundaries[0], Periods.parseRFC3339("2026-03-04T00:00:00Z")!)
        let m = try buckets("Europe/Berlin", "2026-02-15", "2026-04-15", .month)
        XCTAssertEqual(m.labels, ["2026-02-01", "2026-03-01", "2026-04-01"])
        XCTAssertEqual(m.boundaries[1], Periods.parseRFC3339("2026-03-01T00:00:00+01:00")!)
        XCTAssertEqual(m.boundaries[2], Periods.parseRFC3339("2026-04-01T00:00:00+02:00")!)
    }

    func testMidnightGapZone() throws {
        // America/Santiago moves clocks at 24:00 (no local midnight on some days).
        let tz = SiteTimeZone("America/Santiago")!
        let start = tz.startOfDay(CivilDate(year: 2026, month: 9, day: 6))
        XCTAssertEqual(tz.date(at: start), CivilDate(year: 2026, month: 9, day: 6))
        XCTAssertNotEqual(tz.date(at: start - 1), CivilDate(year: 2026, month: 9, day: 6))
    }

    // MARK: rounding and JSON

    func testRoundingHalfAwayFromZero() {
        XCTAssertEqual(Rounding.divide(5, 2), 3)
        XCTAssertEqual(Rounding.divide(-5, 2), -3)
        XCTAssertEqual(Rounding.divide(7, 2), 4)
        XCTAssertEqual(Rounding.divide(1, 3), 0)
        XCTAssertEqual(Rounding.divide(2, 3), 1)
        XCTAssertEqual(Rounding.divide(1, 0), 0)
        XCTAssertEqual(Rounding.fixed(1, 8, times: 100, decimals: 1), 125, "12.5 stays 12.5")
        XCTAssertEqual(Rounding.fixed(1, 16, times: 100, decimals: 1), 63, "6.25 → 6.3")
        XCTAssertEqual(Rounding.fixed(77, 32, times: 1, decimals: 2), 241, "2.40625 → 2.41")
        XCTAssertEqual(Rounding.fixed(483, 200, times: 1, decimals: 2), 242, "2.415 → 2.42")
        XCTAssertEqual(Rounding.fixed(0.05, decimals: 1), 1)
        XCTAssertEqual(Rounding.fixed(17.15, decimals: 1), 172)
        XCTAssertEqual(Rounding.fixed(-2.5, decimals: 0), -3)
        XCTAssertEqual(compareRatio(1, 3, 2, 6), 0)
        XCTAssertEqual(compareRatio(1, 3, 1, 2), -1)
        XCTAssertEqual(compareRatio(0, 0, 0, 5), 0)
        XCTAssertEqual(compareRatio(1, 0, 0, 5), 0, "no sessions = 0")
    }

    func testJSONWriter() throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("s"); w.string("a\"b\\c\n\u{01}é😀")
        w.key("i"); w.int(-42)
        w.key("f"); w.fixed(412, decimals: 1)
        w.key("g"); w.fixed(5, decimals: 2)
        w.key("h"); w.fixed(200, decimals: 2)
        w.key("z"); w.fixed(0, decimals: 1)
        w.key("a"); w.beginArray(); w.int(1); w.bool(true); w.null(); w.endArray()
        w.endObject()
        let text = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertEqual(text, #"{"s":"a\"b\\c\n\u0001é😀","i":-42,"f":41.2,"g":0.05,"h":2.0,"z":0.0,"a":[1,true,null]}"#)
        let o = try parseJSON(w.bytes) as! [String: Any]
        XCTAssertEqual(o["s"] as? String, "a\"b\\c\n\u{01}é😀")
    }
}
