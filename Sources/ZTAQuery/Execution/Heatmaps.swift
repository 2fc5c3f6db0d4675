import ZTAFormat
import ZTAStorage

/// Most frequent value among counts, ties → smallest by bytes.
func mostFrequent(_ counts: [UInt32: Int], _ strings: [String]) -> UInt32? {
    var best: UInt32? = nil
    var bestN = -1
    for (k, n) in counts {
        if n > bestN || (n == bestN && bytesLess(strings[Int(k)], strings[Int(best!)])) { best = k; bestN = n }
    }
    return best
}

/// The leading tag of a CSS selector (events.md §6.17): the prefix of letters, digits and `-`, lower-cased.
func leadingTag(_ selector: String) -> String {
    var end = selector.utf8.startIndex
    for (i, c) in zip(selector.utf8.indices, selector.utf8) {
        let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
        if !ok { end = i; break }
        end = selector.utf8.index(after: i)
    }
    return String(selector[..<end]).lowercased()
}

let interactiveTags: Set<String> = ["a", "button", "input", "select", "textarea", "label", "summary", "option", "details"]

extension QueryEngine {
    /// Body of the heatmap endpoints (api.md §6); a page without data for click/move/scroll/attention
    /// is a 404 `No heatmap data found for this page`.
    public func heatmap(_ r: HeatmapRequest) throws -> [UInt8] {
        if r.kind == .pages { return try heatmapPages(r) }
        var types: Set<EventType> = [.pageview, .click]
        switch (r.kind, r.type) {
        case (.heatmap, .move?): types = [.pageview, .move]
        case (.heatmap, .scroll?): types = [.pageview, .scroll]
        case (.heatmap, .attention?): types = [.pageview, .scroll, .engagement]
        default: break
        }
        let query = PageRowsQuery(site: r.siteId, window: r.window, path: r.path, device: r.device, types: types,
                                  payload: PageRowsCollector.payload(kind: r.kind, type: r.type))
        let fetched = try heatmaps.pageRows(query)
        let rows = fetched.rows, strings = fetched.strings
        var w = JSONWriter(capacity: 8192)
        switch (r.kind, r.type) {
        case (.heatmap, .click?): try writeCells(r, rows, strings, move: false, &w)
        case (.heatmap, .move?): try writeCells(r, rows, strings, move: true, &w)
        case (.heatmap, .scroll?): try writeScroll(r, rows, &w)
        case (.heatmap, .attention?): try writeAttention(r, rows, &w)
        case (.elements, _): writeElements(r, rows, strings, &w)
        case (.rageClicks, _): writeRage(r, rows, strings, &w)
        case (.deadClicks, _): writeDead(r, rows, strings, &w)
        default: break
        }
        return w.bytes
    }

    private func pageviewCount(_ rows: PageRows) -> Int {
        var n = 0
        for i in 0..<rows.count where rows.type[i] == EventType.pageview.rawValue && rows.deviceOK[i] { n += 1 }
        return n
    }

    private func header(_ r: HeatmapRequest, _ w: inout JSONWriter, withType: Bool) {
        if withType { w.key("type"); w.string(r.type!.rawValue) }
        w.key("path"); w.string(r.path)
        w.key("period"); w.string(r.window.period)
    }

    static let noData = QueryError("No heatmap data found for this page", status: 404)

    // MARK: click / move

