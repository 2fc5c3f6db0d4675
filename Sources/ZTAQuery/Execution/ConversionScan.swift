import Foundation
import ZTAFormat
import ZTAStorage

/// The plan node shared by goal and funnel statistics (api.md §7.5, §7.6): one scan of the
/// window that evaluates up to 64 goal predicates per row, the filters of events.md §3, and the
/// session folds (entry, duration goals), yielding the window's rows in session order with a
/// predicate bit mask each.
///
/// Predicates never look at strings per row: each block dictionary (path, name, category,
/// label) is evaluated once per distinct string into a table of bit masks over its codes (a
/// regex runs once per distinct path), and rows are tested with one load per column.
struct ConversionScan {
    let site: String
    let window: TimeWindow
    let filters: [Filter]
    /// Bit k of a row's mask = predicate k holds for the row (≤ 64 predicates).
    let predicates: [GoalMatcher]
    let threads: Int
    /// The caller reads only kept rows matching some predicate (funnels): when no row needs
    /// its session (no session-level filter, no duration predicate), the scan drops every
    /// other row at once and skips the session grouping (`dropsUnmatched`).
    var matchingRowsOnly = false
    /// The caller reads session entry sources (goal top sources) and completion values (goal
    /// value totals); funnels read neither, so their scan decodes neither column.
    var needsSourcesAndValues = true

    static let maxPredicates = 64
    /// Rows held at once (~60 bytes each): a window with more answers 503 rather than
    /// exhausting memory (~600 MB at most).
    static let maxRows = 10_000_000

    /// Rows of other types than pageview / event matter only to duration goals (a session's
    /// first event and its completion event can be of any type); otherwise they are dropped
    /// at the scan.
    var keepsAllTypes: Bool { predicates.contains { $0.goal.type == .duration } }

    /// Rows that match no predicate, or that an event-level filter drops, are not kept by the
    /// scan, and rows are left in scan order (`ConversionRows.sessionPass` not run: `kept` =
    /// the event filters' verdict, which then is the whole verdict).
    var dropsUnmatched: Bool { matchingRowsOnly && !keepsAllTypes && sessionFilters.isEmpty }

    var eventFilters: [Filter] { filters.filter { !$0.dimension.isSessionLevel } }
    var sessionFilters: [Filter] { filters.filter { $0.dimension.isSessionLevel } }

    var columns: ColumnSet {
        var c = ColumnSet([.ts, .type, .session, .visitor, .path, .name])
        if needsSourcesAndValues { c.insert(.referrer) }
        let events = predicates.filter { $0.goal.type == .event }
        // A category or label column is read only when some predicate tests it.
        if events.contains(where: { !($0.goal.eventCategory ?? "").isEmpty }) { c.insert(.category) }
        if events.contains(where: { !($0.goal.eventLabel ?? "").isEmpty }) { c.insert(.label) }
        if needsSourcesAndValues && !events.isEmpty { c.insert(.value) }
        // Session-level filters read the entry pageview's columns; event-level ones the row's.
        for f in filters { c.insert(f.dimension.column) }
        return c
    }

    /// Runs the scan and the session pass.
    func run(source: any EventSource) throws -> ConversionRows {
        let req = ScanRequest(site: site, from: window.from, to: window.to, columns: columns)
        let sp = try source.scanPlan(req)
        let ctx = ScanContext(scan: self)
        var parts: [ConversionRows] = []
        var held = 0
        try WaveScanner(threads: threads).run(sp.tasks, prepare: { ctx.extract($0) }) { wave in
            held += wave.reduce(0) { $0 + $1.count }
            if held > Self.maxRows { throw QueryError("Service unavailable", status: 503) }
            parts += wave
        }
        var rows = ConversionRows.concat(parts)
        parts = []
        rows.paths = ctx.paths.snapshot()
        rows.names = ctx.names.snapshot()
        rows.referrers = ctx.referrers.snapshot()
        rows.pathRank = ConversionRows.ranks(rows.paths)
        rows.nameRank = ConversionRows.ranks(rows.names)
        if dropsUnmatched {
            // Session filters absent: a row's verdict is its own (every row left is kept).
            rows.kept = rows.eventKept
            rows.source = [UInt32](repeating: 0, count: rows.count)
            return rows
        }
        rows.sortBySession()
        rows.sessionPass(durations: predicates.enumerated().compactMap { k, p in p.durationMs.map { (k, $0) } },
                         noEntryPass: sessionFilters.allSatisfy { $0.matches($0.dimension.noEntryValue) })
        return rows
    }
}

