import ZTAFormat
import ZTAStorage

/// The rows of one page that a heatmap needs, gathered from a pruned scan: only blocks whose
/// path code range can hold the page are decoded, and rows are matched by dictionary code.
///
/// A column the endpoint does not read (see `PageRowsCollector.payload`) stays empty; `ts` is
/// empty unless the endpoint pairs rows in time.
package struct PageRows: Sendable {
    package var ts: [Int64] = []
    package var type: [UInt8] = []
    package var session: [UInt64] = []
    package var visitor: [UInt64] = []
    package var x: [Int32] = []
    package var y: [Int32] = []
    package var depth: [Int8] = []
    package var top: [Int32] = []
    /// Device matches the request's device (always true without one).
    package var deviceOK: [Bool] = []
    /// Element / text as query-global ids into the strings returned with the rows (0 = "").
    package var element: [UInt32] = []
    package var text: [UInt32] = []
    package var count: Int { type.count }

    package init() {}

    mutating func append(_ o: PageRows) {
        ts += o.ts; type += o.type; session += o.session; visitor += o.visitor; x += o.x; y += o.y
        depth += o.depth; top += o.top; deviceOK += o.deviceOK; element += o.element; text += o.text
    }
}

/// Scans one page's rows of the wanted types.
struct PageRowsCollector {
    let site: String
    let window: TimeWindow
    let path: String
    let device: String?
    let types: Set<EventType>
    let threads: Int
    /// Element and text strings (ids 0 = "").
    let strings = GlobalStrings(preset: [""])

    /// Columns beyond ts/type/path/device that the endpoint reads (the others are left empty).
    var payload: ColumnSet = ColumnSet([.session, .visitor, .x, .y, .scrollDepth, .timeOnPage, .element, .text])

    var columns: ColumnSet {
        var c = payload
        for k in [Column.ts, .type, .path] { c.insert(k) }
        // Without a device restriction every row passes: the column is not even decoded.
        if device != nil { c.insert(.device) }
        return c
    }

    /// The payload columns each heatmap endpoint reads: decoding is most of a heatmap's cost,
    /// and string columns like `element` / `text` are the dearest.
    static func payload(kind: HeatmapKind, type: HeatmapType?) -> ColumnSet {
        switch (kind, type) {
        case (.heatmap, .click?): ColumnSet([.x, .y, .element, .text])
        case (.heatmap, .move?): ColumnSet([.x, .y])
        case (.heatmap, .scroll?): ColumnSet([.session, .visitor, .scrollDepth])
        case (.heatmap, .attention?): ColumnSet([.session, .scrollDepth, .timeOnPage])
        case (.elements, _): ColumnSet([.session, .element, .text])
        case (.rageClicks, _): ColumnSet([.session, .x, .y, .element, .text])
        case (.deadClicks, _): ColumnSet([.x, .y, .element, .text])
        default: ColumnSet([.session, .visitor, .x, .y, .scrollDepth, .timeOnPage, .element, .text])
        }
    }

