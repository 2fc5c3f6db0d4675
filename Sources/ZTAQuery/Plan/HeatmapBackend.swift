package import ZTAFormat
import ZTAStorage

/// The rows one heatmap endpoint reads: one page's events of `types` in `window`, with the
/// `payload` columns filled (the others left empty, as `PageRows` documents).
package struct PageRowsQuery: Sendable {
    package var site: String
    package var window: TimeWindow
    package var path: String
    /// Rows of another device stay in the answer with `deviceOK` false (elements pair clicks
    /// with pageviews of any device); nil: every row is OK.
    package var device: String?
    package var types: Set<EventType>
    package var payload: ColumnSet

    /// Whether `ts` is filled: only the endpoints that order or pair rows in time read it.
    package var needsTs: Bool { payload.contains(.session) }
}

/// One page's heatmap rows and the strings their `element` / `text` ids index (0 = "").
package struct HeatmapRows: Sendable {
    package var rows: PageRows
    package var strings: [String]
}

/// One path's counts for `GET /api/heatmaps/pages`.
package struct HeatmapPageCount: Sendable {
    package var path: String
    package var clicks: Int
    package var moves: Int
    package var scrolls: Int

    package init(path: String, clicks: Int, moves: Int, scrolls: Int) {
        self.path = path; self.clicks = clicks; self.moves = moves; self.scrolls = scrolls
    }
}

/// Where the heatmap endpoints read their rows: the seam between the heatmap computations of
/// events.md §5 (cells, scroll depth, attention, elements, rage and dead clicks — shared, in
/// `Heatmaps.swift`) and the store. Rage-click runs and scroll attribution pair a session's rows
/// in time order, which ClickHouse 18.16 cannot express without window functions, so the seam
/// is "one page's rows", not a finished answer: both stores hand the same rows to the same code.
package protocol HeatmapBackend: Sendable {
    /// The rows of `query` (any order).
    func pageRows(_ query: PageRowsQuery) throws -> HeatmapRows
    /// Click, move and scroll counts per path of `site` in `window` (rows of `device` only when
    /// given); paths without any are absent. Unordered.
    func pageCounts(site: String, window: TimeWindow, device: String?) throws -> [HeatmapPageCount]
}

/// Builds `HeatmapRows` row by row for a store that returns rows one at a time (ClickHouse):
/// fills exactly the columns the embedded scan fills for the same query.
package struct PageRowsBuilder {
    private let payload: ColumnSet
    private let needsTs: Bool
    private let strings = GlobalStrings(preset: [""])
    private var rows = PageRows()

    package init(_ query: PageRowsQuery) {
        payload = query.payload
        needsTs = query.needsTs
    }

    /// Appends one row; columns outside the query's payload are ignored.
    package mutating func append(ts: Int64, type: UInt8, session: UInt64, visitor: UInt64, x: Int32, y: Int32,
                                 depth: Int8, top: Int32, deviceOK: Bool, element: String, text: String) {
        if needsTs { rows.ts.append(ts) }
        rows.type.append(type)
        if payload.contains(.session) { rows.session.append(session) }
        if payload.contains(.visitor) { rows.visitor.append(visitor) }
        if payload.contains(.x) { rows.x.append(x) }
        if payload.contains(.y) { rows.y.append(y) }
        if payload.contains(.scrollDepth) { rows.depth.append(depth) }
        if payload.contains(.timeOnPage) { rows.top.append(top) }
        rows.deviceOK.append(deviceOK)
        if payload.contains(.element) { rows.element.append(strings.id(element)) }
        if payload.contains(.text) { rows.text.append(strings.id(text)) }
    }

    /// The rows and their strings.
    package func finish() -> HeatmapRows {
        HeatmapRows(rows: rows, strings: strings.snapshot())
    }
}

/// The embedded engine's heatmap rows: the pruned, late-materialized page scan.
struct EmbeddedHeatmaps: HeatmapBackend {
    let source: any EventSource
    let threads: Int

    func pageRows(_ q: PageRowsQuery) throws -> HeatmapRows {
        var collector = PageRowsCollector(site: q.site, window: q.window, path: q.path, device: q.device, types: q.types, threads: threads)
        collector.payload = q.payload
        let (rows, _) = try collector.collect(source: source)
        return HeatmapRows(rows: rows, strings: collector.strings.snapshot())
    }

    func pageCounts(site: String, window: TimeWindow, device: String?) throws -> [HeatmapPageCount] {
        let strings = GlobalStrings(preset: [""])
        let req = ScanRequest(site: site, from: window.from, to: window.to, columns: ColumnSet([.ts, .type, .path, .device]))
        let sp = try source.scanPlan(req)
        var counts: [UInt32: (Int, Int, Int)] = [:]
        try WaveScanner(threads: threads).run(sp.tasks, prepare: { c -> [UInt32: (Int, Int, Int)] in
            var local: [UInt32: (Int, Int, Int)] = [:]
            guard let pd = c.string(.path), let dev = c.string(.device) else { return local }
            let map = strings.mapping(pd.dictionary)
            let devOK = dev.dictionary.values.map { device == nil || $0 == device }
            for i in 0..<c.count where c.ts[i] >= window.from && c.ts[i] < window.to && devOK[Int(dev.codes[i])] {
                let ty = c.type[i]
                guard ty == EventType.click.rawValue || ty == EventType.move.rawValue || ty == EventType.scroll.rawValue else { continue }
                var v = local[map[Int(pd.codes[i])]] ?? (0, 0, 0)
                if ty == EventType.click.rawValue { v.0 += 1 } else if ty == EventType.move.rawValue { v.1 += 1 } else { v.2 += 1 }
                local[map[Int(pd.codes[i])]] = v
            }
            return local
        }) { parts in
            for p in parts { for (k, v) in p { let o = counts[k] ?? (0, 0, 0); counts[k] = (o.0 + v.0, o.1 + v.1, o.2 + v.2) } }
        }
        let vals = strings.snapshot()
        return counts.map { HeatmapPageCount(path: vals[Int($0.key)], clicks: $0.value.0, moves: $0.value.1, scrolls: $0.value.2) }
    }
}