/// Per-scan shared state: global string ids and per-dictionary lookup tables.
final class ScanContext: @unchecked Sendable {
    let scan: ConversionScan
    let paths = GlobalStrings(preset: [""])
    let names = GlobalStrings(preset: [""])
    let referrers = GlobalStrings(preset: [""])
    private let lock = NSLock()
    private var pathBits: [ObjectIdentifier: (StringDictionary, [UInt64])] = [:]
    private var pathMemo: [UInt32: UInt64] = [:]
    private var nameBits: [ObjectIdentifier: (StringDictionary, [UInt64])] = [:]
    private var categoryBits: [ObjectIdentifier: (StringDictionary, [UInt64])] = [:]
    private var labelBits: [ObjectIdentifier: (StringDictionary, [UInt64])] = [:]
    let eventLUTs: [(Column, FilterLUTCache)]
    let sessionLUTs: [(Column, FilterLUTCache)]
    /// Predicates by kind, as bit masks.
    let pageviewMask: UInt64
    let eventMask: UInt64

    init(scan: ConversionScan) {
        self.scan = scan
        func group(_ fs: [Filter]) -> [(Column, FilterLUTCache)] {
            var cols: [Column] = []
            for f in fs where !cols.contains(f.dimension.column) { cols.append(f.dimension.column) }
            return cols.map { c in (c, FilterLUTCache(filters: fs.filter { $0.dimension.column == c })) }
        }
        eventLUTs = group(scan.eventFilters)
        sessionLUTs = group(scan.sessionFilters)
        var pv: UInt64 = 0, ev: UInt64 = 0
        for (k, p) in scan.predicates.enumerated() {
            if p.goal.type == .pageview { pv |= 1 << UInt64(k) }
            if p.goal.type == .event { ev |= 1 << UInt64(k) }
        }
        pageviewMask = pv; eventMask = ev
    }

    /// Bit masks over a dictionary's codes, computed once per dictionary instance.
    private func table(_ cache: inout [ObjectIdentifier: (StringDictionary, [UInt64])], _ d: StringDictionary,
                       _ f: (String) -> UInt64) -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        let key = ObjectIdentifier(d)
        if let t = cache[key] { return t.1 }
        let t = d.values.map(f)
        cache[key] = (d, t)
        return t
    }

    /// Path masks of a dictionary. Each distinct path is evaluated once per query (memo by
    /// global id), however many segment / memtable dictionaries repeat it — a regex runs once
    /// per distinct string.
    func bits(path d: StringDictionary) -> [UInt64] {
        let gids = paths.mapping(d)
        let preds = scan.predicates
        lock.lock(); defer { lock.unlock() }
        let key = ObjectIdentifier(d)
        if let t = pathBits[key] { return t.1 }
        var t = [UInt64](repeating: 0, count: d.count)
        for (i, s) in d.values.enumerated() {
            let g = gids[i]
            if let m = pathMemo[g] { t[i] = m; continue }
            var m: UInt64 = 0
            for (k, p) in preds.enumerated() where p.goal.type == .pageview && (p.path?.matches(s) ?? false) { m |= 1 << UInt64(k) }
            pathMemo[g] = m
            t[i] = m
        }
        pathBits[key] = (d, t)
        return t
    }

    func bits(name d: StringDictionary) -> [UInt64] {
        let preds = scan.predicates
        return table(&nameBits, d) { s in
            var m: UInt64 = 0
            for (k, p) in preds.enumerated() where p.goal.type == .event && p.goal.eventAction == s { m |= 1 << UInt64(k) }
            return m
        }
    }

    /// Category (or label) tables: bit set where the predicate has no such condition or it holds.
    func bits(category d: StringDictionary) -> [UInt64] {
        let preds = scan.predicates
        return table(&categoryBits, d) { s in
            var m: UInt64 = 0
            for (k, p) in preds.enumerated() {
                if let c = p.goal.eventCategory, !c.isEmpty, c != s { continue }
                m |= 1 << UInt64(k)
            }
            return m
        }
    }

    func bits(label d: StringDictionary) -> [UInt64] {
        let preds = scan.predicates
        return table(&labelBits, d) { s in
            var m: UInt64 = 0
            for (k, p) in preds.enumerated() {
                if let l = p.goal.eventLabel, !l.isEmpty, l != s { continue }
                m |= 1 << UInt64(k)
            }
            return m
        }
    }

    /// The chunk's rows of the window, with predicate bits and filter verdicts.
    func extract(_ c: ColumnChunk) -> ConversionRows {
        var out = ConversionRows()
        let from = scan.window.from, to = scan.window.to
        var sel: [Int] = []
        sel.reserveCapacity(c.count)
        let allTypes = scan.keepsAllTypes
        for i in 0..<c.count where c.ts[i] >= from && c.ts[i] < to && (allTypes || c.type[i] <= EventType.event.rawValue) { sel.append(i) }
        if sel.isEmpty { return out }
        out.reserve(sel.count)
        guard let pd = c.string(.path), let nd = c.string(.name) else { return out }
        // Without the referrer column (not requested) every row's referrer is direct (0).
        let rd = c.string(.referrer)
        let pBits = bits(path: pd.dictionary)
        let nBits = eventMask == 0 ? [] : bits(name: nd.dictionary)
        let cBits = eventMask == 0 ? nil : c.string(.category).map { (bits(category: $0.dictionary), $0.codes) }
        let lBits = eventMask == 0 ? nil : c.string(.label).map { (bits(label: $0.dictionary), $0.codes) }
        let pMap = paths.mapping(pd.dictionary), nMap = names.mapping(nd.dictionary), rMap = rd.map { referrers.mapping($0.dictionary) } ?? []
        let rCodes = rd?.codes ?? []
        let evLUT: [([UInt8], [UInt32])] = eventLUTs.compactMap { col, cache in c.string(col).map { (cache.lut($0.dictionary), $0.codes) } }
        let ssLUT: [([UInt8], [UInt32])] = sessionLUTs.compactMap { col, cache in c.string(col).map { (cache.lut($0.dictionary), $0.codes) } }
        let hasValue = !c.value.isEmpty
        let dropUnmatched = scan.dropsUnmatched
        for i in sel {
            let t = c.type[i]
            let pc = Int(pd.codes[i]), nc = Int(nd.codes[i])
            var m: UInt64 = 0
            if t == EventType.pageview.rawValue {
                m = pBits[pc] & pageviewMask
            } else if t == EventType.event.rawValue, eventMask != 0 {
                m = nBits[nc] & eventMask
                if let (cb, cc) = cBits { m &= cb[Int(cc[i])] }
                if let (lb, lc) = lBits { m &= lb[Int(lc[i])] }
            }
            var ek = true
            for (lut, codes) in evLUT where lut[Int(codes[i])] == 0 { ek = false; break }
            var sk = true
            for (lut, codes) in ssLUT where lut[Int(codes[i])] == 0 { sk = false; break }
            if dropUnmatched && (m == 0 || !ek) { continue }
            out.ts.append(c.ts[i]); out.type.append(t)
            out.session.append(c.session[i]); out.visitor.append(c.visitor[i])
            out.value.append(hasValue ? c.value[i] : 0)
            out.path.append(pMap[pc]); out.name.append(nMap[nc]); out.referrer.append(rCodes.isEmpty ? 0 : rMap[Int(rCodes[i])])
            out.bits.append(m); out.eventKept.append(ek); out.sessionPass.append(sk)
        }
        return out
    }
}