    /// Index of `s` in a dictionary (binary search when sorted by bytes).
    static func code(of s: String, in d: StringDictionary) -> Int? {
        if d.isSorted {
            var lo = 0, hi = d.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if bytesLess(d.values[mid], s) { lo = mid + 1 } else { hi = mid }
            }
            return lo < d.count && d.values[lo].utf8.elementsEqual(s.utf8) ? lo : nil
        }
        return d.values.firstIndex { $0.utf8.elementsEqual(s.utf8) }
    }

    func collect(source: any EventSource) throws -> (PageRows, ScanStats) {
        let path = self.path
        // Block pruning: a block from a segment (sorted dictionary) whose path code range excludes
        // the page's code, or whose segment lacks the path entirely, cannot hold a wanted row.
        let filter: @Sendable (BlockPruneContext) -> Bool = { ctx in
            guard let d = ctx.dictionary(.path), d.isSorted else { return true }
            guard let code = PageRowsCollector.code(of: path, in: d) else { return false }
            return Int64(code) >= ctx.stats.min(.path) && Int64(code) <= ctx.stats.max(.path)
        }
        var req = ScanRequest(site: site, from: window.from, to: window.to, columns: columns, blockFilter: filter)
        // Late materialization: `ts`, `type` and `path` pick the page's rows, and only those rows
        // of the other columns are decoded (a page is a few percent of a block).
        let mask = typeMask, from = window.from, to = window.to
        req.rowFilter = { c in PageRowsCollector.select(c, path: path, typeMask: mask, from: from, to: to) }
        req.lateColumns = ColumnSet(rawValue: columns.rawValue & ~ColumnSet([.ts, .type, .path]).rawValue)
        req.tsOnlyAtEdges = !needsTs
        let sp = try source.scanPlan(req)
        var all = PageRows()
        try WaveScanner(threads: threads).run(sp.tasks, prepare: { self.extract($0) }) { parts in
            for p in parts { all.append(p) }
        }
        return (all, sp.stats)
    }

    /// The types wanted, as a bit mask over `EventType.rawValue`.
    var typeMask: UInt8 {
        var m: UInt8 = 0
        for t in types { m |= 1 << t.rawValue }
        return m
    }

    /// Whether the endpoint reads `ts` (scroll, attention, elements and rage clicks order or
    /// pair rows in time; click, move and dead-click cells do not).
    var needsTs: Bool { payload.contains(.session) }

    /// The rows of `c` on `path`, of a type in `typeMask`, inside `[from, to)` (every row passes
    /// the time test when `ts` is absent: the block lies inside the window).
    static func select(_ c: ColumnChunk, path: String, typeMask: UInt8, from: Int64, to: Int64) -> [Int32] {
        guard let pd = c.string(.path), let code = PageRowsCollector.code(of: path, in: pd.dictionary),
              pd.codes.count == c.count, c.type.count == c.count else { return [] }
        let target = UInt32(code)
        let hasTs = c.ts.count == c.count
        // A selection vector written without branches: every row's index is stored, and the
        // cursor advances only for a match (the page is a fraction of the rows, so a branch
        // per row would mispredict often).
        return pd.codes.withUnsafeBufferPointer { pc in c.ts.withUnsafeBufferPointer { ts in c.type.withUnsafeBufferPointer { ty in
            [Int32](unsafeUninitializedCapacity: c.count) { sel, k in
                var m = 0
                @inline(__always) func bit(_ b: Bool) -> Int { b ? 1 : 0 }
                if hasTs {
                    for i in 0..<c.count {
                        let t = ts[i], y = ty[i]
                        sel[m] = Int32(truncatingIfNeeded: i)
                        // y < 8 always holds for stored types; the mask test keeps it in range anyway.
                        m &+= bit(pc[i] == target) & bit(t >= from) & bit(t < to) & Int(typeMask &>> (y & 7) & 1) & bit(y < 8)
                    }
                } else {
                    for i in 0..<c.count {
                        let y = ty[i]
                        sel[m] = Int32(truncatingIfNeeded: i)
                        m &+= bit(pc[i] == target) & Int(typeMask &>> (y & 7) & 1) & bit(y < 8)
                    }
                }
                k = m
            }
        }}}
    }

    private func extract(_ c: ColumnChunk) -> PageRows {
        var out = PageRows()
        // Chunks from the scan hold only the selected rows already; selecting again keeps any
        // source correct (and costs a pass over those few rows).
        let rows = Self.select(c, path: path, typeMask: typeMask, from: window.from, to: window.to)
        if rows.isEmpty { return out }
        rows.withUnsafeBufferPointer { sel in
            func gather<T>(_ a: [T]) -> [T] {
                if a.count != c.count { return [] }
                return a.withUnsafeBufferPointer { src in
                    [T](unsafeUninitializedCapacity: sel.count) { dst, k in
                        for j in 0..<sel.count { (dst.baseAddress! + j).initialize(to: src[Int(sel[j])]) }
                        k = sel.count
                    }
                }
            }
            /// Codes of a string column mapped through a per-dictionary table.
            func mapped(_ codes: [UInt32], _ table: [UInt32]) -> [UInt32] {
                codes.withUnsafeBufferPointer { cs in table.withUnsafeBufferPointer { m in
                    [UInt32](unsafeUninitializedCapacity: sel.count) { dst, k in
                        for j in 0..<sel.count { dst[j] = m[Int(cs[Int(sel[j])])] }
                        k = sel.count
                    }
                }}
            }
            out.ts = needsTs ? gather(c.ts) : []
            out.type = gather(c.type)
            out.session = gather(c.session); out.visitor = gather(c.visitor)
            out.x = gather(c.x); out.y = gather(c.y); out.depth = gather(c.scrollDepth); out.top = gather(c.timeOnPage)
            if let device, let dev = c.string(.device) {
                let ok: [UInt32] = dev.dictionary.values.map { $0 == device ? 1 : 0 }
                out.deviceOK = mapped(dev.codes, ok).map { $0 != 0 }
            } else {
                out.deviceOK = [Bool](repeating: true, count: sel.count)
            }
            if let el = c.string(.element) { out.element = mapped(el.codes, strings.mapping(el.dictionary)) }
            if let tx = c.string(.text) { out.text = mapped(tx.codes, strings.mapping(tx.dictionary)) }
        }
        return out
    }
}
