import Foundation
import Testing
@testable import ZTAServer
import ZTAQuery
import ZTATestSupport

/// Google Analytics imports (api.md §8): fixture files in `Fixtures/ga/` imported over HTTP, the
/// answers checked against a naive reference written from §8's and E§3/E§4's words.
@Suite("GA imports", .serialized)
struct GAImportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ga")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    // MARK: - The naive reference

    /// A valid data row as the fixture file says it (a hand transcription, country as written).
    struct RefRow {
        var number: Int
        var date: String
        var page: String
        var pageviews: Int?, sessions: Int?, users: Int?
        var source = "", medium = "", country = "", device = ""
    }

    struct RefEvent {
        var date: String, path: String, visitor: String, session: String
        var referrer: String, channel: String, device: String, country: String
    }

    /// The fixtures' country names and their ISO codes (from the ISO 3166-1 list).
    static let isoCodes = ["United States": "US", "Germany": "DE", "United Kingdom": "GB", "Canada": "CA", "Japan": "JP",
                           "Netherlands": "NL", "Brazil": "BR", "Italy": "IT", "Sweden": "SE", "Norway": "NO", "France": "FR"]

    /// §8 in the spec's words: P, S, V with their fallbacks and clamps; session k of visitor k mod V;
    /// pageview i in session i mod S; referrer = source if it has a dot; the medium decides the
    /// channel when it is one of the listed ones, else E§4.
    static func expand(_ rows: [RefRow], importId: String) -> [RefEvent] {
        var out: [RefEvent] = []
        for r in rows {
            let p = r.pageviews ?? r.sessions ?? r.users ?? 0
            var s = min(r.sessions ?? r.users ?? p, p)
            var v = min(r.users ?? s, s)
            if p > 0 { s = max(s, 1); v = max(v, 1) }
            var referrer = r.source.contains(".") ? r.source.lowercased() : ""
            if referrer.hasPrefix("www.") { referrer.removeFirst(4) }
            let none: Set<String> = ["(direct)", "(none)", "(not set)"]
            let utmSource = none.contains(r.source) ? "" : r.source, utmMedium = none.contains(r.medium) ? "" : r.medium
            let channel: String
            switch r.medium {
            case "organic", "referral", "social", "email": channel = r.medium
            case "cpc", "ppc", "paid", "paidsearch", "display", "cpm": channel = "paid"
            default: channel = referenceChannel(referrer: referrer, utmSource: utmSource, utmMedium: utmMedium)
            }
            let device = ["desktop", "mobile", "tablet"].contains(r.device) ? r.device : "desktop"
            for i in 0..<p {
                let k = i % s
                out.append(RefEvent(date: r.date, path: r.page, visitor: "\(importId)|\(r.number)|v\(k % v)",
                                    session: "\(importId)|\(r.number)|s\(k)", referrer: referrer, channel: channel,
                                    device: device, country: isoCodes[r.country] ?? ""))
            }
        }
        return out
    }

    /// What `/api/stats` must say about `events` (E§3; every session is one row's, so its entry
    /// values are its events' values).
    struct RefStats {
        var pageviews = 0, visitors = 0, sessions = 0
        var topPages: [(String, Int, Int)] = []
        var countries: [(String, Int)] = []
        var referrers: [(String, Int)] = []
        var devices: [String: Double] = [:]
        var channels: [String: Double] = [:]

        init(_ events: [RefEvent]) {
            pageviews = events.count
            visitors = Set(events.map(\.visitor)).count
            sessions = Set(events.map(\.session)).count
            func byDesc<K: Comparable & Hashable>(_ d: [K: Int]) -> [(K, Int)] {
                d.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            var pv: [String: Int] = [:], pageVisitors: [String: Set<String>] = [:]
            for e in events { pv[e.path, default: 0] += 1; pageVisitors[e.path, default: []].insert(e.visitor) }
            topPages = byDesc(pv).prefix(10).map { ($0.0, $0.1, pageVisitors[$0.0]?.count ?? 0) }
            var country: [String: Set<String>] = [:], referrer: [String: Set<String>] = [:]
            var device: [String: Set<String>] = [:], channel: [String: Set<String>] = [:]
            for e in events {
                if !e.country.isEmpty { country[e.country, default: []].insert(e.session) }
                referrer[e.referrer.isEmpty ? "(direct)" : e.referrer, default: []].insert(e.session)
                device[e.device, default: []].insert(e.visitor)
                channel[e.channel, default: []].insert(e.visitor)
            }
            countries = Array(byDesc(country.mapValues(\.count)).prefix(10))
            referrers = Array(byDesc(referrer.mapValues(\.count)).prefix(10))
            func shares(_ d: [String: Set<String>]) -> [String: Double] {
                let total = d.values.map(\.count).reduce(0, +)
                return d.mapValues { total == 0 ? 0 : (1000 * Double($0.count) / Double(total)).rounded() / 10 }
            }
            devices = shares(device)
            channels = shares(channel)
        }
    }

    /// Compares `/api/stats` over [from, to] with the reference.
    func expectStats(_ s: TestServer, _ t: String, _ site: String, from: String, to: String, _ ref: RefStats,
                     sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let r = try await s.call("GET", "/api/stats?siteId=\(site)&startDate=\(from)&endDate=\(to)", token: t)
        #expect(r.status == 200, sourceLocation: sourceLocation)
        let summary = r.json["summary"] as? [String: Any] ?? [:]
        #expect(summary["pageviews"] as? Int == ref.pageviews, sourceLocation: sourceLocation)
        #expect(summary["uniqueVisitors"] as? Int == ref.visitors, sourceLocation: sourceLocation)
        #expect(summary["sessions"] as? Int == ref.sessions, sourceLocation: sourceLocation)
        let pages = (r.json["topPages"] as? [[String: Any]] ?? []).map {
            "\($0["path"] as? String ?? "?") \($0["pageviews"] as? Int ?? -1) \($0["uniqueVisitors"] as? Int ?? -1)"
        }
        #expect(pages == ref.topPages.map { "\($0.0) \($0.1) \($0.2)" }, sourceLocation: sourceLocation)
        let countries = (r.json["countries"] as? [[String: Any]] ?? []).map { "\($0["code"] as? String ?? "?") \($0["visits"] as? Int ?? -1)" }
        #expect(countries == ref.countries.map { "\($0.0) \($0.1)" }, sourceLocation: sourceLocation)
        let referrers = (r.json["topReferrers"] as? [[String: Any]] ?? []).map { "\($0["domain"] as? String ?? "?") \($0["visits"] as? Int ?? -1)" }
        #expect(referrers == ref.referrers.map { "\($0.0) \($0.1)" }, sourceLocation: sourceLocation)
        let devices = r.json["devices"] as? [String: Any] ?? [:]
        for d in ["desktop", "mobile", "tablet"] {
            let got = (devices[d] as? NSNumber)?.doubleValue ?? -1
            #expect(abs(got - (ref.devices[d] ?? 0)) < 1e-9, "device \(d)", sourceLocation: sourceLocation)
        }
        let channels = r.json["trafficSources"] as? [String: Any] ?? [:]
        for c in ["direct", "organic", "referral", "social", "paid", "email"] {
            let got = (channels[c] as? NSNumber)?.doubleValue ?? -1
            #expect(abs(got - (ref.channels[c] ?? 0)) < 1e-9, "channel \(c)", sourceLocation: sourceLocation)
        }
    }

    static func errors(_ r: HTTPResult) -> [String] {
        (r.json["errors"] as? [[String: Any]] ?? []).map { "\($0["line"] as? Int ?? -1): \($0["error"] as? String ?? "?")" }
    }

    // MARK: - Imports of the fixtures over HTTP

    static let uaRows = [
        RefRow(number: 1, date: "2024-03-01", page: "/", pageviews: 6, sessions: 4, users: 3, source: "google", medium: "organic",
               country: "United States", device: "desktop"),
        RefRow(number: 2, date: "2024-03-01", page: "/pricing", pageviews: 5, sessions: 2, users: 2, source: "(direct)", medium: "(none)",
               country: "Germany", device: "mobile"),
        RefRow(number: 3, date: "2024-03-02", page: "/search,results", pageviews: 2, sessions: 1, users: 1,
               source: "news.ycombinator.com", medium: "referral", country: "United Kingdom", device: "tablet"),
        RefRow(number: 6, date: "2024-03-03", page: "/blog", pageviews: 1005, sessions: 3, users: 2, source: "m.facebook.com",
               medium: "referral", country: "Canada", device: "mobile"),
        RefRow(number: 7, date: "2024-03-03", page: "/empty", pageviews: 0, sessions: 0, users: 0, source: "newsletter", medium: "email",
               country: "Japan", device: "smart tv"),
    ]

    @Test func uaCSVExportRawThenDeleted() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("ga-ua@example.com")
        let site = try await s.createSite(t, domain: "ua.example.com")
        let r = try await s.call("POST", "/api/import?siteId=\(site)&format=ua-csv", token: t, body: try Self.fixtureBytes("ua-export.csv"),
                                 headers: [("Content-Type", "text/csv; charset=utf-8")])
        #expect(r.status == 201)
        #expect(r.json["success"] as? Bool == true)
        #expect(r.json["accepted"] as? Int == 5)
        #expect(r.json["rejected"] as? Int == 2)
        #expect(Self.errors(r) == ["4: invalid value for field: Date", "5: invalid value for field: Pageviews"])
        #expect(r.json["errorsTruncated"] as? Bool == false)
        #expect(r.json["recordsProcessed"] as? Int == 7)
        #expect(r.json["recordsStored"] as? Int == 1018)
        let range = r.json["dateRange"] as? [String: Any] ?? [:]
        #expect(range["start"] as? String == "2024-03-01" && range["end"] as? String == "2024-03-03" && range["days"] as? Int == 3)
        let importId = try #require(r.json["importId"] as? String)

        let events = Self.expand(Self.uaRows, importId: importId)
        #expect(events.count == 1018)
        try await expectStats(s, t, site, from: "2024-03-01", to: "2024-03-03", RefStats(events))
        // Per day: the pageviews fall on their rows' dates.
        try await expectStats(s, t, site, from: "2024-03-02", to: "2024-03-02", RefStats(events.filter { $0.date == "2024-03-02" }))

        let list = try await s.call("GET", "/api/import?siteId=\(site)", token: t)
        let rec = (list.json["imports"] as? [[String: Any]])?.first ?? [:]
        #expect(rec["format"] as? String == "ua-csv")
        #expect(rec["source"] as? String == "google-analytics")
        #expect(rec["accepted"] as? Int == 5 && rec["rejected"] as? Int == 2)
        #expect((list.json["supportedFormats"] as? [String]) == ["ndjson", "csv", "json", "ga4-api", "ua-csv"])
        // The activity log has the import, with its format (§7.10 import.completed).
        let log = try await s.call("GET", "/api/activity-log?siteId=\(site)&action=import.completed", token: t)
        let entry = (log.json["activities"] as? [[String: Any]])?.first ?? [:]
        #expect((entry["target"] as? [String: Any])?["id"] as? String == importId, "\(log.text)")
        #expect((entry["metadata"] as? [String: Any])?["format"] as? String == "ua-csv", "\(log.text)")

        let del = try await s.call("DELETE", "/api/import?importId=\(importId)", token: t)
        #expect(del.status == 200)
        #expect(del.json["deletedRecords"] as? Int == 1018)
        try await expectStats(s, t, site, from: "2024-03-01", to: "2024-03-03", RefStats([]))
        try await s.stop()
    }

    @Test func uaDayIndexExportInJSONForm() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("ga-day@example.com")
        let site = try await s.createSite(t, domain: "day.example.com")
        let r = try await s.call("POST", "/api/import", token: t, json: [
            "siteId": site, "format": "ua-csv", "data": try Self.fixture("ua-day-index.csv"), "source": "ua-property-1",
        ])
        #expect(r.status == 201)
        #expect(r.json["accepted"] as? Int == 3)
        #expect(Self.errors(r) == ["3: invalid value for field: Day Index"])
        #expect(r.json["recordsStored"] as? Int == 5)
        let importId = try #require(r.json["importId"] as? String)
        let rows = [RefRow(number: 1, date: "2024-03-01", page: "/", pageviews: 4, sessions: 3, users: 2),
                    RefRow(number: 2, date: "2024-03-02", page: "/", pageviews: 1, sessions: 1, users: 1),
                    RefRow(number: 4, date: "2024-03-04", page: "/", pageviews: 0, sessions: 0, users: 0)]
        try await expectStats(s, t, site, from: "2024-03-01", to: "2024-03-04", RefStats(Self.expand(rows, importId: importId)))
        let list = try await s.call("GET", "/api/import?siteId=\(site)", token: t)
        #expect((list.json["imports"] as? [[String: Any]])?.first?["source"] as? String == "ua-property-1")
        try await s.stop()
    }

    @Test func ga4CSVWithBOMCRLFAndQuotes() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("ga-csv@example.com")
        let site = try await s.createSite(t, domain: "csv.example.com")
        let r = try await s.call("POST", "/api/import?siteId=\(site)&format=csv", token: t, body: try Self.fixtureBytes("ga4-export.csv"),
                                 headers: [("Content-Type", "text/csv")])
        #expect(r.status == 201)
        #expect(r.json["accepted"] as? Int == 4)
        #expect(Self.errors(r) == ["4: missing field: date", "5: invalid value for field: screenPageViews",
                                   "7: too many screenPageViews: at most 1000000 pageviews per row"])
        #expect(r.json["recordsStored"] as? Int == 10)
        let importId = try #require(r.json["importId"] as? String)
        let rows = [
            RefRow(number: 1, date: "2024-03-05", page: "/a,b", pageviews: 4, sessions: 2, users: 2, source: "duckduckgo.com",
                   medium: "organic", country: "Netherlands", device: "desktop"),
            RefRow(number: 2, date: "2024-03-06", page: "/quote\"d", pageviews: 3, sessions: 3, users: 1, source: "(direct)",
                   medium: "(none)", country: "Brazil", device: "mobile"),
            RefRow(number: 3, date: "2024-03-07", page: "/multi", pageviews: 2, sessions: 1, users: 1, source: "t.co", medium: "social",
                   country: "(not set)", device: "tablet"),
            RefRow(number: 6, date: "2024-03-07", page: "/line\nbreak", pageviews: 1, source: "bing.com", medium: "organic",
                   country: "Italy", device: "desktop"),
        ]
        try await expectStats(s, t, site, from: "2024-03-05", to: "2024-03-07", RefStats(Self.expand(rows, importId: importId)))
        // The quoted region with a comma is one value.
        let regions = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=custom&date_from=2024-03-06&date_to=2024-03-06&property=region&metrics=visitors", token: t)
        #expect((regions.json["results"] as? [[String: Any]])?.first?["region"] as? String == "Sao Paulo, State")
        try await s.stop()
    }

    @Test func ga4DataAPIResponseAcrossDST() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("ga-api@example.com")
        let site = try await s.createSite(t, domain: "api.example.com", timezone: "America/New_York")
        let report = try #require(JSONSerialization.jsonObject(with: Data(try Self.fixtureBytes("ga4-report.json"))))
        let r = try await s.call("POST", "/api/import", token: t, json: ["siteId": site, "format": "ga4-api", "data": report])
        #expect(r.status == 201)
        #expect(r.json["accepted"] as? Int == 3)
        #expect(Self.errors(r) == ["4: invalid value for field: date", "5: invalid value for field: screenPageViews"])
        #expect(r.json["recordsStored"] as? Int == 15)
        let range = r.json["dateRange"] as? [String: Any] ?? [:]
        #expect(range["start"] as? String == "2024-03-10" && range["end"] as? String == "2024-03-11")
        let importId = try #require(r.json["importId"] as? String)
        let rows = [
            RefRow(number: 1, date: "2024-03-10", page: "/", pageviews: 7, sessions: 3, users: 2, source: "google", medium: "organic",
                   country: "United States", device: "desktop"),
            RefRow(number: 2, date: "2024-03-10", page: "/features", pageviews: 3, sessions: 2, users: 2, source: "www.Example-Blog.com",
                   medium: "referral", country: "Canada", device: "mobile"),
            RefRow(number: 3, date: "2024-03-11", page: "/pricing", pageviews: 5, sessions: 5, users: 4, source: "adwords", medium: "cpc",
                   country: "Germany", device: "tablet"),
        ]
        let events = Self.expand(rows, importId: importId)
        try await expectStats(s, t, site, from: "2024-03-10", to: "2024-03-11", RefStats(events))
        // 2024-03-10 is the spring-forward day in New York: 12:00 local is 16:00 UTC (EDT), not 17:00.
        let csv = try await s.call("GET", "/api/export?siteId=\(site)&startDate=2024-03-10&endDate=2024-03-10&format=csv&type=pageviews", token: t)
        let stamps = Set(csv.text.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) ?? "" })
        #expect(stamps == ["2024-03-10T16:00:00.000Z"])
        try await s.stop()
    }

    @Test func jsonRowsWithGAColumnNames() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("ga-json@example.com")
        let site = try await s.createSite(t, domain: "json.example.com", timezone: "Europe/Berlin")
        let rowsJSON = try #require(JSONSerialization.jsonObject(with: Data(try Self.fixtureBytes("rows.json"))))
        let r = try await s.call("POST", "/api/import", token: t, json: ["siteId": site, "format": "json", "data": rowsJSON])
        #expect(r.status == 201)
        #expect(r.json["accepted"] as? Int == 3)
        #expect(Self.errors(r) == ["4: not a JSON object", "5: invalid value for field: ga:pageviews", "6: missing field: date",
                                   "7: invalid type for field: ga:pageviews"])
        #expect(r.json["recordsStored"] as? Int == 9)
        let importId = try #require(r.json["importId"] as? String)
        let rows = [
            RefRow(number: 1, date: "2024-03-20", page: "/", pageviews: 4, sessions: 2, users: 1, source: "(direct)", medium: "(none)",
                   country: "Sweden", device: "desktop"),
            RefRow(number: 2, date: "2024-03-21", page: "/about", pageviews: 3, users: 5, source: "twitter.com", medium: "social",
                   country: "Norway", device: "mobile"),
            RefRow(number: 3, date: "2024-03-22", page: "/contact", sessions: 2, source: "mail", medium: "email",
                   country: "Atlantis", device: "tablet"),
        ]
        try await expectStats(s, t, site, from: "2024-03-20", to: "2024-03-22", RefStats(Self.expand(rows, importId: importId)))
        // The same rows as a JSON string in `data`.
        let text = String(decoding: try Self.fixtureBytes("rows.json"), as: UTF8.self)
        let again = try await s.call("POST", "/api/import", token: t, json: ["siteId": site, "format": "json", "data": text])
        #expect(again.json["recordsStored"] as? Int == 9)
        try await s.stop()
    }

    @Test func perImportCap() async throws {
        let s = try await TestServer.start { $0.gaMaxEventsPerImport = 10 }
        let t = try await s.register("ga-cap@example.com")
        let site = try await s.createSite(t, domain: "cap.example.com")
        let r = try await s.call("POST", "/api/import?siteId=\(site)&format=ua-csv", token: t, body: try Self.fixtureBytes("ua-export.csv"),
                                 headers: [("Content-Type", "text/csv")])
        #expect(r.status == 201)
        // 6 fit, then 5 would make 11 > 10, 2 make 8, 1005 don't fit, 0 always fits.
        #expect(Self.errors(r) == ["2: import limit reached: at most 10 pageviews per import", "4: invalid value for field: Date",
                                   "5: invalid value for field: Pageviews", "6: import limit reached: at most 10 pageviews per import"])
        #expect(r.json["accepted"] as? Int == 3)
        #expect(r.json["recordsStored"] as? Int == 8)
        try await s.stop()
    }

    @Test func refusals() async throws {
        let s = try await TestServer.start { $0.maxImportBody = 2000 }
        let t = try await s.register("ga-no@example.com")
        let site = try await s.createSite(t, domain: "no.example.com")
        let csv = Array("date,pagePath,screenPageViews\n20240301,/,1\n".utf8)
        func post(_ json: [String: Any]) async throws -> HTTPResult { try await s.call("POST", "/api/import", token: t, json: json) }

        #expect(try await post(["siteId": site, "format": "xml", "data": "x"]).error == "Invalid format. Supported: ndjson, csv, json, ga4-api, ua-csv")
        #expect(try await post(["siteId": site, "format": "ndjson", "data": "x"]).error == "Invalid format. Supported: ndjson, csv, json, ga4-api, ua-csv")
        #expect(try await post(["format": "csv", "data": "x"]).error == "siteId is required")
        #expect(try await post(["siteId": site, "data": "x"]).error == "format is required")
        #expect(try await post(["siteId": site, "format": "csv"]).error == "data is required")
        #expect(try await post(["siteId": site, "format": "csv", "data": NSNull()]).error == "data is required")
        let notCSV = try await post(["siteId": site, "format": "csv", "data": 5])
        #expect(notCSV.status == 400 && notCSV.error == "Failed to parse data")
        #expect((notCSV.json["details"] as? [String])?.first == "csv data must be a string (the CSV text)")
        let noReport = try await post(["siteId": site, "format": "ga4-api", "data": ["foo": 1]])
        #expect(noReport.error == "Failed to parse data")
        #expect((noReport.json["details"] as? [String])?.isEmpty == false)
        #expect(try await post(["siteId": site, "format": "json", "data": "{not json"]).error == "Failed to parse data")
        #expect(try await post(["siteId": site, "format": "csv", "data": "# only a comment\n"]).error == "Failed to parse data")
        #expect(try await post(["siteId": site, "format": "csv", "data": "foo,bar\n1,2\n"]).error == "Failed to parse data")
        let invalidJSON = try await s.call("POST", "/api/import", token: t, body: Array("{".utf8), headers: [("Content-Type", "application/json")])
        #expect(invalidJSON.error == "Invalid JSON body")
        // Another user's site, and a site that does not exist.
        let other = try await s.register("ga-other@example.com")
        #expect(try await s.call("POST", "/api/import", token: other, json: ["siteId": site, "format": "csv", "data": "date\n20240301\n"]).status == 403)
        #expect(try await post(["siteId": "site_nope", "format": "csv", "data": "date\n20240301\n"]).error == "Site not found or access denied")

        // Raw CSV: the content type must match the format.
        let wrongType = try await s.call("POST", "/api/import?siteId=\(site)&format=json", token: t, body: csv, headers: [("Content-Type", "text/csv")])
        #expect(wrongType.status == 415 && wrongType.error == "Unsupported content type")
        let csvAsText = try await s.call("POST", "/api/import?siteId=\(site)&format=csv", token: t, body: csv, headers: [("Content-Type", "text/plain")])
        #expect(csvAsText.status == 415)
        #expect(try await s.call("POST", "/api/import?siteId=\(site)&format=bogus", token: t, body: csv, headers: [("Content-Type", "text/csv")])
            .error == "Invalid format. Supported: ndjson, csv, json, ga4-api, ua-csv")
        #expect(try await s.call("POST", "/api/import?format=csv", token: t, body: csv, headers: [("Content-Type", "text/csv")])
            .error == "siteId is required")
        // No format with text/csv: plain csv.
        let plain = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: csv, headers: [("Content-Type", "text/csv")])
        #expect(plain.status == 201 && plain.json["recordsStored"] as? Int == 1)

        // Body limit (decoded bytes), both forms.
        let big = Array(("date,pagePath,screenPageViews\n" + String(repeating: "20240301,/,1\n", count: 200)).utf8)
        #expect(try await s.call("POST", "/api/import?siteId=\(site)&format=csv", token: t, body: big, headers: [("Content-Type", "text/csv")]).status == 413)
        #expect(try await post(["siteId": site, "format": "csv", "data": String(decoding: big, as: UTF8.self)]).status == 413)

        // One running import per site: the site is reserved, so a GA import is refused.
        #expect(s.server.core.imports.begin(site))
        let busy = try await post(["siteId": site, "format": "csv", "data": "date\n20240301\n"])
        #expect(busy.status == 409 && busy.error == "An import is already running for this site")
        let busyRaw = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: csv, headers: [("Content-Type", "text/csv")])
        #expect(busyRaw.status == 409)
        s.server.core.imports.end(site)
        #expect(try await post(["siteId": site, "format": "csv", "data": "date\n20240301\n"]).status == 201)
        try await s.stop()
    }

    // MARK: - Units

    @Test func dateFormats() {
        let d = CivilDate(year: 2024, month: 3, day: 1)
        for text in ["20240301", "03/01/2024", "3/1/2024", "2024-03-01", " 2024-03-01 "] { #expect(GADate.parse(text) == d, "\(text)") }
        #expect(GADate.parse("3/1/24") == nil)
        #expect(GADate.parse("3/1/24", shortYear: true) == d)
        for bad in ["", "2024031", "20240230", "2024-02-30", "13/01/2024", "00/10/2024", "2024/03/01", "abcdefgh", "2024-3-1", "1/1/1"] {
            #expect(GADate.parse(bad, shortYear: true) == nil, "\(bad)")
        }
        #expect(GADate.parse("20240229") == CivilDate(year: 2024, month: 2, day: 29))
        #expect(GADate.parse("20230229") == nil)
    }

    /// §8's fallbacks against the spec's words, over every combination of small counts and absences.
    @Test func countFallbacks() {
        let choices: [Int?] = [nil, 0, 1, 2, 3, 7]
        for p in choices { for s in choices { for v in choices {
            var raw = GARawRow()
            raw[.date] = "20240301"
            raw[.pageviews] = p.map { String($0) }
            raw[.sessions] = s.map { String($0) }
            raw[.visitors] = v.map { String($0) }
            guard case .success(let row) = GARowParser.parse(raw, .init()) else { Issue.record("rejected \(p as Any) \(s as Any) \(v as Any)"); continue }
            // "P = pageviews (else sessions, visitors, 0), S = sessions (else visitors, P), V = visitors (else S);
            //  S = min(S, P), V = min(V, S)", with S, V at least 1 once P > 0.
            let P = p ?? s ?? v ?? 0
            let S = P == 0 ? min(s ?? v ?? P, P) : max(1, min(s ?? v ?? P, P))
            let V = P == 0 ? min(v ?? S, S) : max(1, min(v ?? S, S))
            #expect(row.pageviews == P && row.sessions == S && row.visitors == V, "\(p as Any) \(s as Any) \(v as Any)")
        } } }
    }

    @Test func rowMapping() {
        var raw = GARawRow()
        raw[.date] = "20240301"
        raw[.page] = "/x?utm=1#top"
        raw[.sourceMedium] = "google / organic"
        raw[.country] = "united states"
        raw[.device] = "Smart TV"
        raw[.region] = "(not set)"
        raw[.pageviews] = "1,234"
        #expect(GARowParser.parse(raw, .init()) == .failure(GARowError("invalid value for field: screenPageViews")))
        guard case .success(let row) = GARowParser.parse(raw, .init(uaExport: true)) else { Issue.record("rejected"); return }
        #expect(row.page == "/x" && row.source == "google" && row.medium == "organic" && row.country == "US")
        #expect(row.device == "desktop" && row.region == "" && row.pageviews == 1234)
        raw[.pageviews] = "99999999999999999999999"
        #expect(GARowParser.parse(raw, .init()) == .failure(GARowError("too many screenPageViews: at most 1000000 pageviews per row")))
        raw[.pageviews] = "-1"
        #expect(GARowParser.parse(raw, .init()) == .failure(GARowError("invalid value for field: screenPageViews")))
        raw[.pageviews] = "12.0"
        #expect((try? GARowParser.parse(raw, .init()).get())?.pageviews == 12)
    }

    @Test func countryNames() {
        #expect(CountryNames.code("United States") == "US")
        #expect(CountryNames.code(" germany ") == "DE")
        #expect(CountryNames.code("Myanmar (Burma)") == "MM")
        #expect(CountryNames.code("Côte d’Ivoire") == "CI")
        #expect(CountryNames.code("(not set)") == nil)
        #expect(CountryNames.code("Atlantis") == nil)
        // Every ISO 3166-1 code appears once, and every name maps back to its own code.
        let codes = CountryNames.entries.map(\.0)
        #expect(Set(codes).count == codes.count && codes.count >= 249)
        for (code, names) in CountryNames.entries { for n in names { #expect(CountryNames.code(n) == code, "\(n)") } }
    }

    @Test func expansionLinesAndNoon() throws {
        var x = try #require(GAExpansion(importId: "imp_9", siteId: "site_a", timeZone: "America/New_York"))
        #expect(x.noon(CivilDate(year: 2024, month: 3, day: 10)) == 1_710_086_400_000)  // 16:00Z on the DST day
        var berlin = try #require(GAExpansion(importId: "imp_9", siteId: "site_a", timeZone: "Europe/Berlin"))
        #expect(berlin.noon(CivilDate(year: 2024, month: 10, day: 27)) == 1_730_026_800_000)  // 11:00Z after fall-back
        #expect(berlin.noon(CivilDate(year: 2024, month: 3, day: 31)) == 1_711_879_200_000)  // 10:00Z after spring-forward
        #expect(x.noon(CivilDate(year: 1999, month: 12, day: 31)) == nil)
        #expect(x.noon(CivilDate(year: 2100, month: 1, day: 1)) == nil)

        let row = GARow(date: CivilDate(year: 2024, month: 3, day: 10), pageviews: 5, sessions: 2, visitors: 2, page: "/p",
                        source: "www.Example.com", medium: "cpc", country: "US", region: "", device: "mobile", browser: "", os: "")
        var out: [UInt8] = []
        var flushes = 0
        let completed = x.write(row, number: 3, ts: 1000, into: &out, flushBytes: 200) { buf in
            flushes += 1
            buf.removeAll()
            return true
        }
        #expect(completed && flushes >= 1)
        // A flush that refuses stops the row.
        out.removeAll()
        let stopped = x.write(row, number: 3, ts: 1000, into: &out, flushBytes: 1) { _ in false }
        #expect(!stopped)
        out.removeAll()
        _ = x.write(row, number: 3, ts: 1000, into: &out) { _ in true }
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map { JSONCoding.parse(Array($0.utf8)) }
        #expect(lines.count == 5)
        #expect(lines.map { $0?["session"]?.stringValue } == ["imp_9|3|s0", "imp_9|3|s1", "imp_9|3|s0", "imp_9|3|s1", "imp_9|3|s0"])
        #expect(lines.map { $0?["visitor"]?.stringValue } == ["imp_9|3|v0", "imp_9|3|v1", "imp_9|3|v0", "imp_9|3|v1", "imp_9|3|v0"])
        let first = try #require(lines.first ?? nil)
        #expect(first["channel"]?.stringValue == "paid" && first["referrer"]?.stringValue == "www.Example.com")
        #expect(first["utm_source"]?.stringValue == "www.Example.com" && first["utm_medium"]?.stringValue == "cpc")
        #expect(first["device"]?.stringValue == "mobile" && first["path"]?.stringValue == "/p" && first["ts"]?.intValue == 1000)
        #expect(first["site"]?.stringValue == "site_a" && first["type"]?.stringValue == "pageview")
        // (direct) / (none): no referrer, no utm values, channel left to E§4.
        var direct = row
        direct.source = "(direct)"
        direct.medium = "(none)"
        let shared = String(decoding: GAExpansion.sharedFields(direct, ts: 1, site: "s") + Array("}".utf8), as: UTF8.self)
        let obj = try #require(JSONCoding.parse(Array(shared.utf8)))
        #expect(obj["referrer"] == nil && obj["utm_source"] == nil && obj["utm_medium"] == nil && obj["channel"] == nil)
    }

    @Test func csvReaderShapes() throws {
        let src = try GACSVSource(text: try Self.fixture("ga4-export.csv"), uaExport: false)
        var pages: [String] = []
        while let row = src.next() { if case .row(let r) = row { pages.append(r[.page] ?? "?") } }
        #expect(pages == ["/a,b", "/quote\"d", "/multi", "/no-date", "/bad-metric", "/line\nbreak", "/huge"])
        let ua = try GACSVSource(text: try Self.fixture("ua-export.csv"), uaExport: true)
        var dates: [String] = []
        while let row = ua.next() { if case .row(let r) = row { dates.append(r[.date] ?? "?") } }
        // The totals row and the Day Index table after the blank line are not data.
        #expect(dates == ["20240301", "20240301", "20240302", "20240399", "20240302", "20240303", "20240303"])
    }
}
