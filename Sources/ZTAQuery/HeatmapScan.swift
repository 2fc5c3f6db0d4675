import ZTAFormat
import ZTAStorage

/// The rows of one page that a heatmap needs, gathered from a pruned scan: only blocks whose
/// path code range can hold the page are decoded, and rows are matched by dictionary code.
struct PageRows {
    var ts: [Int64] = []
    var type: [UInt8] = []
    var session: [UInt64] = []
    var visitor: [UInt64] = []
    var x: [Int32] = []
    var y: [Int32] = []
    var depth: [Int8] = []
    var top: [Int32] = []
    /// Device matches the request's device (always true without one).
    var deviceOK: [Bool] = []
    /// Element / text as query-global ids into `PageRowsCollector.strings`.
    var element: [UInt32] = []
    var text: [UInt32] = []
    var count: Int { ts.count }

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

    var columns: ColumnSet {
        ColumnSet([.ts, .type, .session, .visitor, .x, .y, .scrollDepth, .timeOnPage, .path, .device, .element, .text])
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
        let req = ScanRequest(site: site, from: window.from, to: window.to, columns: columns, blockFilter: filter)
        let sp = try source.scanPlan(req)
        var all = PageRows()
        try WaveScanner(threads: threads).run(sp.tasks, prepare: { self.extract($0) }) { parts in
            for p in parts { all.append(p) }
        }
        return (all, sp.stats)
    }

    private func extract(_ c: ColumnChunk) -> PageRows {
        var out = PageRows()
        guard let pd = c.string(.path), let code = PageRowsCollector.code(of: path, in: pd.dictionary) else { return out }
        let target = UInt32(code)
        let dev = c.string(.device)!
        let devOK: [Bool] = dev.dictionary.values.map { device == nil || $0 == device! }
        let el = c.string(.element)!, tx = c.string(.text)!
        let elMap = strings.mapping(el.dictionary), txMap = strings.mapping(tx.dictionary)
        var typeMask: UInt8 = 0
        for t in types { typeMask |= 1 << t.rawValue }
        let from = window.from, to = window.to
        for i in 0..<c.count where pd.codes[i] == target {
            let t = c.ts[i], ty = c.type[i]
            guard t >= from, t < to, ty < 8, typeMask & (1 << ty) != 0 else { continue }
            out.ts.append(t); out.type.append(ty); out.session.append(c.session[i]); out.visitor.append(c.visitor[i])
            out.x.append(c.x[i]); out.y.append(c.y[i]); out.depth.append(c.scrollDepth[i]); out.top.append(c.timeOnPage[i])
            out.deviceOK.append(devOK[Int(dev.codes[i])])
            out.element.append(elMap[Int(el.codes[i])]); out.text.append(txMap[Int(tx.codes[i])])
        }
        return out
    }
}
