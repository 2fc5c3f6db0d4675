import ZTAWorkloads
import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
@testable import ZTAQuery
import ZTATestSupport

/// Seeded property tests: random sessions (crossing bucket boundaries, ts ties, empty strings,
/// DST zones) and random stats-api queries (filters of both kinds, wildcards, `!=`, every
/// property and interval); the vectorized engine must equal the naive reference.
final class PropertyTests: XCTestCase {
    static let paths = ["/", "/pricing", "/blog/a", "/blog/b", "/docs/x", "/docs/y", "", "/über"]
    static let referrers = ["", "google.com", "news.ycombinator.com", "github.com", "t.co"]
    static let countries = ["US", "DE", "", "FR"]
    static let regions = ["US-CA", "DE-BY", "", "FR-75"]
    static let devices = ["desktop", "mobile", "tablet", ""]
    static let browsers = ["Chrome", "Safari", "Firefox", ""]
    static let oses = ["Windows", "macOS", "iOS", ""]
    static let names = ["Signup", "Add to Cart", "Outbound Link: Click", ""]
    static let utmSources = ["", "newsletter", "google", "bing"]
    static let utmMediums = ["", "cpc", "email", "social"]
    static let campaigns = ["", "brand_a", "brand_b", "spring;sale"]

    struct Scenario {
        let tz: String
        let from: CivilDate
        let to: CivilDate
    }

    static let scenarios = [
        Scenario(tz: "America/Los_Angeles", from: CivilDate(year: 2026, month: 3, day: 7), to: CivilDate(year: 2026, month: 3, day: 9)),
        Scenario(tz: "Europe/Berlin", from: CivilDate(year: 2026, month: 3, day: 28), to: CivilDate(year: 2026, month: 3, day: 30)),
        Scenario(tz: "America/Los_Angeles", from: CivilDate(year: 2026, month: 10, day: 31), to: CivilDate(year: 2026, month: 11, day: 2)),
        Scenario(tz: "Europe/Berlin", from: CivilDate(year: 2026, month: 10, day: 24), to: CivilDate(year: 2026, month: 10, day: 26)),
        Scenario(tz: "UTC", from: CivilDate(year: 2026, month: 2, day: 26), to: CivilDate(year: 2026, month: 3, day: 3)),
    ]

    static func pick<T>(_ a: [T], _ rng: inout SplitMix64) -> T { a[Int(rng.next() % UInt64(a.count))] }

    /// Random events of `site` around the window (some outside it), sessions with several visitors rarely.
    static func randomEvents(_ rng: inout SplitMix64, site: String, from: Int64, to: Int64, sessions: Int) -> [EventRecord] {
        var out: [EventRecord] = []
        let span = to - from
        let visitorPool = (0..<max(3, sessions / 2)).map { _ in rng.next() }
        for _ in 0..<sessions {
            let sid = rng.next()
            var visitor = pick(visitorPool, &rng)
            var t = from - 3_600_000 + Int64(rng.next() % UInt64(span + 7_200_000))
            var country = pick(countries, &rng)
            let device = pick(devices, &rng), browser = pick(browsers, &rng), os = pick(oses, &rng)
            let n = 1 + Int(rng.next() % 9)
            var first = true
            for _ in 0..<n {
                var r = EventRecord()
                r.site = site
                r.session = sid
                // Rarely a session changes visitor (daily salt rotation).
                if rng.next() % 25 == 0 { visitor = pick(visitorPool, &rng) }
                r.visitor = visitor
                let roll = rng.next() % 100
                r.type = roll < 40 ? .pageview : roll < 50 ? .event : roll < 65 ? .engagement : roll < 75 ? .heartbeat
                    : roll < 88 ? .click : roll < 95 ? .scroll : .move
                r.ts = t
                r.path = pick(paths, &rng)
                // Pageviews tied on ts within a session have distinct paths (events.md leaves equal
                // (ts, path) ties open).
                if r.type == .pageview {
                    while out.contains(where: { $0.session == sid && $0.type == .pageview && $0.ts == t && $0.path == r.path }) {
                        r.path = pick(paths, &rng) + "/t"
                    }
                }
                r.device = device; r.browser = browser; r.os = os
                if rng.next() % 6 == 0 { country = pick(countries, &rng) }
                r.country = country
                r.region = pick(regions, &rng)
                if r.type == .pageview && (first || rng.next() % 5 == 0) {
                    r.referrer = pick(referrers, &rng)
                    r.utmSource = pick(utmSources, &rng)
                    r.utmMedium = pick(utmMediums, &rng)
                    r.utmCampaign = pick(campaigns, &rng)
                    r.channel = referenceChannel(referrer: r.referrer, utmSource: r.utmSource, utmMedium: r.utmMedium)
                    first = false
                }
                if r.type == .event { r.name = pick(names, &rng) }
                if r.type == .engagement { r.timeOnPage = Int32(rng.next() % 4 == 0 ? 0 : rng.next() % 300) }
                out.append(r)
                // Gaps: ties (0), seconds, minutes, or over an hour (crosses buckets).
                let g = rng.next() % 10
                t += g < 2 ? 0 : g < 6 ? Int64(rng.next() % 60_000) : g < 9 ? Int64(rng.next() % 1_800_000) : Int64(rng.next() % 7_200_000)
            }
        }
        return out
    }

