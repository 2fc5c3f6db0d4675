import ZTAWorkloads
import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
@testable import ZTAQuery

/// An `EventSource` shaped like the store: "segments" whose blocks share one sorted dictionary per
/// column and carry `BlockStats`; it applies `blockFilter` and counts what it skipped.
struct SegmentLikeSource: EventSource {
    /// Per site: blocks (chunk + stats) and their segment dictionaries.
    var blocks: [String: [(ColumnChunk, BlockStats, [Column: StringDictionary])]]

    init(records: [EventRecord], blockRows: Int) {
        var bySite: [String: [EventRecord]] = [:]
        for r in records { bySite[r.site, default: []].append(r) }
        blocks = [:]
        for (site, recs) in bySite {
            // Rows sorted by (path, ts) so path code ranges of blocks are narrow (prunable).
            let sorted = recs.sorted { ($0.path.utf8.lexicographicallyPrecedes($1.path.utf8)) || ($0.path == $1.path && $0.ts < $1.ts) }
            let whole = sortedChunk(sorted)
            var dicts: [Column: StringDictionary] = [:]
            for col in StringColumns.all { dicts[col] = whole.string(col)!.dictionary }
            var list: [(ColumnChunk, BlockStats, [Column: StringDictionary])] = []
            var i = 0
            while i < sorted.count {
                let end = min(sorted.count, i + blockRows)
                var c = ColumnChunk(count: end - i)
                c.ts = Array(whole.ts[i..<end]); c.type = Array(whole.type[i..<end]); c.visitor = Array(whole.visitor[i..<end])
                c.session = Array(whole.session[i..<end]); c.value = Array(whole.value[i..<end])
                c.timeOnPage = Array(whole.timeOnPage[i..<end]); c.x = Array(whole.x[i..<end]); c.y = Array(whole.y[i..<end])
                c.scrollDepth = Array(whole.scrollDepth[i..<end]); c.importId = Array(whole.importId[i..<end])
                for col in StringColumns.all {
                    let d = whole.string(col)!
                    c.setString(col, StringColumnData(codes: Array(d.codes[i..<end]), dictionary: d.dictionary))
                }
                var mn = [Int64](repeating: 0, count: Column.allCases.count), mx = mn
                let pc = c.string(.path)!.codes
                mn[Int(Column.path.rawValue)] = Int64(pc.min()!); mx[Int(Column.path.rawValue)] = Int64(pc.max()!)
                mn[Int(Column.ts.rawValue)] = c.ts.min()!; mx[Int(Column.ts.rawValue)] = c.ts.max()!
                list.append((c, BlockStats(rowCount: c.count, min: mn, max: mx), dicts))
                i = end
            }
            blocks[site] = list
        }
    }

    func scanPlan(_ request: ScanRequest) throws -> ScanPlan {
        var stats = ScanStats()
        var tasks: [ChunkTask] = []
        for (chunk, bs, dicts) in blocks[request.site] ?? [] {
            stats.blocksTotal += 1
            if bs.max(.ts) < request.from || bs.min(.ts) >= request.to { continue }
            if let f = request.blockFilter, !f(BlockPruneContext(stats: bs, dictionary: { dicts[$0] })) { continue }
            stats.blocksKept += 1
            stats.rowsKept += chunk.count
            tasks.append(ChunkTask(rowCount: chunk.count, minTs: bs.min(.ts), maxTs: bs.max(.ts)) { chunk })
        }
        tasks.sort { $0.minTs < $1.minTs }
        return ScanPlan(tasks: tasks, stats: stats)
    }
}

final class PruningTests: XCTestCase {
    /// Heatmaps prune blocks by the page's dictionary code and still answer exactly as a full scan.
    func testHeatmapsPruneBlocksAndAgree() throws {
        var rng = SplitMix64(seed: 99)
        let from = Periods.parseRFC3339("2026-03-01T00:00:00Z")!, to = Periods.parseRFC3339("2026-03-04T00:00:00Z")!
        var records = PropertyTests.randomEvents(&rng, site: "s", from: from, to: to, sessions: 400)
        for k in records.indices {
            records[k].x = Int32(rng.next() % 1280); records[k].y = Int32(rng.next() % 2000)
            records[k].scrollDepth = Int8(rng.next() % 101)
            records[k].element = PropertyTests.pick(["a#nav", "button#buy", "div.card", "p", ""], &rng)
            records[k].text = PropertyTests.pick(["Buy", "Docs", ""], &rng)
            if records[k].path.isEmpty { records[k].path = "/" }
        }
        let pruned = SegmentLikeSource(records: records, blockRows: 64)
        var r2 = SplitMix64(seed: 5)
        let full = InMemoryEventSource(chunksBySite: ["s": makeChunks(records, rng: &r2)])
        for (kind, type) in [(HeatmapKind.heatmap, "click"), (.heatmap, "move"), (.heatmap, "scroll"), (.heatmap, "attention"),
                             (.elements, ""), (.rageClicks, ""), (.deadClicks, "")] {
            for path in ["/pricing", "/blog/a", "/nowhere"] {
                let params = ["siteId": "s", "startDate": "2026-03-01", "endDate": "2026-03-03", "path": path, "type": type]
                let req = try HeatmapRequest.parse(params, kind: kind, timezone: "UTC", now: 0)
                func body(_ s: any EventSource) -> String {
                    do { return String(decoding: try QueryEngine(source: s, threads: 2).heatmap(req), as: UTF8.self) }
                    catch { return "\(error)" }
                }
                XCTAssertEqual(body(pruned), body(full), "\(kind) \(type) \(path)")
            }
        }
        // The page's blocks only were read.
        let path = "/pricing"
        let req = ScanRequest(site: "s", from: from, to: to, columns: .all, blockFilter: { ctx in
            guard let d = ctx.dictionary(.path), let code = PageRowsCollector.code(of: path, in: d) else { return false }
            return Int64(code) >= ctx.stats.min(.path) && Int64(code) <= ctx.stats.max(.path)
        })
        let plan = try pruned.scanPlan(req)
        XCTAssertLessThan(plan.stats.blocksKept, plan.stats.blocksTotal / 3)
        XCTAssertGreaterThan(plan.stats.blocksKept, 0)
    }

    /// `explain` names the operators and reports the store's pruning counts.
    func testExplain() throws {
        var rng = SplitMix64(seed: 3)
        let from = Periods.parseRFC3339("2026-03-01T00:00:00Z")!, to = Periods.parseRFC3339("2026-03-03T00:00:00Z")!
        let records = PropertyTests.randomEvents(&rng, site: "s", from: from, to: to, sessions: 50)
        let src = SegmentLikeSource(records: records, blockRows: 32)
        let r = try StatsAPIRequest.parse(["site_id": "s", "period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-02",
                                           "property": "page", "filters": "country==US;page==/blog/*"], timezone: "UTC", now: 0)
        let text = try QueryEngine(source: src).explain(r)
        XCTAssertTrue(text.contains("EventFilter [page==/blog/*]"), text)
        XCTAssertTrue(text.contains("SessionFilter [country==US]"), text)
        XCTAssertTrue(text.contains("RowGroupPass2"), text)
        XCTAssertTrue(text.contains("blocks:"), text)
    }
}
