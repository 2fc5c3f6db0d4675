import Foundation
import Testing
import ZTAFormat
import ZTAStorage
import ZTAQuery

/// api.md §6 `GET /api/realtime` over a small hand-built source, against a hand-computed body.
@Suite("Realtime")
struct RealtimeTests {
    /// 2026-03-10T12:03:30.000Z; in Asia/Kolkata (+05:30) that is 17:33:30.
    static let now: Int64 = 1_773_144_210_000

    static func at(_ h: Int, _ m: Int, _ s: Int, _ ms: Int = 0) -> Int64 {
        // Midnight UTC of 2026-03-10 plus the wall-clock time.
        1_773_100_800_000 + Int64(((h * 60 + m) * 60 + s) * 1000 + ms)
    }

    static func event(_ site: String, _ type: EventType, _ visitor: UInt64, _ path: String, _ ts: Int64,
                      referrer: String = "", country: String = "") -> EventRecord {
        var r = EventRecord()
        r.site = site; r.type = type; r.visitor = visitor; r.session = visitor &* 7; r.path = path; r.ts = ts
        r.referrer = referrer; r.country = country
        return r
    }

    /// The fixture, in two chunks so that per-visitor state crosses chunk boundaries.
    static func source() -> InMemoryEventSource {
        func e(_ site: String, _ type: EventType, _ visitor: UInt64, _ path: String, _ ts: Int64,
               referrer: String = "", country: String = "") -> EventRecord {
            Self.event(site, type, visitor, path, ts, referrer: referrer, country: country)
        }
        let first = [
            e("s1", .pageview, 1, "/a", at(11, 58, 0), referrer: "google.com", country: "DE"),     // before everything
            e("s1", .pageview, 5, "/e", at(11, 58, 29, 999)),                                      // 1 ms before W
            e("s1", .pageview, 1, "/a", at(11, 58, 40), referrer: "google.com", country: "DE"),    // W, before the minutes
            e("s1", .pageview, 1, "/a", at(11, 59, 30), referrer: "google.com", country: "DE"),    // minute 17:29
            e("s1", .pageview, 2, "/b", at(12, 0, 5), country: "FR"),                              // minute 17:30
        ]
        let second = [
            e("s1", .heartbeat, 1, "/b", at(12, 1, 10)),                                           // minute 17:31, v1 latest
            e("s1", .heartbeat, 3, "/c", at(12, 1, 30)),                                           // minute 17:31
            e("s1", .pageview, 2, "/c", at(12, 2, 59, 999), country: "FR"),                        // minute 17:32
            e("s1", .event, 2, "/a", at(12, 2, 59, 999)),                                          // same ts: "/a" < "/c" wins
            e("s1", .heartbeat, 3, "/c", at(12, 3, 10)),                                           // minute 17:33, v3 latest
            e("s1", .pageview, 4, "/d", now),                                                      // = now: outside
            e("s2", .pageview, 6, "/a", at(12, 1, 0)),                                             // another site
        ]
        var bySite: [String: [ColumnChunk]] = [:]
        for part in [first, second] {
            for (site, recs) in Dictionary(grouping: part, by: \.site) {
                bySite[site, default: []].append(ColumnChunk.from(records: recs))
            }
        }
        return InMemoryEventSource(chunksBySite: bySite)
    }

    @Test func handComputedBody() throws {
        let r = try RealtimeRequest.parse(["siteId": "s1"], timezone: "Asia/Kolkata", now: Self.now)
        let body = String(decoding: try QueryEngine(source: Self.source()).realtime(r), as: UTF8.self)
        let expected = """
        {"activeVisitors":3,"pageviewsLast5Min":4,\
        "pageBreakdown":{"/a":1,"/b":1,"/c":1},\
        "recentPageviews":[{"page":"/c","timestamp":"2026-03-10T12:02:59.999Z","country":"FR"},\
        {"page":"/b","timestamp":"2026-03-10T12:00:05.000Z","country":"FR"},\
        {"page":"/a","timestamp":"2026-03-10T11:59:30.000Z","country":"DE"},\
        {"page":"/a","timestamp":"2026-03-10T11:58:40.000Z","country":"DE"}],\
        "visitorsPerMinute":[{"minute":"17:29","visitors":1},{"minute":"17:30","visitors":1},\
        {"minute":"17:31","visitors":2},{"minute":"17:32","visitors":1},{"minute":"17:33","visitors":1}],\
        "trafficSources":[{"source":"(direct)","count":2},{"source":"google.com","count":2}],\
        "timestamp":"2026-03-10T12:03:30.000Z"}
        """
        #expect(body == expected)
        // The static form over an explicit source answers the same.
        #expect(String(decoding: try QueryEngine.realtime(r, source: Self.source()), as: UTF8.self) == expected)
    }