    static let filterProps = ["page", "source", "referrer", "channel", "country", "region", "device", "browser", "os",
                              "utm_source", "utm_medium", "utm_campaign", "event_name"]

    static func vocabulary(_ p: String) -> [String] {
        switch p {
        case "page": paths
        case "source": referrers.map { $0.isEmpty ? "(direct)" : $0 }
        case "referrer": referrers
        case "channel": ["direct", "organic", "referral", "social", "paid", "email"]
        case "country": countries
        case "region": regions
        case "device": devices
        case "browser": browsers
        case "os": oses
        case "utm_source": utmSources
        case "utm_medium": utmMediums
        case "utm_campaign": campaigns
        default: names
        }
    }

    static func randomPattern(_ p: String, _ rng: inout SplitMix64) -> String {
        var v = pick(vocabulary(p).filter { !$0.isEmpty }, &rng)
        switch rng.next() % 5 {
        case 0: v = String(v.prefix(2)) + "*"
        case 1: v = "*" + String(v.suffix(2))
        case 2: v = "*" + String(v.dropFirst().prefix(2)) + "*"
        default: break
        }
        return v
    }

    static func randomFilters(_ rng: inout SplitMix64) -> [Reference.FilterSpec] {
        (0..<Int(rng.next() % 4)).map { _ in
            let p = pick(filterProps, &rng)
            let pats = (0..<(1 + Int(rng.next() % 2))).map { _ in randomPattern(p, &rng) }
            return Reference.FilterSpec(property: p, negated: rng.next() % 3 == 0, patterns: pats)
        }
    }

    func testEngineMatchesReference() throws {
        var rng = SplitMix64(seed: 0x5EED_2026)
        let allMetrics = ["visitors", "pageviews", "sessions", "bounces", "bounce_rate", "visit_duration",
                          "views_per_visit", "events", "avg_time_on_page"]
        let properties: [String?] = [nil, nil, nil, "page", "entry_page", "source", "referrer", "channel", "country", "region",
                                     "device", "browser", "os", "utm_source", "utm_medium", "utm_campaign", "event_name"]
        var checked = 0
        for (si, sc) in Self.scenarios.enumerated() {
            let tz = SiteTimeZone(sc.tz)!
            let from = tz.startOfDay(sc.from), to = tz.startOfDay(sc.to.adding(days: 1))
            for dataset in 0..<3 {
                var records = Self.randomEvents(&rng, site: "s", from: from, to: to, sessions: 40 + Int(rng.next() % 160))
                records += Self.randomEvents(&rng, site: "other", from: from, to: to, sessions: 10)
                let mine = records.filter { $0.site == "s" }
                let chunks = makeChunks(mine, rng: &rng, pieces: 1 + Int(rng.next() % 5))
                let source = InMemoryEventSource(chunksBySite: ["s": chunks, "other": makeChunks(records.filter { $0.site == "other" }, rng: &rng)])
                let engines = [QueryEngine(source: source, threads: 1), QueryEngine(source: source, threads: 2), QueryEngine(source: source, threads: 3)]
                for qi in 0..<40 {
                    let property = Self.pick(properties, &rng)
                    let interval = Self.pick(["hour", "day", "week", "month"], &rng)
                    let filters = Self.randomFilters(&rng)
                    var metrics = allMetrics.shuffled(using: &rng)
                    metrics = Array(metrics.prefix(1 + Int(rng.next() % 9)))
                    if rng.next() % 8 == 0 { metrics.insert("visits", at: 1) }
                    let limit = 1 + Int(rng.next() % 20), offset = Int(rng.next() % 3)
                    var params = ["site_id": "s", "period": "custom", "date_from": sc.from.description, "date_to": sc.to.description,
                                  "metrics": metrics.joined(separator: ",")]
                    if let property { params["property"] = property; params["limit"] = "\(limit)"; params["offset"] = "\(offset)" } else { params["interval"] = interval }
                    if !filters.isEmpty { params["filters"] = filters.map(\.text).joined(separator: ";") }
                    let req = try StatsAPIRequest.parse(params, timezone: sc.tz, now: 0)
                    let expected = Reference.statsAPI(mine, from: from, to: to, tz: TimeZone(identifier: sc.tz)!, filters: filters,
                                                      property: property, interval: interval, metrics: metrics,
                                                      limit: property == nil ? .max : limit, offset: property == nil ? 0 : offset)
                    for engine in engines {
                        let body = try parseJSON(try engine.statsAPI(req)) as! [String: Any]
                        let results = body["results"] as! [[String: Any]]
                        var diffs: [String] = []
                        compareJSON(expected, results, "results", &diffs)
                        // Same keys both ways (compareJSON looks only at the expected keys).
                        for (e, a) in zip(expected, results) where Set(e.keys) != Set(a.keys) { diffs.append("keys \(a.keys) vs \(e.keys)") }
                        if !diffs.isEmpty {
                            if let property {
                                let g = Reference.evaluate(mine, from: from, to: to, filters: filters, property: property)
                                for (k, a) in g { print("REF", k, a.sessions, a.spv, a.pageviews, a.bounces) }
                                print(String(decoding: try engine.statsAPI(req), as: UTF8.self))
                                let ex = AggregateExecutor(plan: AggregatePlan(req.aggregateQuery), threads: 1)
                                for row in try ex.run(source: source).breakdowns.values.first! { print("ENG", row.value, row.acc) }
                            }
                            XCTFail("scenario \(si) dataset \(dataset) query \(qi) threads \(engine.threads) \(params):\n  " + diffs.prefix(10).joined(separator: "\n  "))
                            return
                        }
                    }
                    checked += 1
                }
            }
        }
        print("property test: \(checked) random queries matched the reference (×3 thread counts)")
    }

