import ZTAFormat
import ZTAStorage

/// Per-worker buffers of the block-local session fold (grown on demand, reused for every block).
final class FoldScratch {
    private(set) var local: UnsafeMutablePointer<LocalSession>
    /// Per session code: its index in its owner's output list of the current range.
    private(set) var emitIndex: UnsafeMutablePointer<UInt32>
    private(set) var localCapacity = 0
    /// Per visitor code: the range that last emitted it (row-level series).
    private(set) var visStamp: UnsafeMutablePointer<UInt32>
    private(set) var visCapacity = 0
    private var stampCounter: UInt32 = 0
    /// Row-sized buffers.
    private(set) var rowCapacity = 0
    private(set) var sel: UnsafeMutablePointer<Int32>
    private(set) var ranged: UnsafeMutablePointer<Int32>
    private(set) var bucketOf: UnsafeMutablePointer<UInt32>
    private(set) var touched: UnsafeMutablePointer<UInt32>
    private(set) var ties: UnsafeMutablePointer<Int32>
    private(set) var sides: UnsafeMutablePointer<Int32>
    private(set) var active: UnsafeMutablePointer<Int32>
    private(set) var kept: UnsafeMutablePointer<UInt8>
    /// `rowCapacity` zeros: the time-on-page column when it was not decoded.
    private(set) var zeros: UnsafeMutablePointer<Int32>
    private(set) var sessCodes: UnsafeMutablePointer<UInt32>
    private(set) var visCodes: UnsafeMutablePointer<UInt32>
    /// Merge-side buffers (hashes and slots of one block's sessions).
    var hashes: [UInt64] = []
    var slots: [Int32] = []
    let sessionCodes = LocalCodes()
    let visitorCodes = LocalCodes()

    init() {
        local = .allocate(capacity: 1)
        emitIndex = .allocate(capacity: 1)
        visStamp = .allocate(capacity: 1)
        sel = .allocate(capacity: 1); ranged = .allocate(capacity: 1); bucketOf = .allocate(capacity: 1)
        touched = .allocate(capacity: 1); ties = .allocate(capacity: 1); sides = .allocate(capacity: 1)
        active = .allocate(capacity: 1)
        kept = .allocate(capacity: 1); sessCodes = .allocate(capacity: 1); visCodes = .allocate(capacity: 1)
        zeros = .allocate(capacity: 1)
        zeros.initialize(to: 0)
    }

    deinit {
        local.deallocate()
        emitIndex.deallocate()
        visStamp.deallocate()
        for p in [sel, ranged, ties, sides, active] { p.deallocate() }
        for p in [bucketOf, touched, sessCodes, visCodes] { p.deallocate() }
        kept.deallocate()
        zeros.deallocate()
    }

    /// Makes room for a block of `rows` rows with `sessions` distinct session codes.
    func ensure(rows: Int, sessions: Int) {
        if rows > rowCapacity {
            for p in [sel, ranged, ties, sides, active] { p.deallocate() }
            for p in [bucketOf, touched, sessCodes, visCodes] { p.deallocate() }
            kept.deallocate()
            zeros.deallocate()
            rowCapacity = max(rows, 1024)
            sel = .allocate(capacity: rowCapacity); ranged = .allocate(capacity: rowCapacity)
            ties = .allocate(capacity: rowCapacity); sides = .allocate(capacity: rowCapacity)
            active = .allocate(capacity: rowCapacity)
            bucketOf = .allocate(capacity: rowCapacity); touched = .allocate(capacity: rowCapacity)
            sessCodes = .allocate(capacity: rowCapacity); visCodes = .allocate(capacity: rowCapacity)
            kept = .allocate(capacity: rowCapacity)
            zeros = .allocate(capacity: rowCapacity)
            zeros.initialize(repeating: 0, count: rowCapacity)
        }
        if sessions > localCapacity {
            local.deallocate()
            emitIndex.deallocate()
            localCapacity = max(sessions, 1024)
            // Cache-line aligned: one state per line.
            local = UnsafeMutableRawPointer.allocate(byteCount: localCapacity * MemoryLayout<LocalSession>.stride, alignment: 64)
                .bindMemory(to: LocalSession.self, capacity: localCapacity)
            emitIndex = .allocate(capacity: localCapacity)
            // Stamp 0 is never used, so every fresh entry reads as untouched.
            for k in 0..<localCapacity { (local + k).pointee.stamp = 0 }
        }
    }

