import Foundation
import Testing
import ZTAServer

/// Background maintenance inside the server: compaction and retention passes, their `/metrics`
/// counters, and that answers do not change when segments are merged.
@Suite("Maintenance", .serialized)
struct MaintenanceTests {
    static let chrome = TrackTests.chrome

    /// A metric's value in the exposition text (the first sample line of that name, no labels).
    static func metric(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    func statsBody(_ s: TestServer, _ t: String, _ site: String) async throws -> String {
        let r = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=visitors,sessions,pageviews,bounce_rate&property=page",
                                 token: t)
        #expect(r.status == 200)
        return r.text
    }

    @Test func compactionKeepsAnswers() async throws {
        let s = try await TestServer.start { c in
            c.storeOptions.flushRows = 4          // every fourth tracked event makes a segment
            c.backgroundFlush = false             // … and only that
            c.compactionPolicy.minSmallSegments = 2
            c.maintenanceInterval = 3600          // passes only when the test asks
            c.rateLimits.track.limit = 10_000
        }
        let t = try await s.register("maint@example.com")
        let site = try await s.createSite(t, domain: "maint.example.com")
        for k in 0..<22 {
            let ua = Self.chrome + " v\(k % 5)"   // five visitors
            let r = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/p\(k % 3)"],
                                     headers: [("User-Agent", ua)])
            #expect(r.status == 200)
        }
        let before = try await statsBody(s, t, site)
        let m0 = try await s.call("GET", "/metrics").text
        let segmentsBefore = try #require(Self.metric(m0, "zta_segments"))
        #expect(segmentsBefore >= 5)
        #expect(Self.metric(m0, "zta_memtable_rows") == 2)
        #expect(Self.metric(m0, "zta_compactions_total") == 0)
        // Without the background flusher every fourth append flushed inline, and each is timed.
        #expect(Self.metric(m0, "zta_memtable_inline_flushes_total") == 5)
        #expect(Self.metric(m0, "zta_memtable_flush_seconds_count") == 5)
        #expect((Self.metric(m0, "zta_wal_commit_seconds_count") ?? 0) >= 1)

        await s.server.runMaintenance()

        let m1 = try await s.call("GET", "/metrics").text
        #expect(Self.metric(m1, "zta_compactions_total") == 1)
        #expect(Self.metric(m1, "zta_compaction_segments_merged_total") == segmentsBefore)
        #expect(Self.metric(m1, "zta_segments") == 1)
        #expect(Self.metric(m1, "zta_maintenance_errors_total") == 0)
        #expect(Self.metric(m1, "zta_retention_deleted_events_total") == 0)
        #expect(Self.metric(m1, "zta_stored_events") == 22)
        #expect(try await statsBody(s, t, site) == before)
        #expect(before.contains(#""pageviews":8"#))   // /p0: k = 0, 3, …, 21
        try await s.stop()
    }

    @Test func retentionDeletesOldEvents() async throws {
        let s = try await TestServer.start { c in c.maintenanceInterval = 3600 }
        let t = try await s.register("retention@example.com")
        let site = try await s.createSite(t, domain: "retention.example.com")
        let keep = try await s.createSite(t, domain: "forever.example.com")
        let patch = try await s.call("PATCH", "/api/sites", token: t, json: ["id": site, "settings": ["dataRetention": 1]])
        #expect(patch.status == 200)
        for id in [site, keep] {
            let r = try await s.call("POST", "/api/import?siteId=\(id)", token: t,
                                     body: Array(ImportExportTests.lines(site: id, n: 10).utf8), headers: [("Content-Type", "text/plain")])
            #expect(r.status == 201)
        }
        let fresh = try await s.call("POST", "/api/track", json: ["type": "pageview", "siteId": site, "path": "/now"],
                                     headers: [("User-Agent", Self.chrome)])
        #expect(fresh.status == 200)
        #expect(try await ImportExportTests().count(s, t, site) == 10)

        await s.server.runMaintenance()

        // 2026-03-01 is far more than a day old: gone from the site with retention only.
        #expect(try await ImportExportTests().count(s, t, site) == 0)
        #expect(try await ImportExportTests().count(s, t, keep) == 10)
        let today = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=day&metrics=pageviews&interval=month", token: t)
        #expect((today.json["results"] as? [[String: Any]])?.first?["pageviews"] as? Int == 1)
        let m = try await s.call("GET", "/metrics").text
        #expect(Self.metric(m, "zta_retention_deleted_events_total") == 11)   // 10 pageviews + 1 event
        #expect(Self.metric(m, "zta_maintenance_errors_total") == 0)
        try await s.stop()
    }
}