/// The window's rows (struct of arrays). After `run`: sorted by session, then the tie order of
/// api.md §7.6 (ts, type, path bytes, name bytes); `kept` = the filters keep the row
/// (events.md §3), `source` = the row's session entry referrer (global id, 0 = direct), and
/// duration predicates' bits are set on their completion rows.
struct ConversionRows {
    var ts: [Int64] = []
    var type: [UInt8] = []
    var session: [UInt64] = []
    var visitor: [UInt64] = []
    var value: [Double] = []
    var path: [UInt32] = []
    var name: [UInt32] = []
    var referrer: [UInt32] = []
    var bits: [UInt64] = []
    var eventKept: [Bool] = []
    var sessionPass: [Bool] = []
    var kept: [Bool] = []
    var source: [UInt32] = []
    var paths: [String] = []
    var names: [String] = []
    var referrers: [String] = []
    /// Byte-order rank of each path / name global id.
    var pathRank: [UInt32] = []
    var nameRank: [UInt32] = []

    var count: Int { ts.count }

    mutating func reserve(_ n: Int) {
        ts.reserveCapacity(n); type.reserveCapacity(n); session.reserveCapacity(n); visitor.reserveCapacity(n)
        value.reserveCapacity(n); path.reserveCapacity(n); name.reserveCapacity(n); referrer.reserveCapacity(n)
        bits.reserveCapacity(n); eventKept.reserveCapacity(n); sessionPass.reserveCapacity(n)
    }

    static func concat(_ parts: [ConversionRows]) -> ConversionRows {
        var r = ConversionRows()
        r.reserve(parts.reduce(0) { $0 + $1.count })
        for p in parts {
            r.ts += p.ts; r.type += p.type; r.session += p.session; r.visitor += p.visitor; r.value += p.value
            r.path += p.path; r.name += p.name; r.referrer += p.referrer; r.bits += p.bits
            r.eventKept += p.eventKept; r.sessionPass += p.sessionPass
        }
        return r
    }