    @Test func emptySiteHasFiveZeroMinutes() throws {
        let r = try RealtimeRequest.parse(["siteId": "nobody"], timezone: "UTC", now: Self.now)
        let body = String(decoding: try QueryEngine(source: Self.source()).realtime(r), as: UTF8.self)
        #expect(body == """
        {"activeVisitors":0,"pageviewsLast5Min":0,"pageBreakdown":{},"recentPageviews":[],\
        "visitorsPerMinute":[{"minute":"11:59","visitors":0},{"minute":"12:00","visitors":0},\
        {"minute":"12:01","visitors":0},{"minute":"12:02","visitors":0},{"minute":"12:03","visitors":0}],\
        "trafficSources":[],"timestamp":"2026-03-10T12:03:30.000Z"}
        """)
    }

    /// 30 visitors with one pageview each, five of them on the same path — at most 20 pages
    /// and 10 recent pageviews, in the documented orders.
    @Test func listsAreCapped() throws {
        var recs: [EventRecord] = []
        for i in 0..<30 {
            let path = "/p" + (i < 10 ? "0" : "") + String(i)
            // Visitors 0…4 share path "/p00" as well, so it leads the breakdown by count.
            recs.append(Self.event("s", .pageview, UInt64(100 + i), i < 5 ? "/p00" : path, Self.now - 60_000 + Int64(i) * 1000))
        }
        let src = InMemoryEventSource(chunksBySite: ["s": [ColumnChunk.from(records: recs)]])
        let r = try RealtimeRequest.parse(["siteId": "s"], timezone: "UTC", now: Self.now)
        let json = try JSONSerialization.jsonObject(with: Data(try QueryEngine(source: src).realtime(r))) as! [String: Any]
        let pages = json["pageBreakdown"] as! [String: Int]
        #expect(pages.count == 20)
        #expect(pages["/p00"] == 5)
        // After "/p00" (5), the ties of 1 by path: /p05 … /p23.
        #expect(pages["/p23"] == 1 && pages["/p24"] == nil)
        let recent = json["recentPageviews"] as! [[String: Any]]
        #expect(recent.count == 10)
        #expect(recent.first?["page"] as? String == "/p29")
        #expect(recent.last?["page"] as? String == "/p20")
        #expect(json["activeVisitors"] as? Int == 30)
        #expect(json["pageviewsLast5Min"] as? Int == 30)
    }

    @Test func parsing() throws {
        let r = try RealtimeRequest.parse(["siteId": "s1", "date": "2026-03-10T17:33:30+05:30"], timezone: "Asia/Kolkata", now: 0)
        #expect(r.now == Self.now)
        #expect(r.window.from == Self.now - 300_000 && r.window.to == Self.now)
        // A local date: now is its last millisecond.
        let d = try RealtimeRequest.parse(["siteId": "s1", "date": "2026-03-10"], timezone: "UTC", now: 0)
        #expect(d.now == Self.at(23, 59, 59, 999))
        #expect(throws: QueryError("Site ID required")) { try RealtimeRequest.parse([:], timezone: "UTC", now: 0) }
        #expect(throws: QueryError("Invalid timezone")) { try RealtimeRequest.parse(["siteId": "s"], timezone: "Mars/Base", now: 0) }
        #expect(throws: QueryError("Invalid date reference")) {
            try RealtimeRequest.parse(["siteId": "s", "date": "yesterday"], timezone: "UTC", now: 0)
        }
    }
}
