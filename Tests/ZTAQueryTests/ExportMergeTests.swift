import Foundation
import Synchronization
import Testing
import ZTAFormat
import ZTAStorage
import ZTAWorkloads
@testable import ZTAQuery

/// The streamed export against a naive reference written from api.md §6: every row of the
/// window, `ts` ascending, ties by the other columns in order (strings by bytes), then paged.
@Suite struct ExportMergeTests {
    /// The string fields of a pageviews export row, in order.
    static func fields(_ e: EventRecord) -> [String] {
        [e.path, e.referrer, e.utmSource, e.utmMedium, e.utmCampaign, e.channel, e.device, e.browser, e.os, e.country, e.region]
    }

    /// Pageviews with many equal timestamps and few distinct strings (ties everywhere).
    static func records(_ n: Int, seed: UInt64) -> [EventRecord] {
        var rng = SplitMix64(seed: seed)
        let base: Int64 = 1_772_323_200_000  // 2026-03-01
        return (0..<n).map { _ in
            var e = EventRecord()
            e.site = "s"
            e.type = rng.next() % 5 == 0 ? .event : .pageview
            e.ts = base + Int64(rng.next() % 40) * 3_600_000 + Int64(rng.next() % 3)
            e.path = ["/", "/a", "/b", "/=SUM(1)", "/a,b"][Int(rng.next() % 5)]
            e.referrer = ["", "x.com", "y.org"][Int(rng.next() % 3)]
            e.device = ["desktop", "mobile"][Int(rng.next() % 2)]
            e.country = ["", "DE", "US"][Int(rng.next() % 3)]
            return e
        }
    }

    static func reference(_ rs: [EventRecord], window: TimeWindow) -> [EventRecord] {
        rs.filter { $0.type == .pageview && $0.ts >= window.from && $0.ts < window.to }.sorted { a, b in
            if a.ts != b.ts { return a.ts < b.ts }
            for (x, y) in zip(fields(a), fields(b)) where x != y { return bytesLess(x, y) }
            return false
        }
    }

    static func request(limit: Int, offset: Int) throws -> ExportRequest {
        try ExportRequest.parse(["siteId": "s", "startDate": "2026-03-01", "endDate": "2026-03-02", "type": "pageviews",
                                 "format": "ndjson", "limit": String(limit), "offset": String(offset)], timezone: "UTC", now: 0)
    }

    /// (timestamp, path, referrer, device, country) of each streamed line.
    static func lines(_ engine: QueryEngine, _ r: ExportRequest) throws -> [[String]] {
        var bytes: [UInt8] = []
        try engine.exportStream(r) { bytes += $0 }
        return try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line in
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return ["timestamp", "path", "referrer", "device", "country"].map { o[$0] as? String ?? "?" }
        }
    }

    static func expected(_ rs: [EventRecord]) -> [[String]] {
        rs.map { [isoUTC($0.ts), $0.path, $0.referrer, $0.device, $0.country] }
    }

    @Test(arguments: [1, 2, 3, 4])
    func streamedRowsMatchTheReference(seed: UInt64) throws {
        let rs = Self.records(3000, seed: seed)
        var rng = SplitMix64(seed: seed &+ 99)
        let engine = QueryEngine(source: InMemoryEventSource(chunksBySite: ["s": makeChunks(rs, rng: &rng, pieces: 12)]))
        let full = try Self.request(limit: 0, offset: 0)
        let want = Self.expected(Self.reference(rs, window: full.window))
        #expect(try Self.lines(engine, full) == want)
        // Pages put back together are the whole, and json's `truncated` says whether more follow.
        var pages: [[String]] = []
        for offset in stride(from: 0, to: want.count + 500, by: 500) {
            pages += try Self.lines(engine, try Self.request(limit: 500, offset: offset))
        }
        #expect(pages == want)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try engine.export(
            try ExportRequest.parse(["siteId": "s", "startDate": "2026-03-01", "endDate": "2026-03-02", "type": "pageviews",
                                     "limit": "10"], timezone: "UTC", now: 0)))) as? [String: Any])
        #expect(json["count"] as? Int == 10)
        #expect(json["truncated"] as? Bool == (want.count > 10))
    }

    @Test func csvCellsCannotRunAsFormulas() throws {
        var e = EventRecord()
        e.site = "s"; e.ts = 1_772_323_200_000; e.path = "=HYPERLINK(\"http://x\")"; e.referrer = "+1"; e.country = "@x"
        let engine = QueryEngine(source: InMemoryEventSource(chunksBySite: ["s": [ColumnChunk.from(records: [e])]]))
        var r = try Self.request(limit: 0, offset: 0)
        r.format = .csv
        var bytes: [UInt8] = []
        try engine.exportStream(r) { bytes += $0 }
        let row = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n")[1]
        #expect(row.hasPrefix("2026-03-01T00:00:00.000Z,\"'=HYPERLINK(\"\"http://x\"\")\",'+1,"), "\(row)")
        #expect(row.contains(",'@x,"))
    }

    /// A page ends the scan: blocks after the page are never decoded.
    @Test func aPageStopsLoadingBlocks() throws {
        let loads = Mutex(0)
        let rs = Self.records(2000, seed: 7).sorted { $0.ts < $1.ts }
        let tasks = stride(from: 0, to: rs.count, by: 50).map { k -> ChunkTask in
            let c = ColumnChunk.from(records: Array(rs[k..<min(k + 50, rs.count)]))
            return ChunkTask(rowCount: c.count, minTs: c.ts.min() ?? 0, maxTs: c.ts.max() ?? 0) {
                loads.withLock { $0 += 1 }
                return c
            }
        }
        let window = try Self.request(limit: 0, offset: 0).window
        var merge = ExportMerge(tasks: tasks, window: window, type: EventType.pageview.rawValue, threads: 1) { _, _, _, _ in 0 }
        merge.waveRows = 100
        var rows = 0
        try merge.run { _, _ in rows += 1; return rows < 20 }
        #expect(rows == 20)
        #expect(loads.withLock { $0 } <= 4, "decoded \(loads.withLock { $0 }) of \(tasks.count) blocks for 20 rows")
    }
}