    /// Makes room for `n` visitor codes.
    func ensure(visitors n: Int) {
        guard n > visCapacity else { return }
        visStamp.deallocate()
        visCapacity = max(n, 1024)
        visStamp = .allocate(capacity: visCapacity)
        visStamp.initialize(repeating: 0, count: visCapacity)
    }

    /// A stamp for the next range: local states carrying another stamp are untouched.
    func nextStamp() -> UInt32 {
        if stampCounter == .max {
            for k in 0..<localCapacity { (local + k).pointee.stamp = 0 }
            visStamp.update(repeating: 0, count: visCapacity)
            stampCounter = 0
        }
        stampCounter &+= 1
        return stampCounter
    }
}

extension AggregateExecutor {
    /// Loads one block, prepares its dictionary translations and folds its rows into local
    /// sessions per table (window / buckets), split by owning worker. Runs on worker `w`.
    func loadBlock(_ task: ChunkTask, _ sc: FoldScratch) throws -> AggChunk {
        let c = try task.load()
        var maps: [[UInt32]] = [], codes: [[UInt32]] = []
        for col in plan.entryColumns {
            let d = c.string(col)!
            maps.append(global(col).mapping(d.dictionary))
            codes.append(d.codes)
        }
        let pathLUT = pathFilter.map { $0.lut(c.string(.path)!.dictionary) } ?? []
        let nameLUT = nameFilter.map { $0.lut(c.string(.name)!.dictionary) } ?? []
        let pathMap = plan.rowGroups.contains(.page) ? global(.path).mapping(c.string(.path)!.dictionary) : []
        let nameMap = plan.rowGroups.contains(.eventName) ? global(.name).mapping(c.string(.name)!.dictionary) : []
        var vo: [UInt8] = []
        if threads > 1 && !plan.rowGroups.isEmpty {
            // Row-level groups are split between workers by visitor.
            let from = plan.query.window.from, to = plan.query.window.to, t = threads
            vo = [UInt8](repeating: 255, count: c.count)
            vo.withUnsafeMutableBufferPointer { o in
                c.ts.withUnsafeBufferPointer { ts in
                    c.visitor.withUnsafeBufferPointer { ids in
                        for i in 0..<c.count {
                            let v = ts[i]
                            o[i] = v >= from && v < to ? UInt8(truncatingIfNeeded: owner(ids[i], t)) : 255
                        }
                    }
                }
            }
        }
        var ac = AggChunk(chunk: c, entryMaps: maps, entryCodes: codes, pathLUT: pathLUT, nameLUT: nameLUT,
                          pathMap: pathMap, nameMap: nameMap, sessionOwner: [], visitorOwner: vo)
        if c.count > 0 && (plan.needWindowTable || plan.needBucketTable || plan.bucketRows) {
            foldBlock(&ac, sc)
        }
        return ac
    }