    /// The dashboard's panels agree with the stats-api answers for the same filters.
    func testDashboardMatchesStatsAPI() throws {
        var rng = SplitMix64(seed: 77)
        let sc = Self.scenarios[1]
        let tz = SiteTimeZone(sc.tz)!
        let from = tz.startOfDay(sc.from), to = tz.startOfDay(sc.to.adding(days: 1))
        let records = Self.randomEvents(&rng, site: "s", from: from, to: to, sessions: 300)
        let source = InMemoryEventSource(chunksBySite: ["s": makeChunks(records, rng: &rng)])
        let engine = QueryEngine(source: source, threads: 2)
        for filters in ["", "country==DE|US", "page==/blog/*", "device!=tablet;page!=/"] {
            let base = ["startDate": sc.from.description, "endDate": sc.to.description, "filters": filters]
            let dash = try parseJSON(try engine.dashboard(try DashboardRequest.parse(base.merging(["siteId": "s"]) { $1 }, timezone: sc.tz, now: 0))) as! [String: Any]
            let api = ["site_id": "s", "period": "custom", "date_from": sc.from.description, "date_to": sc.to.description, "filters": filters]
            func stats(_ extra: [String: String]) throws -> [[String: Any]] {
                let r = try StatsAPIRequest.parse(api.merging(extra) { $1 }, timezone: sc.tz, now: 0)
                return (try parseJSON(try engine.statsAPI(r)) as! [String: Any])["results"] as! [[String: Any]]
            }
            let total = try stats(["interval": "month", "metrics": "pageviews,visitors,sessions,events"])
            let summary = dash["summary"] as! [String: Any]
            // The window lies within one month here, so the month series is the summary.
            XCTAssertEqual(total.count, 1)
            XCTAssertEqual(summary["pageviews"] as? Int, total[0]["pageviews"] as? Int)
            XCTAssertEqual(summary["uniqueVisitors"] as? Int, total[0]["visitors"] as? Int)
            XCTAssertEqual(summary["sessions"] as? Int, total[0]["sessions"] as? Int)
            let days = try stats(["interval": "day", "metrics": "pageviews,visitors"])
            let ts = dash["timeseries"] as! [[String: Any]]
            XCTAssertEqual(ts.count, days.count)
            for (a, b) in zip(ts, days) {
                XCTAssertEqual(a["date"] as? String, b["date"] as? String)
                XCTAssertEqual(a["pageviews"] as? Int, b["pageviews"] as? Int)
                XCTAssertEqual(a["uniqueVisitors"] as? Int, b["visitors"] as? Int)
            }
            let pages = try stats(["property": "page", "metrics": "pageviews,visitors", "limit": "10"])
            let top = dash["topPages"] as! [[String: Any]]
            XCTAssertEqual(top.map { $0["path"] as! String }, pages.map { $0["page"] as! String })
            let sources = try stats(["property": "source", "metrics": "sessions", "limit": "10"])
            XCTAssertEqual((dash["topReferrers"] as! [[String: Any]]).map { $0["domain"] as! String }, sources.map { $0["source"] as! String })
        }
    }
}
