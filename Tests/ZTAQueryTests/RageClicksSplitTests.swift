import XCTest
import ZTAFormat
import ZTAStorage
import ZTAWorkloads
import ZTAQuery

/// Rage clicks are found per session; with many clicks the sessions are split between workers.
/// The answer must not depend on the split.
final class RageClicksSplitTests: XCTestCase {
    func testAnswerDoesNotDependOnWorkerCount() throws {
        var rng = SplitMix64(seed: 0x5A9E)
        var records: [EventRecord] = []
        let elements = ["button#buy", "a.nav", "div.hero", "img#logo"]
        var t: Int64 = 1_772_400_000_000
        // ~4,500 sessions of click bursts: tight ones (rage), spread ones (not), mixed timing.
        for s in 0..<4_500 {
            t += Int64(rng.next() % 5_000)
            var ts = t
            let x0 = Int32(rng.next() % 1200), y0 = Int32(rng.next() % 3000)
            for k in 0..<Int(4 + rng.next() % 12) {
                var r = EventRecord()
                r.site = "s"; r.type = .click; r.path = "/"
                r.session = UInt64(s) &* 0x9E37_79B9_7F4A_7C15; r.visitor = UInt64(s / 3)
                ts += Int64(rng.next() % (s % 3 == 0 ? 400 : 120))
                r.ts = ts
                let spread = Int32(s % 5 == 0 ? 80 : 20)
                r.x = x0 + Int32(rng.next() % UInt64(spread)); r.y = y0 + Int32(rng.next() % UInt64(spread))
                r.element = elements[(s + k / 7) % elements.count]
                r.text = k % 2 == 0 ? "Go" : "Buy now"
                r.device = "desktop"
                records.append(r)
            }
        }
        XCTAssertGreaterThan(records.count, 40_000, "enough clicks for a split")
        let source = InMemoryEventSource(chunksBySite: ["s": [ColumnChunk.from(records: records)]])
        let req = try HeatmapRequest.parse(["siteId": "s", "path": "/", "startDate": "2026-03-01", "endDate": "2026-03-31"],
                                           kind: .rageClicks, timezone: "UTC", now: 1_775_000_000_000)
        let one = String(decoding: try QueryEngine(source: source, threads: 1).heatmap(req), as: UTF8.self)
        XCTAssertTrue(one.contains("\"severity\""), "some rage episodes found: \(one.prefix(200))")
        for threads in [2, 3] {
            XCTAssertEqual(String(decoding: try QueryEngine(source: source, threads: threads).heatmap(req), as: UTF8.self), one,
                           "\(threads) workers")
        }
    }
}