    /// The block-local fold of `ac`'s in-window rows (see `SessionFold`).
    private func foldBlock(_ ac: inout AggChunk, _ sc: FoldScratch) {
        let c = ac.chunk
        let n = c.count
        // Session and visitor codes: the block dictionary's when the chunk was dictionary-encoded.
        let sessEntry = c.sessionCodes
        let visEntry = c.visitorCodes
        sc.ensure(rows: n, sessions: sessEntry?.values.count ?? n)
        let sessIds: [UInt64] = sessEntry?.values ?? c.session.withUnsafeBufferPointer {
            sc.sessionCodes.build($0.baseAddress!, n, codes: sc.sessCodes)
        }
        let visIds: [UInt64] = visEntry?.values ?? c.visitor.withUnsafeBufferPointer {
            sc.visitorCodes.build($0.baseAddress!, n, codes: sc.visCodes)
        }
        let hasKept = !ac.pathLUT.isEmpty || !ac.nameLUT.isEmpty
        if hasKept {
            withPtr(ac.pathLUT) { pl in withPtr(ac.nameLUT) { nl in
            withPtr(c.string(.path)?.codes ?? []) { pc in withPtr(c.string(.name)?.codes ?? []) { nc in
                SessionKernel.keptRows(n, pathLUT: ac.pathLUT.isEmpty ? nil : pl, pathCodes: pc,
                                       nameLUT: ac.nameLUT.isEmpty ? nil : nl, nameCodes: nc, out: sc.kept)
            }}}}
        }
        let entryDims = plan.entryColumns.count
        let t = threads
        // Without the time-on-page column (metric not asked) the fold reads zeros.
        let topCol = c.timeOnPage.isEmpty ? UnsafePointer(sc.zeros) : nil
        withPtr(c.ts) { ts in withPtr(c.type) { ty in withPtr(c.timeOnPage) { topRead in
            let top = topCol ?? topRead
        withPtr(sessIds) { sid in withPtr(visIds) { vid in
        withPtr(sessEntry?.codes ?? []) { sCodes in withPtr(visEntry?.codes ?? []) { vCodes in
        withPtr(ac.nameMap) { nameMap in withPtr(c.string(.name)?.codes ?? []) { nameCodes in
        withPointers(ac.entryMaps) { mapsArr in withPointers(ac.entryCodes) { codesArr in
            let cols = FoldColumns(ts: ts, type: ty, top: top,
                                   sessCodes: sessEntry != nil ? sCodes : UnsafePointer(sc.sessCodes), sessIds: sid,
                                   visCodes: visEntry != nil ? vCodes : UnsafePointer(sc.visCodes), visIds: vid,
                                   kept: hasKept ? UnsafePointer(sc.kept) : nil)
            let from = plan.query.window.from, to = plan.query.window.to
            let m = SessionKernel.selectWindow(n, ts: ts, from: from, to: to, out: sc.sel)
            if m == 0 { return }
            // Entry ties compare the entry values in order by bytes (rare).
            let entryLess: (Int, Int) -> Bool = { [self] a, b in
                for d in 0..<entryDims {
                    let x = mapsArr[d][Int(codesArr[d][a])], y = mapsArr[d][Int(codesArr[d][b])]
                    if x == y { continue }
                    return global(plan.entryColumns[d]).lessLocked(x, y)
                }
                return false
            }
            var out = [BlockSessions](repeating: BlockSessions(), count: t)
            // One range: fold, settle ties, emit every touched session to its owner's list.
            func range(_ rows: UnsafePointer<Int32>, _ k: Int, bucket: UInt32, names: Bool) {
                let stamp = sc.nextStamp()
                let (nt, ne, ns) = SessionFold.fold(k, rows: rows, cols, local: sc.local, stamp: stamp,
                                                    trackEntry: entryDims > 0, touched: sc.touched,
                                                    ties: sc.ties, sides: sc.sides, active: sc.active)
                let local = sc.local
                for q in 0..<ne {
                    let i = Int(rows[Int(sc.ties[q])])
                    let ls = local + Int(cols.sessCodes[i])
                    let cur = Int(ls.pointee.entryRow)
                    if ts[i] == ls.pointee.entryTs && cur >= 0 && i != cur && entryLess(i, cur) {
                        ls.pointee.entryRow = Int32(truncatingIfNeeded: i)
                    }
                }
                for q in 0..<nt {
                    let code = Int(sc.touched[q])
                    let ls = local + code
                    let id = sid[code]
                    let o = owner(id, t)
                    let l = ls.pointee
                    let hasVis = l.visCode >= 0
                    let st = SessionState(minTs: l.minTs, maxTs: l.maxTs, entryTs: l.entryTs,
                                          visitor: hasVis ? vid[Int(l.visCode)] : 0, engSum: l.engSum,
                                          pvAll: l.pvAll, evAll: l.evAll, keptPv: l.keptPv, keptEv: l.keptEv,
                                          engCnt: l.engCnt, hasVisitor: hasVis ? 1 : 0)
                    sc.emitIndex[code] = UInt32(truncatingIfNeeded: out[o].count)
                    out[o].sids.append(id)
                    out[o].buckets.append(bucket)
                    out[o].states.append(st)
                    out[o].entryRows.append(ls.pointee.entryRow)
                }
                for q in 0..<ns {
                    let i = Int(rows[Int(sc.sides[q])])
                    let code = Int(cols.sessCodes[i])
                    let o = owner(sid[code], t)
                    out[o].sideIndex.append(sc.emitIndex[code])
                    out[o].sideVisitors.append(vid[Int(cols.visCodes[i])])
                }
                if names {
                    // (event name, session) pairs of kept `event` rows, for event_name session metrics.
                    for j in 0..<k {
                        let i = Int(rows[j])
                        guard ty[i] == EventType.event.rawValue && (cols.kept == nil || cols.kept![i] != 0) else { continue }
                        let code = Int(cols.sessCodes[i])
                        let o = owner(sid[code], t)
                        out[o].nameIndex.append(sc.emitIndex[code])
                        out[o].nameIds.append(nameMap[Int(nameCodes[i])])
                    }
                }
            }
            if plan.needWindowTable {
                range(sc.sel, m, bucket: 0, names: plan.rowGroups.contains(.eventName))
                ac.window = out
                out = [BlockSessions](repeating: BlockSessions(), count: t)
            }
            if plan.bucketRows {
                sc.ensure(visitors: visIds.count)
                ac.seriesPairs = [BucketVisitors](repeating: BucketVisitors(), count: t)
            }
            // Row-level series: a range's counts, and each of its visitors once.
            func rowRange(_ rows: UnsafePointer<Int32>, _ k: Int, bucket: UInt32) {
                let stamp = sc.nextStamp()
                var a = GroupAcc()
                let engType = EventType.engagement.rawValue
                for j in 0..<k {
                    let i = Int(rows[j])
                    if let kept = cols.kept, kept[i] == 0 { continue }
                    let type = ty[i]
                    if type > 1 {
                        if type == engType && top[i] > 0 { a.engSum &+= Int64(top[i]); a.engCnt &+= 1 }
                        continue
                    }
                    if type == 0 { a.pageviews &+= 1 } else { a.events &+= 1 }
                    let vc = Int(cols.visCodes[i])
                    if sc.visStamp[vc] != stamp {
                        sc.visStamp[vc] = stamp
                        let v = vid[vc]
                        let o = owner(v, t)
                        ac.seriesPairs[o].buckets.append(bucket)
                        ac.seriesPairs[o].visitors.append(v)
                    }
                }
                ac.seriesRows.append((bucket, a))
            }
            if let series = plan.query.series {
                series.boundaries.withUnsafeBufferPointer { b in
                    let nb = series.count
                    // Bucket of each selected row; rows of a ts-sorted block come bucket by bucket.
                    var cur = 0
                    var sorted = true
                    for j in 0..<m {
                        let v = ts[Int(sc.sel[j])]
                        if !(v >= b[cur] && v < b[cur + 1]) {
                            let nc = Bucketing.find(v, b.baseAddress!, nb)
                            if nc < cur { sorted = false }
                            cur = nc
                        }
                        sc.bucketOf[j] = UInt32(truncatingIfNeeded: cur)
                    }
                    var rows = UnsafePointer(sc.sel)
                    if !sorted {
                        // Counting sort of the selected rows by bucket (memtable chunks arrive unsorted).
                        var starts = [Int](repeating: 0, count: nb + 1)
                        for j in 0..<m { starts[Int(sc.bucketOf[j]) + 1] += 1 }
                        for k in 0..<nb { starts[k + 1] += starts[k] }
                        var fill = starts
                        for j in 0..<m {
                            let bk = Int(sc.bucketOf[j])
                            sc.ranged[fill[bk]] = sc.sel[j]
                            fill[bk] += 1
                        }
                        for k in 0..<nb { for j in starts[k]..<starts[k + 1] { sc.bucketOf[j] = UInt32(k) } }
                        rows = UnsafePointer(sc.ranged)
                    }
                    var s = 0
                    while s < m {
                        let bk = sc.bucketOf[s]
                        var e = s + 1
                        while e < m && sc.bucketOf[e] == bk { e += 1 }
                        if plan.needBucketTable {
                            range(rows + s, e - s, bucket: bk, names: false)
                        } else {
                            rowRange(rows + s, e - s, bucket: bk)
                        }
                        s = e
                    }
                }
                if plan.needBucketTable { ac.bucket = out }
            }
        }}}}}}}}}}}
    }