    private func writeCells(_ r: HeatmapRequest, _ rows: PageRows, _ strings: [String], move: Bool, _ w: inout JSONWriter) throws {
        let want = move ? EventType.move.rawValue : EventType.click.rawValue
        let grid = HeatmapCells(rows: rows, type: want, limit: r.limit, elements: !move, strings: strings)
        let total = grid.total
        if total == 0 { throw Self.noData }
        let vp = Viewport.of(r.device)
        w.beginObject()
        header(r, &w, withType: true)
        w.key(move ? "totalMovements" : "totalClicks"); w.int(total)
        w.key("pageviews"); w.int(pageviewCount(rows))
        w.key("viewport"); w.beginObject(); w.key("width"); w.int(vp.width); w.key("height"); w.int(vp.height); w.endObject()
        w.key(move ? "movements" : "clicks"); w.beginArray()
        for cell in grid.cells {
            w.beginObject()
            w.key("x"); w.int(cell.x)
            w.key("y"); w.int(cell.y)
            if move {
                w.key("intensity"); w.int(cell.count)
                w.key("percentage"); w.fixed(Rounding.fixed(Int64(cell.count), Int64(total), times: 100, decimals: 2), decimals: 2)
            } else {
                w.key("count"); w.int(cell.count)
                w.key("percentage"); w.fixed(Rounding.fixed(Int64(cell.count), Int64(total), times: 100, decimals: 1), decimals: 1)
                w.key("element"); w.string(Int(cell.element) < strings.count ? strings[Int(cell.element)] : "")
                w.key("text"); w.string(Int(cell.text) < strings.count ? strings[Int(cell.text)] : "")
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    // MARK: scroll

    private func writeScroll(_ r: HeatmapRequest, _ rows: PageRows, _ w: inout JSONWriter) throws {
        // Rows of the device: pageviews and scrolls, each with a dense session and visitor id.
        let pvType = EventType.pageview.rawValue, scType = EventType.scroll.rawValue
        var sel: [Int32] = []
        for i in 0..<rows.count where rows.deviceOK[i] && (rows.type[i] == pvType || rows.type[i] == scType) {
            sel.append(Int32(truncatingIfNeeded: i))
        }
        var sessions = DenseIds(capacity: min(sel.count, 4096)), visitors = DenseIds(capacity: min(sel.count, 4096))
        var sessionOf = [Int32](repeating: 0, count: sel.count)
        var pageviews = 0, scrolls = 0
        // Per visitor: has a pageview; max scroll depth (−1 none).
        var pageVisitor = [Bool](repeating: false, count: sel.count)
        var visitorMax = [Int](repeating: -1, count: sel.count)
        for (k, i32) in sel.enumerated() {
            let i = Int(i32)
            sessionOf[k] = Int32(truncatingIfNeeded: sessions.id(rows.session[i]))
            let v = visitors.id(rows.visitor[i])
            if rows.type[i] == pvType {
                pageviews += 1
                pageVisitor[v] = true
            } else {
                scrolls += 1
                visitorMax[v] = max(visitorMax[v], Int(rows.depth[i]))
            }
        }
        if scrolls == 0 { throw Self.noData }
        // A scroll belongs to the latest pageview of its session at or before it (events.md §6.11):
        // group rows by session (counting sort), order each group by (ts, pageview first), sweep.
        let ns = sessions.count
        var start = [Int](repeating: 0, count: ns + 1)
        for s in sessionOf { start[Int(s) + 1] += 1 }
        for s in 0..<ns { start[s + 1] += start[s] }
        var order = [Int32](repeating: 0, count: sel.count)
        var fill = start
        for (k, s) in sessionOf.enumerated() { order[fill[Int(s)]] = sel[k]; fill[Int(s)] += 1 }
        var depthSum = 0
        for s in 0..<ns {
            let lo = start[s], hi = start[s + 1]
            // Insertion sort: a session has few rows on one page.
            if hi - lo > 1 {
                for a in (lo + 1)..<hi {
                    let x = order[a]
                    let kx = (rows.ts[Int(x)], rows.type[Int(x)] == pvType ? 0 : 1)
                    var b = a
                    while b > lo {
                        let y = order[b - 1]
                        let ky = (rows.ts[Int(y)], rows.type[Int(y)] == pvType ? 0 : 1)
                        if ky <= kx { break }
                        order[b] = y
                        b -= 1
                    }
                    order[b] = x
                }
            }
            var current = -1  // max depth assigned to the current pageview; −1 before the first
            for a in lo..<hi {
                let i = Int(order[a])
                if rows.type[i] == pvType {
                    if current > 0 { depthSum += current }
                    current = 0
                } else if current >= 0 {
                    current = max(current, Int(rows.depth[i]))
                }
            }
            if current > 0 { depthSum += current }
        }
        var pageVisitorCount = 0
        for v in 0..<visitors.count where pageVisitor[v] { pageVisitorCount += 1 }
        let vp = Viewport.of(r.device)
        w.beginObject()
        header(r, &w, withType: true)
        w.key("pageviews"); w.int(pageviews)
        w.key("avgScrollDepth"); w.fixed(Rounding.fixed(Int64(depthSum), Int64(pageviews), times: 1, decimals: 1), decimals: 1)
        w.key("foldHeight"); w.int(vp.height)
        w.key("scrollDepth"); w.beginArray()
        for d in stride(from: 0, through: 100, by: 10) {
            var n = 0
            for v in 0..<visitors.count where visitorMax[v] >= d { n += 1 }
            w.beginObject()
            w.key("depth"); w.int(d)
            w.key("percentage"); w.fixed(Rounding.fixed(Int64(n), Int64(pageVisitorCount), times: 100, decimals: 1), decimals: 1)
            w.key("visitors"); w.int(n)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    // MARK: attention

    private func writeAttention(_ r: HeatmapRequest, _ rows: PageRows, _ w: inout JSONWriter) throws {
        // Units: sessions with a pageview of the page (and device) in the window.
        var units: [UInt64: (d: Int, t: Int64)] = [:]
        var pageviews = 0
        var anyScroll = false
        for i in 0..<rows.count where rows.type[i] == EventType.pageview.rawValue && rows.deviceOK[i] {
            pageviews += 1
            units[rows.session[i]] = (0, 0)
        }
        for i in 0..<rows.count {
            let ty = rows.type[i]
            if ty == EventType.scroll.rawValue && rows.deviceOK[i] { anyScroll = true }
            guard ty == EventType.scroll.rawValue || ty == EventType.engagement.rawValue,
                  var u = units[rows.session[i]] else { continue }
            if ty == EventType.scroll.rawValue { u.d = max(u.d, Int(rows.depth[i])) } else { u.t += Int64(rows.top[i]) }
            units[rows.session[i]] = u
        }
        if !anyScroll { throw Self.noData }
        var bandTime = [Double](repeating: 0, count: 10)
        var reach = [Int](repeating: 0, count: 10)
        for (_, u) in units {
            for i in 0..<10 where u.d >= 10 * i { reach[i] += 1 }
            if u.d <= 0 {
                bandTime[0] += Double(u.t)
                continue
            }
            for i in 0..<10 {
                let overlap = max(0, min(10 * i + 10, u.d) - 10 * i)
                if overlap > 0 { bandTime[i] += Double(u.t) * Double(overlap) / Double(u.d) }
            }
        }
        let maxTime = bandTime.max() ?? 0
        w.beginObject()
        header(r, &w, withType: true)
        w.key("pageviews"); w.int(pageviews)
        w.key("areas"); w.beginArray()
        for i in 0..<10 {
            w.beginObject()
            w.key("depthFrom"); w.int(10 * i)
            w.key("depthTo"); w.int(10 * i + 10)
            w.key("scrollReach"); w.fixed(Rounding.fixed(Int64(reach[i]), Int64(units.count), times: 100, decimals: 1), decimals: 1)
            w.key("avgTime"); w.fixed(reach[i] == 0 ? 0 : Rounding.fixed(bandTime[i] / Double(reach[i]), decimals: 1), decimals: 1)
            w.key("attention"); w.int(maxTime > 0 ? Rounding.fixed(100 * bandTime[i] / maxTime, decimals: 0) : 0)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    // MARK: elements

    private func writeElements(_ r: HeatmapRequest, _ rows: PageRows, _ strings: [String], _ w: inout JSONWriter) {
        struct El { var clicks = 0; var texts: [UInt32: Int] = [:]; var dtSum: Int64 = 0; var dtN: Int64 = 0 }
        // Pageviews of the page per session (any device: the click's own session), sorted by ts.
        var pvBySession: [UInt64: [Int64]] = [:]
        for i in 0..<rows.count where rows.type[i] == EventType.pageview.rawValue {
            pvBySession[rows.session[i], default: []].append(rows.ts[i])
        }
        for k in pvBySession.keys { pvBySession[k]!.sort() }
        var els: [UInt32: El] = [:]
        for i in 0..<rows.count where rows.type[i] == EventType.click.rawValue && rows.deviceOK[i] && rows.element[i] != 0 {
            var e = els[rows.element[i]] ?? El()
            e.clicks += 1
            e.texts[rows.text[i], default: 0] += 1
            if let pvs = pvBySession[rows.session[i]] {
                let t = rows.ts[i]
                var lo = 0, hi = pvs.count
                while lo < hi { let mid = (lo + hi) / 2; if pvs[mid] <= t { lo = mid + 1 } else { hi = mid } }
                if lo > 0 { e.dtSum += t - pvs[lo - 1]; e.dtN += 1 }
            }
            els[rows.element[i]] = e
        }
        let pageviews = pageviewCount(rows)
        let ordered = els.sorted { a, b in
            a.value.clicks != b.value.clicks ? a.value.clicks > b.value.clicks : bytesLess(strings[Int(a.key)], strings[Int(b.key)])
        }
        w.beginObject()
        header(r, &w, withType: false)
        w.key("pageviews"); w.int(pageviews)
        w.key("elements"); w.beginArray()
        for (k, e) in ordered.prefix(r.limit) {
            let el = strings[Int(k)]
            let tag = leadingTag(el)
            let rest = String(el.utf8.dropFirst(tag.utf8.count))!
            w.beginObject()
            w.key("element"); w.string(el)
            w.key("selector"); w.string(rest.isEmpty ? el : rest)
            w.key("text"); w.string(strings[Int(mostFrequent(e.texts, strings) ?? 0)])
            w.key("clicks"); w.int(e.clicks)
            w.key("clickRate"); w.fixed(Rounding.fixed(Int64(e.clicks), Int64(pageviews), times: 100, decimals: 1), decimals: 1)
            w.key("avgClickTime"); w.fixed(Rounding.fixed(e.dtSum, e.dtN * 1000, times: 1, decimals: 1), decimals: 1)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    // MARK: rage clicks

    private func writeRage(_ r: HeatmapRequest, _ rows: PageRows, _ strings: [String], _ w: inout JSONWriter) {
        struct Rage { var count = 0; var clicks = 0; var maxClicks = 0; var sx: Int64 = 0; var sy: Int64 = 0; var texts: [UInt32: Int] = [:] }
        // Each session's clicks in time order, as compact keys sorted once (no per-session lists).
        struct Click { var session: UInt64; var ts: Int64; var x: Int32; var y: Int32; var row: Int32 }
        var clicks: [Click] = []
        let clickType = EventType.click.rawValue
        rows.type.withUnsafeBufferPointer { ty in rows.deviceOK.withUnsafeBufferPointer { ok in
        rows.element.withUnsafeBufferPointer { el in rows.session.withUnsafeBufferPointer { se in
        rows.ts.withUnsafeBufferPointer { ts in rows.x.withUnsafeBufferPointer { xs in rows.y.withUnsafeBufferPointer { ys in
            for i in 0..<rows.count where ty[i] == clickType && ok[i] && el[i] != 0 {
                clicks.append(Click(session: se[i], ts: ts[i], x: xs[i], y: ys[i], row: Int32(truncatingIfNeeded: i)))
            }
        }}}}}}}
        // Sessions are split between workers by id; each sorts and scans its share.
        let element = rows.element, text = rows.text
        let parts = max(1, min(threads, clicks.count / 20_000 + 1))
        var shares = [[Click]](repeating: [], count: parts)
        for c in clicks { shares[Int(c.session % UInt64(parts))].append(c) }
        // One result slot per worker, each written by its worker only.
        let found = UnsafeMutableBufferPointer<[Rage?]>.allocate(capacity: parts)
        found.initialize(repeating: [])
        defer {
            _ = found.deinitialize()
            found.deallocate()
        }
        parallel(parts) { p in
            var cs = shares[p]
            // ts order; exact ties by position, then element/text bytes, for determinism.
            cs.sort { a, b in
                if a.session != b.session { return a.session < b.session }
                if a.ts != b.ts { return a.ts < b.ts }
                if a.x != b.x { return a.x < b.x }
                if a.y != b.y { return a.y < b.y }
                let ea = element[Int(a.row)], eb = element[Int(b.row)]
                if ea != eb { return bytesLess(strings[Int(ea)], strings[Int(eb)]) }
                return bytesLess(strings[Int(text[Int(a.row)])], strings[Int(text[Int(b.row)])])
            }
            var byElement = [Rage?](repeating: nil, count: strings.count)
            cs.withUnsafeBufferPointer { cs in
                var i = 0
                while i < cs.count {
                    let f = cs[i]
                    var j = i + 1
                    while j < cs.count {
                        let c = cs[j]
                        let dx = Int64(c.x) - Int64(f.x), dy = Int64(c.y) - Int64(f.y)
                        guard c.session == f.session, c.ts - f.ts <= 1000, dx * dx + dy * dy <= 2500 else { break }
                        j += 1
                    }
                    let run = j - i
                    if run >= 5 {
                        let e = Int(element[Int(f.row)])
                        var g = byElement[e] ?? Rage()
                        g.count += 1; g.clicks += run; g.maxClicks = max(g.maxClicks, run)
                        g.sx += Int64(f.x); g.sy += Int64(f.y)
                        g.texts[text[Int(f.row)], default: 0] += 1
                        byElement[e] = g
                        i = j
                    } else {
                        i += 1
                    }
                }
            }
            found[p] = byElement
        }
        var byElement = [Rage?](repeating: nil, count: strings.count)
        for share in found {
            for (e, g) in share.enumerated() {
                guard let g else { continue }
                var t = byElement[e] ?? Rage()
                t.count += g.count; t.clicks += g.clicks; t.maxClicks = max(t.maxClicks, g.maxClicks)
                t.sx += g.sx; t.sy += g.sy
                t.texts.merge(g.texts, uniquingKeysWith: +)
                byElement[e] = t
            }
        }
        var groups: [UInt32: Rage] = [:]
        for (e, g) in byElement.enumerated() { if let g { groups[UInt32(e)] = g } }
        let ordered = groups.sorted { a, b in
            a.value.count != b.value.count ? a.value.count > b.value.count : bytesLess(strings[Int(a.key)], strings[Int(b.key)])
        }
        w.beginObject()
        header(r, &w, withType: false)
        w.key("rageClicks"); w.beginArray()
        for (k, g) in ordered {
            w.beginObject()
            w.key("x"); w.int(Rounding.divide(g.sx, Int64(g.count)))
            w.key("y"); w.int(Rounding.divide(g.sy, Int64(g.count)))
            w.key("element"); w.string(strings[Int(k)])
            w.key("text"); w.string(strings[Int(mostFrequent(g.texts, strings) ?? 0)])
            w.key("count"); w.int(g.count)
            w.key("avgClicks"); w.fixed(Rounding.fixed(Int64(g.clicks), Int64(g.count), times: 1, decimals: 1), decimals: 1)
            w.key("maxClicks"); w.int(g.maxClicks)
            // Severity on the exact mean: high ≥ 10, medium ≥ 6.
            w.key("severity"); w.string(g.clicks >= 10 * g.count ? "high" : g.clicks >= 6 * g.count ? "medium" : "low")
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    // MARK: dead clicks

    private func writeDead(_ r: HeatmapRequest, _ rows: PageRows, _ strings: [String], _ w: inout JSONWriter) {
        struct Dead { var clicks = 0; var sx: Int64 = 0; var sy: Int64 = 0; var texts: [UInt32: Int] = [:] }
        var isDead: [UInt32: Bool] = [:]
        var groups: [UInt32: Dead] = [:]
        var total = 0, totalDead = 0
        for i in 0..<rows.count where rows.type[i] == EventType.click.rawValue && rows.deviceOK[i] && rows.element[i] != 0 {
            total += 1
            let e = rows.element[i]
            let dead: Bool
            if let d = isDead[e] { dead = d } else { dead = !interactiveTags.contains(leadingTag(strings[Int(e)])); isDead[e] = dead }
            guard dead else { continue }
            totalDead += 1
            var g = groups[e] ?? Dead()
            g.clicks += 1; g.sx += Int64(rows.x[i]); g.sy += Int64(rows.y[i])
            g.texts[rows.text[i], default: 0] += 1
            groups[e] = g
        }
        let ordered = groups.sorted { a, b in
            a.value.clicks != b.value.clicks ? a.value.clicks > b.value.clicks : bytesLess(strings[Int(a.key)], strings[Int(b.key)])
        }
        w.beginObject()
        header(r, &w, withType: false)
        w.key("deadClicks"); w.beginArray()
        for (k, g) in ordered {
            w.beginObject()
            w.key("x"); w.int(Rounding.divide(g.sx, Int64(g.clicks)))
            w.key("y"); w.int(Rounding.divide(g.sy, Int64(g.clicks)))
            w.key("element"); w.string(strings[Int(k)])
            w.key("text"); w.string(strings[Int(mostFrequent(g.texts, strings) ?? 0)])
            w.key("clicks"); w.int(g.clicks)
            w.key("percentage"); w.fixed(Rounding.fixed(Int64(g.clicks), Int64(total), times: 100, decimals: 1), decimals: 1)
            w.endObject()
        }
        w.endArray()
        w.key("totalDeadClicks"); w.int(totalDead)
        w.key("deadClickRate"); w.fixed(Rounding.fixed(Int64(totalDead), Int64(total), times: 100, decimals: 1), decimals: 1)
        w.endObject()
    }

    // MARK: pages

    /// `{ pages: [{ path, clicks, moves, scrolls }] }`: up to 100 pages by clicks, then path.
    private func heatmapPages(_ r: HeatmapRequest) throws -> [UInt8] {
        let counts = try heatmaps.pageCounts(site: r.siteId, window: r.window, device: r.device)
        let ordered = counts.sorted { a, b in a.clicks != b.clicks ? a.clicks > b.clicks : bytesLess(a.path, b.path) }
        var w = JSONWriter()
        w.beginObject()
        w.key("pages"); w.beginArray()
        for v in ordered.prefix(100) {
            w.beginObject()
            w.key("path"); w.string(v.path)
            w.key("clicks"); w.int(v.clicks); w.key("moves"); w.int(v.moves); w.key("scrolls"); w.int(v.scrolls)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