    static func ranks(_ values: [String]) -> [UInt32] {
        let order = values.indices.sorted { bytesLess(values[$0], values[$1]) }
        var rank = [UInt32](repeating: 0, count: values.count)
        for (r, id) in order.enumerated() { rank[id] = UInt32(r) }
        return rank
    }

    /// Whether row a precedes row b in the tie order of api.md §7.6 (ts, type, path, name),
    /// then by session so the order is total on distinguishable rows.
    @inline(__always)
    func precedes(_ a: Int, _ b: Int) -> Bool {
        if ts[a] != ts[b] { return ts[a] < ts[b] }
        if type[a] != type[b] { return type[a] < type[b] }
        if path[a] != path[b] { return pathRank[Int(path[a])] < pathRank[Int(path[b])] }
        if name[a] != name[b] { return nameRank[Int(name[a])] < nameRank[Int(name[b])] }
        return session[a] < session[b]
    }

    /// Groups rows by session (dense ids by first appearance, then a stable counting sort) and
    /// puts each session's rows in tie order; a session's rows mostly arrive in `ts` order
    /// already (segments are ts-sorted), so most sessions need no sort at all.
    mutating func sortBySession() {
        if pathRank.count != paths.count { pathRank = Self.ranks(paths) }
        if nameRank.count != names.count { nameRank = Self.ranks(names) }
        let perm = grouped(by: session, rows: Array(0..<count))
        func g<T>(_ a: [T]) -> [T] { perm.map { a[$0] } }
        ts = g(ts); type = g(type); session = g(session); visitor = g(visitor); value = g(value)
        path = g(path); name = g(name); referrer = g(referrer); bits = g(bits)
        eventKept = g(eventKept); sessionPass = g(sessionPass)
    }

    /// `rows` grouped by `key[row]` (groups in order of first appearance; dense ids from an
    /// open-addressing table and a counting sort, no comparison sort across groups), each
    /// group in the tie order of `precedes`. Rows mostly arrive in `ts` order already
    /// (segments are ts-sorted), so most groups need no sort at all.
    func grouped(by key: [UInt64], rows: [Int]) -> [Int] {
        let n = rows.count
        var dense = DenseIds(capacity: min(n, 4096))
        var ids = [Int32](repeating: 0, count: n)
        var sizes: [Int32] = []
        for (j, i) in rows.enumerated() {
            let d = dense.id(key[i])
            if d == sizes.count { sizes.append(1) } else { sizes[d] += 1 }
            ids[j] = Int32(truncatingIfNeeded: d)
        }
        dense = DenseIds(capacity: 0)
        var start = [Int](repeating: 0, count: sizes.count + 1)
        for k in 0..<sizes.count { start[k + 1] = start[k] + Int(sizes[k]) }
        var fill = Array(start.dropLast())
        var perm = [Int](repeating: 0, count: n)
        for j in 0..<n {
            let d = Int(ids[j])
            perm[fill[d]] = rows[j]
            fill[d] += 1
        }
        ids = []
        for k in 0..<sizes.count where sizes[k] > 1 {
            let lo = start[k], hi = start[k + 1]
            var sorted = true
            for j in (lo + 1)..<hi where precedes(perm[j], perm[j - 1]) { sorted = false; break }
            if !sorted { perm[lo..<hi].sort { precedes($0, $1) } }
        }
        return perm
    }

    /// Per session: entry (first pageview in the tie order), the session filters' verdict by
    /// entry (`noEntryPass` without one), duration completions (the first event at or after
    /// first ts + duration, whatever the filters), and each row's `kept` and `source`.
    mutating func sessionPass(durations: [(Int, Int64)], noEntryPass: Bool) {
        kept = [Bool](repeating: false, count: count)
        source = [UInt32](repeating: 0, count: count)
        var s = 0
        while s < count {
            var e = s + 1
            while e < count && session[e] == session[s] { e += 1 }
            var entry = -1
            for i in s..<e where type[i] == EventType.pageview.rawValue { entry = i; break }
            let pass = entry >= 0 ? sessionPass[entry] : noEntryPass
            let src = entry >= 0 ? referrer[entry] : 0
            for i in s..<e {
                kept[i] = pass && eventKept[i]
                source[i] = src
            }
            let first = ts[s]
            for (k, ms) in durations {
                for i in s..<e where ts[i] >= first + ms {
                    bits[i] |= 1 << UInt64(k)
                    break
                }
            }
            s = e
        }
    }
}