    /// Adds one block's row-level series to worker `wk`: the counts (worker 0) and the pairs of
    /// the visitors it owns.
    func mergeBucketRows(_ ac: AggChunk, _ wk: AggWorker) {
        guard let rs = wk.rowSeries, let set = wk.seriesPairs else { return }
        let acc = rs.base
        if wk.w == 0 { for (b, a) in ac.seriesRows { acc[Int(b)].add(a) } }
        guard wk.w < ac.seriesPairs.count else { return }
        let p = ac.seriesPairs[wk.w]
        var core = set.core
        for k in 0..<p.buckets.count { wk.seriesPending.add(p.buckets[k], p.visitors[k], &core, acc) }
        set.core = core
    }

    /// Adds one block's local sessions (those worker `wk` owns) to its session tables.
    func mergeBlock(_ ac: AggChunk, _ wk: AggWorker, _ sc: FoldScratch) {
        let entryDims = plan.entryColumns.count
        withPointers(ac.entryMaps) { mapsArr in withPointers(ac.entryCodes) { codesArr in
            let maps = UnsafeMutablePointer<UnsafePointer<UInt32>>.allocate(capacity: max(1, entryDims))
            let codes = UnsafeMutablePointer<UnsafePointer<UInt32>>.allocate(capacity: max(1, entryDims))
            defer { maps.deallocate(); codes.deallocate() }
            for d in 0..<entryDims { maps[d] = mapsArr[d]; codes[d] = codesArr[d] }
            if let table = wk.windowTable, wk.w < ac.window.count {
                var core = table.core
                var pairs = wk.namePairs?.core
                merge(ac.window[wk.w], &core, sc, entryDims, maps, codes) { slots in
                    let bs = ac.window[wk.w]
                    if pairs != nil {
                        for k in 0..<bs.nameIndex.count {
                            _ = pairs!.insert(bs.nameIds[k], UInt64(slots[Int(bs.nameIndex[k])]))
                        }
                    }
                }
                table.core = core
                if let p = pairs { wk.namePairs!.core = p }
            }
            if let table = wk.bucketTable, wk.w < ac.bucket.count {
                var core = table.core
                merge(ac.bucket[wk.w], &core, sc, entryDims, maps, codes) { _ in }
                table.core = core
            }
        }}
    }

    private func merge(_ bs: BlockSessions, _ core: inout SessionCore, _ sc: FoldScratch, _ entryDims: Int,
                       _ maps: UnsafePointer<UnsafePointer<UInt32>>, _ codes: UnsafePointer<UnsafePointer<UInt32>>,
                       _ then: (UnsafePointer<Int32>) -> Void) {
        let n = bs.count
        if n == 0 { return }
        if sc.hashes.count < n { sc.hashes = [UInt64](repeating: 0, count: n); sc.slots = [Int32](repeating: 0, count: n) }
        var sink: UInt32 = 0
        sc.hashes.withUnsafeMutableBufferPointer { hb in sc.slots.withUnsafeMutableBufferPointer { slb in
            let h = hb.baseAddress!, slots = slb.baseAddress!
            bs.sids.withUnsafeBufferPointer { sids in bs.buckets.withUnsafeBufferPointer { bks in
            bs.states.withUnsafeBufferPointer { sts in bs.entryRows.withUnsafeBufferPointer { er in
                // Hash and touch every index line first, so the random accesses overlap.
                for k in 0..<n {
                    h[k] = core.hash(sids[k], bks[k])
                    sink ^= core.touch(h[k])
                }
                for k in 0..<n {
                    let l = sts[k]
                    let s = core.upsert(sids[k], bks[k], l.minTs, h[k])
                    slots[k] = Int32(truncatingIfNeeded: s)
                    let g = core.states + s
                    g.pointee.minTs = min(g.pointee.minTs, l.minTs)
                    g.pointee.maxTs = max(g.pointee.maxTs, l.maxTs)
                    g.pointee.pvAll &+= l.pvAll
                    g.pointee.evAll &+= l.evAll
                    g.pointee.keptPv &+= l.keptPv
                    g.pointee.keptEv &+= l.keptEv
                    g.pointee.engSum &+= l.engSum
                    g.pointee.engCnt &+= l.engCnt
                    if l.hasVisitor != 0 {
                        if g.pointee.hasVisitor == 0 {
                            g.pointee.visitor = l.visitor
                            g.pointee.hasVisitor = 1
                        } else if g.pointee.visitor != l.visitor {
                            core.sideSlots.append(UInt32(truncatingIfNeeded: s))
                            core.sideVisitors.append(l.visitor)
                        }
                    }
                    if er[k] >= 0 {
                        let row = Int(er[k])
                        if l.entryTs < g.pointee.entryTs {
                            // An earlier entry (always so for a session new to the table).
                            g.pointee.entryTs = l.entryTs
                            let ev = core.entryVals + s * entryDims
                            for d in 0..<entryDims { ev[d] = maps[d][Int(codes[d][row])] }
                        } else if l.entryTs == g.pointee.entryTs {
                            updateEntry(core, s, row, l.entryTs, entryDims, maps, codes)
                        }
                    }
                }
            }}}}
            for q in 0..<bs.sideIndex.count {
                core.sideSlots.append(UInt32(bitPattern: slots[Int(bs.sideIndex[q])]))
                core.sideVisitors.append(bs.sideVisitors[q])
            }
            then(UnsafePointer(slots))
        }}
        if sink == 0x9E37_79B9 { core.sideSlots.reserveCapacity(core.sideSlots.count) }  // keeps the touches
    }
}

/// (bucket, visitor) pairs of one block, for one worker.
struct BucketVisitors {
    var buckets: [UInt32] = []
    var visitors: [UInt64] = []
}

extension SessionKernel {
    /// The event filters' verdict per row of a chunk (1 = kept).
    @inline(never)
    static func keptRows(_ n: Int, pathLUT: UnsafePointer<UInt8>?, pathCodes: UnsafePointer<UInt32>,
                         nameLUT: UnsafePointer<UInt8>?, nameCodes: UnsafePointer<UInt32>, out: UnsafeMutablePointer<UInt8>) {
        for i in 0..<n {
            var k: UInt8 = 1
            if let p = pathLUT { k &= p[Int(pathCodes[i])] }
            if let q = nameLUT { k &= q[Int(nameCodes[i])] }
            out[i] = k
        }
    }
}
