import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import ZTAFormat
import ZTAStorage

/// A chunk ready for the kernels: its columns plus per-dictionary translations computed once per
/// dictionary (entry-value maps to global ids, event-filter lookup tables, group maps).
struct AggChunk {
    let chunk: ColumnChunk
    /// Per entry column: code → global id.
    let entryMaps: [[UInt32]]
    let entryCodes: [[UInt32]]
    /// Event filters' verdict per code (empty when there is no filter on that column).
    let pathLUT: [UInt8]
    let nameLUT: [UInt8]
    /// Row-group translations (empty when unused).
    let pathMap: [UInt32]
    let nameMap: [UInt32]
    /// Per row: the worker owning its session (by visitor: `visitorOwner`), or 255 when the row
    /// lies outside the window. Computed once per chunk while loading, so workers only compare.
    let sessionOwner: [UInt8]
    let visitorOwner: [UInt8]
    /// The block's local sessions per owning worker, for the window and the per-bucket tables.
    var window: [BlockSessions] = []
    var bucket: [BlockSessions] = []
    /// Row-level series (`AggregatePlan.bucketRows`): the block's counts per bucket, and its
    /// distinct (bucket, visitor) pairs per worker owning the visitor.
    var seriesRows: [(UInt32, GroupAcc)] = []
    var seriesPairs: [BucketVisitors] = []
}

/// Per-worker state. Worker `w` owns the sessions with `owner(session) == w` (its session tables
/// are disjoint from the others') and the visitors with `owner(visitor) == w` (its distinct-visitor
/// sets are disjoint too), so partial results add up without merging hash tables.
final class AggWorker: @unchecked Sendable {
    let w: Int
    let windowTable: SessionTable?
    let bucketTable: SessionTable?
    /// (name id, window slot) of kept `event` rows, for event_name session metrics.
    let namePairs: PairSet?
    /// Row-level group accumulators and their distinct visitors.
    var pageAcc: DenseArray<GroupAcc>?
    var pageVis: PairSet?
    var nameAcc: DenseArray<GroupAcc>?
    var nameVis: PairSet?
    var sel: [Int32] = []
    /// Buffers of the block-local session fold and merge.
    let fold = FoldScratch()
    /// Row-level series: per-bucket sums and the (bucket, visitor) set of the visitors owned.
    var rowSeries: DenseArray<GroupAcc>?
    var seriesPairs: PairSet?
    var seriesPending = PendingPairs()
    /// Keeps the prefetching loads of `pass1` observable so they are not optimised away.
    var sink: UInt32 = 0
    var sel2: [Int32] = []
    /// Session-filter verdicts per slot (window / bucket table).
    var passW: [UInt8] = []
    var passS: [UInt8] = []
    // End-phase accumulators.
    var totalAcc = GroupAcc()
    var seriesAcc: [GroupAcc] = []
    var groupAcc: [DenseArray<GroupAcc>] = []

    /// `expected` = the number of sessions this worker will likely hold (sizes the tables once
    /// instead of growing them).
    deinit { seriesPending.free() }

    init(w: Int, plan: AggregatePlan, noEntry: [UInt32], expected: Int) {
        self.w = w
        let dims = plan.entryColumns.count
        windowTable = plan.needWindowTable ? SessionTable(dims: dims, noEntry: noEntry, expected: expected) : nil
        bucketTable = plan.needBucketTable ? SessionTable(dims: dims, noEntry: noEntry, expected: expected) : nil
        namePairs = plan.rowGroups.contains(.eventName) ? PairSet() : nil
        if plan.bucketRows {
            rowSeries = DenseArray(count: plan.query.series!.count, zero: GroupAcc())
            seriesPairs = PairSet(expected: expected)
        }
        if plan.rowGroups.contains(.page) {
            pageAcc = DenseArray(count: 1024, zero: GroupAcc())
            pageVis = PairSet(expected: expected * 3)
            pageVis!.core.enableRecentCache()
        }
        if plan.rowGroups.contains(.eventName) {
            nameAcc = DenseArray(count: 64, zero: GroupAcc())
            nameVis = PairSet()
            nameVis!.core.enableRecentCache()
        }
    }
}

/// Executes an `AggregatePlan` over an `EventSource` with `threads` workers.
final class AggregateExecutor {
    let plan: AggregatePlan
    let threads: Int
    /// Query-global strings per column (indexed by `Column.rawValue`); ids 0 = "", 1 = "direct".
    let globals: [GlobalStrings?]
    let pathFilter: FilterLUTCache?
    let nameFilter: FilterLUTCache?
    private(set) var workers: [AggWorker] = []
    private let noEntry: [UInt32]
    private(set) var scanStats = ScanStats()
    /// Wall time of each phase, ms (for `explain`-style diagnostics and benchmarks).
    private(set) var phaseTimes: [(String, Double)] = []
    private var phaseStart = AggregateExecutor.clock()
    /// Thread CPU time in ns (phases of a one-worker run are measured without preemption noise).
    static func clock() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
    private func lap(_ name: String) {
        let now = AggregateExecutor.clock()
        phaseTimes.append((name, Double(now - phaseStart) / 1e6))
        phaseStart = now
    }

    init(plan: AggregatePlan, threads: Int) {
        self.plan = plan
        self.threads = max(1, threads)
        var g = [GlobalStrings?](repeating: nil, count: Column.allCases.count)
        for c in plan.entryColumns { g[Int(c.rawValue)] = GlobalStrings(preset: ["", "direct"]) }
        for d in plan.rowGroups where g[Int(d.column.rawValue)] == nil {
            g[Int(d.column.rawValue)] = GlobalStrings(preset: ["", "direct"])
        }
        globals = g
        let pf = plan.eventFilters.filter { $0.dimension == .page }
        let nf = plan.eventFilters.filter { $0.dimension == .eventName }
        pathFilter = pf.isEmpty ? nil : FilterLUTCache(filters: pf)
        nameFilter = nf.isEmpty ? nil : FilterLUTCache(filters: nf)
        noEntry = plan.entryColumns.map { $0 == .channel ? UInt32(1) : UInt32(0) }
    }

    func global(_ c: Column) -> GlobalStrings { globals[Int(c.rawValue)]! }

    /// Runs the scan and all aggregation phases.
    func run(source: any EventSource) throws -> AggregateResult {
        phaseStart = AggregateExecutor.clock()
        let sp = try source.scanPlan(plan.scanRequest)
        scanStats = sp.stats
        lap("scanPlan")
        // Sessions average several events; size each worker's tables for its share up front.
        let rows = sp.tasks.reduce(0) { $0 + $1.rowCount }
        let expected = min(1 << 24, max(1024, rows / threads / 10))
        workers = (0..<threads).map { AggWorker(w: $0, plan: plan, noEntry: noEntry, expected: expected) }
        lap("alloc")
        var loadTime = 0.0
        var retained: [AggChunk] = []
        // Small waves (4 blocks): the decoded columns of a wave stay in the L3 cache while both
        // workers read them, and the same heap memory is reused wave after wave.
        let scanner = WaveScanner(threads: threads, waveRows: 262_144)
        try scanner.run(sp.tasks, load: { [self] task, w in try loadBlock(task, workers[w].fold) }) { wave in
            let l0 = AggregateExecutor.clock()
            loadTime += Double(l0 - phaseStart) / 1e6
            defer { phaseStart = AggregateExecutor.clock(); phaseTimes.append(("pass1", Double(phaseStart - l0) / 1e6)) }
            let pathCount = globals[Int(Column.path.rawValue)]?.count ?? 0
            let nameCount = globals[Int(Column.name.rawValue)]?.count ?? 0
            parallel(threads) { [self] w in
                let wk = workers[w]
                wk.pageAcc?.ensure(pathCount)
                wk.nameAcc?.ensure(nameCount)
                for c in wave {
                    mergeBlock(c, wk, wk.fold)
                    if plan.bucketRows { mergeBucketRows(c, wk) }
                    if !plan.rowGroups.isEmpty && !plan.needSecondPass { rowGroupPass(c, wk) }
                }
            }
            if plan.needSecondPass {
                // Only the columns are needed again: drop the merged local sessions.
                for var c in wave { c.window = []; c.bucket = []; retained.append(c) }
            }
        }
        phaseTimes.append(("load+prepare", loadTime))
        phaseStart = AggregateExecutor.clock()
        return finish(retained)
    }

    // MARK: - pass 1

    /// Builds the selection of in-window rows owned by worker `w` (by session or by visitor).
    @inline(__always)
    private func select(_ c: ColumnChunk, _ ts: UnsafePointer<Int64>, _ owners: [UInt8],
                        _ w: Int, _ sel: inout [Int32]) -> Int {
        let n = c.count
        if n == 0 { return 0 }
        if sel.count < n { sel = [Int32](repeating: 0, count: n) }
        let from = plan.query.window.from, to = plan.query.window.to
        let me = UInt8(truncatingIfNeeded: w)
        return sel.withUnsafeMutableBufferPointer { s in
            if threads == 1 {
                return SessionKernel.selectWindow(n, ts: ts, from: from, to: to, out: s.baseAddress!)
            }
            return owners.withUnsafeBufferPointer { o in
                SessionKernel.selectOwned(n, owners: o.baseAddress!, me: me, out: s.baseAddress!)
            }
        }
    }

    /// Row-level groups without session filters, on the rows worker `wk` owns by visitor.
    private func rowGroupPass(_ ac: AggChunk, _ wk: AggWorker) {
        let c = ac.chunk
        withPtr(c.ts) { ts in withPtr(c.type) { ty in withPtr(c.visitor) { vis in
        withPtr(c.timeOnPage) { top in withPtr(ac.pathLUT) { pLUT in withPtr(ac.nameLUT) { nLUT in
        withPtr(c.string(.path)?.codes ?? []) { pathCodes in withPtr(c.string(.name)?.codes ?? []) { nameCodes in
            let n = select(c, ts, ac.visitorOwner, wk.w, &wk.sel2)
            wk.sel2.withUnsafeBufferPointer { sel in
                rowGroupKernel(ac, wk, sel, n, ts, ty, vis, top, pLUT, nLUT, !ac.pathLUT.isEmpty, !ac.nameLUT.isEmpty,
                               pathCodes, nameCodes, nil)
            }
        }}}}}}}}
    }

    /// A pageview at or before the session's entry: it becomes the entry when earlier, or at equal
    /// ts when its path is smaller (events.md §3; identical paths fall back to the other entry
    /// values in order, so the answer never depends on scan order).
    @inline(never)
    func updateEntry(_ core: SessionCore, _ slot: Int, _ i: Int, _ t: Int64, _ dims: Int,
                             _ maps: UnsafePointer<UnsafePointer<UInt32>>, _ codes: UnsafePointer<UnsafePointer<UInt32>>) {
        let st = core.states + slot
        let ev = core.entryVals + slot * dims
        // Candidates are listed before earlier rows of their batch are applied: re-check.
        if t > st.pointee.entryTs { return }
        var wins = t < st.pointee.entryTs
        if !wins {
            for d in 0..<dims {
                let a = maps[d][Int(codes[d][i])], b = ev[d]
                if a == b { continue }
                wins = global(plan.entryColumns[d]).lessLocked(a, b)
                break
            }
        }
        if wins {
            st.pointee.entryTs = t
            for d in 0..<dims { ev[d] = maps[d][Int(codes[d][i])] }
        }
    }

    /// Row-level group accumulation (page / event_name) over selected rows. With `verdict`, a row
    /// counts only when its session passed the session filters (second pass).
    private func rowGroupKernel(_ ac: AggChunk, _ wk: AggWorker, _ sel: UnsafeBufferPointer<Int32>, _ n: Int,
                                _ ts: UnsafePointer<Int64>, _ ty: UnsafePointer<UInt8>, _ vis: UnsafePointer<UInt64>,
                                _ top: UnsafePointer<Int32>, _ pLUT: UnsafePointer<UInt8>, _ nLUT: UnsafePointer<UInt8>,
                                _ hasPLUT: Bool, _ hasNLUT: Bool, _ pathCodes: UnsafePointer<UInt32>,
                                _ nameCodes: UnsafePointer<UInt32>, _ verdict: ((Int) -> Bool)?) {
        let doPage = wk.pageAcc != nil, doName = wk.nameAcc != nil
        // Accumulator bases and visitor sets in locals for the loop (stored back below).
        let pageBase = wk.pageAcc?.base, nameBase = wk.nameAcc?.base
        var pageVis = wk.pageVis?.core, nameVis = wk.nameVis?.core
        // (group, visitor) pairs go through the recent-pair cache, then into batched inserts.
        var pagePending = PendingPairs(), namePending = PendingPairs()
        defer { pagePending.free(); namePending.free() }
        withPtr(ac.pathMap) { pmap in withPtr(ac.nameMap) { nmap in
            for k in 0..<n {
                let i = Int(sel[k])
                var kept: UInt8 = 1
                if hasPLUT { kept &= pLUT[Int(pathCodes[i])] }
                if hasNLUT { kept &= nLUT[Int(nameCodes[i])] }
                if kept == 0 { continue }
                if let verdict, !verdict(i) { continue }
                let type = ty[i]
                let isPv = type == 0, isEv = type == 1
                let eng = type == EventType.engagement.rawValue && top[i] > 0
                if doPage {
                    let g = pmap[Int(pathCodes[i])]
                    rowAdd(pageBase!, &pageVis!, &pagePending, g, isPv, isEv, eng, top[i], vis[i])
                }
                if doName {
                    let g = nmap[Int(nameCodes[i])]
                    rowAdd(nameBase!, &nameVis!, &namePending, g, isPv, isEv, eng, top[i], vis[i])
                }
            }
        }}
        if doPage { pagePending.flush(&pageVis!, pageBase!); wk.pageVis!.core = pageVis!; wk.sink ^= pagePending.sink }
        if doName { namePending.flush(&nameVis!, nameBase!); wk.nameVis!.core = nameVis!; wk.sink ^= namePending.sink }
    }

    @inline(__always)
    private func rowAdd(_ base: UnsafeMutablePointer<GroupAcc>, _ set: inout PairSetCore, _ pending: inout PendingPairs,
                        _ g: UInt32, _ isPv: Bool, _ isEv: Bool, _ eng: Bool, _ top: Int32, _ v: UInt64) {
        let a = base + Int(g)
        if isPv { a.pointee.pageviews &+= 1 }
        if isEv { a.pointee.events &+= 1 }
        if eng { a.pointee.engSum &+= Int64(top); a.pointee.engCnt &+= 1 }
        if (isPv || isEv) && set.recentMiss(g, v) { pending.add(g, v, &set, base) }
    }

    // MARK: - final phases

    /// Session verdicts, session-side group sums, distinct visitors, second pass; then the merge.
    private func finish(_ retained: [AggChunk]) -> AggregateResult {
        let sf = plan.sessionFilters
        // Per session filter: its entry index and a verdict per global id of that column.
        let filterLUTs: [(Int, [UInt8])] = sf.map { f in
            let col = f.dimension.column
            let vals = global(col).snapshot()
            return (plan.entryIndex(col), vals.map { f.matches($0) ? 1 : 0 })
        }
        let groupIdx = plan.sessionGroups.map { plan.entryIndex($0.column) }
        let groupSizes = plan.sessionGroups.map { global($0.column).count }
        let pathCount = globals[Int(Column.path.rawValue)]?.count ?? 0
        let nameCount = globals[Int(Column.name.rawValue)]?.count ?? 0
        let nb = plan.query.series?.count ?? 0
        let wantTotal = plan.query.total
        let pagePanel = plan.rowGroups.contains(.page)

        // Phase A: verdicts and session-side sums over each worker's own sessions.
        parallel(threads) { [self] w in
            let wk = workers[w]
            wk.seriesAcc = [GroupAcc](repeating: GroupAcc(), count: nb)
            wk.groupAcc = groupSizes.map { DenseArray(count: $0, zero: GroupAcc()) }
            wk.pageAcc?.ensure(pathCount)
            wk.nameAcc?.ensure(nameCount)
            if let t = wk.windowTable {
                let core = t.core
                wk.passW = verdicts(core, filterLUTs)
                let bases = wk.groupAcc.map(\.base)
                let pageBase = wk.pageAcc?.base
                var total = GroupAcc()
                wk.passW.withUnsafeBufferPointer { pass in
                    for s in 0..<core.count where pass[s] != 0 {
                        let ev = core.entryVals + s * core.dims
                        var a = GroupAcc()
                        sessionContribution(core.states[s], &a)
                        total.add(a)
                        for (k, gi) in groupIdx.enumerated() { bases[k][Int(ev[gi])].add(a) }
                        if pagePanel && a.sessions != 0 {
                            // Page breakdown: session metrics by entry page.
                            let p = pageBase! + Int(ev[0])
                            p.pointee.sessions &+= a.sessions; p.pointee.bounces &+= a.bounces
                            p.pointee.durMs &+= a.durMs; p.pointee.spv &+= a.spv
                        }
                    }
                }
                if wantTotal { wk.totalAcc = total }
            }
            if let rs = wk.rowSeries, let pairs = wk.seriesPairs {
                wk.seriesPending.flush(&pairs.core, rs.base)
                for b in 0..<nb { wk.seriesAcc[b].add(rs.base[b]) }
            }
            if let t = wk.bucketTable {
                let core = t.core
                wk.passS = verdicts(core, filterLUTs)
                wk.passS.withUnsafeBufferPointer { pass in
                    wk.seriesAcc.withUnsafeMutableBufferPointer { acc in
                        for s in 0..<core.count where pass[s] != 0 {
                            let st = core.states[s]
                            var a = GroupAcc()
                            sessionContribution(st, &a)
                            acc[Int(core.buckets[s])].add(a)
                        }
                    }
                }
            }
        }

        lap("finish A")
        // Phase B: distinct visitors (each worker the visitors it owns, over all workers' sessions),
        // event_name session metrics, and the second pass.
        parallel(threads) { [self] w in
            let wk = workers[w]
            if wantTotal || !groupIdx.isEmpty {
                windowVisitors(w, wk, groupIdx)
            }
            if plan.needBucketTable { seriesVisitors(w, wk) }
            if let pairs = wk.namePairs, let t = wk.windowTable {
                let core = t.core
                let nameBase = wk.nameAcc!.base
                wk.passW.withUnsafeBufferPointer { pass in
                    pairs.forEach { g, slot in
                        let s = Int(slot)
                        guard pass[s] != 0 else { return }
                        var a = GroupAcc()
                        sessionContribution(core.states[s], &a)
                        let p = nameBase + Int(g)
                        p.pointee.sessions &+= a.sessions; p.pointee.bounces &+= a.bounces
                        p.pointee.durMs &+= a.durMs; p.pointee.spv &+= a.spv
                    }
                }
            }
            if plan.needSecondPass { pass2(retained, wk) }
        }
        lap("finish B")
        let r = merge()
        lap("merge")
        return r
    }

    /// Distinct visitors of the total and the session-level groups, for the visitors worker `w` owns.
    ///
    /// Rather than one (group, visitor) set per panel, the counted sessions are chained per visitor
    /// in one table (one random access per session whatever the number of panels); each visitor
    /// then adds 1 to every distinct group among its few sessions.
    private func windowVisitors(_ w: Int, _ wk: AggWorker, _ groupIdx: [Int]) {
        // Memberships (visitor, session) of the visitors this worker owns, across all workers' tables.
        var memVisitor: [UInt64] = [], memEntry: [UnsafePointer<UInt32>] = []
        var estimate = 0
        for other in workers { estimate += (other.windowTable?.count ?? 0) / max(1, threads) + 16 }
        memVisitor.reserveCapacity(estimate)
        memEntry.reserveCapacity(estimate)
        for other in workers {
            guard let t = other.windowTable else { continue }
            let core = t.core
            forEachOwnedVisitor(core, other.passW, w) { s, v in
                memVisitor.append(v)
                memEntry.append(UnsafePointer(core.entryVals + s * core.dims))
            }
        }
        let m = memVisitor.count
        // Chain memberships per visitor: heads in an open-addressing table, links in `next`.
        var bits = 4
        while (1 << bits) < m * 2 { bits += 1 }
        let size = 1 << bits
        let keys = LargeAlloc.allocate(UInt64.self, count: size)
        let heads = LargeAlloc.allocate(Int32.self, count: size)
        heads.initialize(repeating: -1, count: size)
        defer { LargeAlloc.deallocate(keys, count: size); LargeAlloc.deallocate(heads, count: size) }
        var next = [Int32](repeating: -1, count: m)
        let mask = size - 1
        for k in 0..<m {
            let v = memVisitor[k]
            var i = Int(truncatingIfNeeded: mixIndex(v) >> UInt64(64 - bits))
            while heads[i] >= 0 && keys[i] != v { i = (i + 1) & mask }
            if heads[i] < 0 { keys[i] = v }
            next[k] = heads[i]
            heads[i] = Int32(k)
        }
        let ng = groupIdx.count
        let bases = UnsafeMutablePointer<UnsafeMutablePointer<GroupAcc>>.allocate(capacity: max(1, ng))
        let gidx = UnsafeMutablePointer<Int>.allocate(capacity: max(1, ng))
        defer { bases.deallocate(); gidx.deallocate() }
        for g in 0..<ng { bases[g] = wk.groupAcc[g].base; gidx[g] = groupIdx[g] }
        var visitors: Int64 = 0
        next.withUnsafeBufferPointer { nx in memEntry.withUnsafeBufferPointer { me in
            for i in 0..<size where heads[i] >= 0 {
                visitors &+= 1
                let head = Int(heads[i])
                if nx[head] < 0 {
                    // One session (most visitors): its entry values, once each.
                    let ev = me[head]
                    for g in 0..<ng { bases[g][Int(ev[gidx[g]])].visitors &+= 1 }
                    continue
                }
                for g in 0..<ng {
                    let gi = gidx[g]
                    var k = head
                    while k >= 0 {
                        let value = me[k][gi]
                        // Counted unless an earlier membership of the chain has the same value.
                        var e = head
                        while e != k && me[e][gi] != value { e = Int(nx[e]) }
                        if e == k { bases[g][Int(value)].visitors &+= 1 }
                        k = Int(nx[k])
                    }
                }
            }
        }}
        wk.totalAcc.visitors = visitors
    }

    /// Calls `body(slot, visitor)` for every visitor of a passing session of `core` that worker
    /// `w` owns: each session's first visitor, then the rare further ones (`sideSlots`).
    @inline(__always)
    private func forEachOwnedVisitor(_ core: SessionCore, _ pass: [UInt8], _ w: Int, _ body: (Int, UInt64) -> Void) {
        pass.withUnsafeBufferPointer { pass in
            for s in 0..<core.count where pass[s] != 0 {
                let st = core.states + s
                if st.pointee.hasVisitor != 0 && owner(st.pointee.visitor, threads) == w { body(s, st.pointee.visitor) }
            }
            for (j, s) in core.sideSlots.enumerated() where pass[Int(s)] != 0 {
                let v = core.sideVisitors[j]
                if owner(v, threads) == w { body(Int(s), v) }
            }
        }
    }

    /// Distinct visitors per bucket, for the visitors worker `w` owns.
    private func seriesVisitors(_ w: Int, _ wk: AggWorker) {
        let sessions = workers.reduce(0) { $0 + ($1.bucketTable?.count ?? 0) }
        var set = PairSetCore(expected: sessions / max(1, threads) + 1024)
        defer { set.free() }
        // Inserts are batched (`PendingPairs`): sessions come in slot order, visitors at random.
        var pending = PendingPairs()
        defer { pending.free() }
        wk.seriesAcc.withUnsafeMutableBufferPointer { accBuf in
            let acc = accBuf.baseAddress!
            for other in workers {
                guard let t = other.bucketTable else { continue }
                let core = t.core
                forEachOwnedVisitor(core, other.passS, w) { s, v in pending.add(core.buckets[s], v, &set, acc) }
            }
            pending.flush(&set, acc)
        }
        wk.sink ^= pending.sink
    }

    /// Second pass for row-level groups under session filters: rows owned by visitor, kept only
    /// when their session (looked up in its owner's window table) passed.
    private func pass2(_ chunks: [AggChunk], _ wk: AggWorker) {
        let cores = workers.map { $0.windowTable!.core }
        let passes = workers.map(\.passW)
        let t = threads
        for ac in chunks {
            let c = ac.chunk
            withPtr(c.ts) { ts in withPtr(c.type) { ty in withPtr(c.session) { sid in withPtr(c.visitor) { vis in
            withPtr(c.timeOnPage) { top in withPtr(ac.pathLUT) { pLUT in withPtr(ac.nameLUT) { nLUT in
            withPtr(c.string(.path)?.codes ?? []) { pathCodes in withPtr(c.string(.name)?.codes ?? []) { nameCodes in
                let n = select(c, ts, ac.visitorOwner, wk.w, &wk.sel2)
                let verdict: (Int) -> Bool = { i in
                    let s = sid[i]
                    let o = owner(s, t)
                    guard let slot = cores[o].lookup(s, 0) else { return false }
                    return passes[o][slot] != 0
                }
                wk.sel2.withUnsafeBufferPointer { sel in
                    rowGroupKernel(ac, wk, sel, n, ts, ty, vis, top, pLUT, nLUT, !ac.pathLUT.isEmpty,
                                   !ac.nameLUT.isEmpty, pathCodes, nameCodes, verdict)
                }
            }}}}}}}}}
        }
    }

    /// 1 for each session of `t` that passes every session filter.
    private func verdicts(_ core: SessionCore, _ luts: [(Int, [UInt8])]) -> [UInt8] {
        var out = [UInt8](repeating: 1, count: core.count)
        out.withUnsafeMutableBufferPointer { o in
            for (idx, lut) in luts {
                lut.withUnsafeBufferPointer { l in
                    for s in 0..<core.count where o[s] != 0 {
                        o[s] = l[Int(core.entryVals[s * core.dims + idx])]
                    }
                }
            }
        }
        return out
    }

    /// What one passing session adds to its group (events.md §3): kept events always, session
    /// metrics when it counts.
    @inline(__always)
    private func sessionContribution(_ st: SessionState, _ a: inout GroupAcc) {
        a.pageviews = Int64(st.keptPv)
        a.events = Int64(st.keptEv)
        a.engSum = st.engSum
        a.engCnt = Int64(st.engCnt)
        if st.counted {
            a.sessions = 1
            a.bounces = st.bounce ? 1 : 0
            a.durMs = st.maxTs - st.minTs
            a.spv = Int64(st.keptPv)
        }
    }

    /// Sums the workers' partial results and builds the breakdown rows.
    private func merge() -> AggregateResult {
        var r = AggregateResult()
        let nb = plan.query.series?.count ?? 0
        r.series = [GroupAcc](repeating: GroupAcc(), count: nb)
        for wk in workers {
            r.total.add(wk.totalAcc)
            for b in 0..<nb { r.series[b].add(wk.seriesAcc[b]) }
        }
        for (k, d) in plan.sessionGroups.enumerated() {
            let vals = global(d.column).snapshot()
            var rows: [BreakdownRow] = []
            for g in 0..<vals.count {
                var a = GroupAcc()
                for wk in workers { a.add(wk.groupAcc[k].base[g]) }
                if a.sessions > 0 {
                    let v = d == .source && vals[g].isEmpty ? "(direct)" : vals[g]
                    rows.append(BreakdownRow(value: v, acc: a))
                }
            }
            r.breakdowns[d] = rows
        }
        for d in plan.rowGroups {
            let vals = global(d.column).snapshot()
            var rows: [BreakdownRow] = []
            for g in 0..<vals.count {
                var a = GroupAcc()
                for wk in workers { a.add((d == .page ? wk.pageAcc! : wk.nameAcc!).base[g]) }
                // page: paths on a kept pageview or event; event_name: names of kept `event` rows.
                let isRow = d == .page ? a.pageviews + a.events > 0 : a.events > 0
                if isRow { rows.append(BreakdownRow(value: vals[g], acc: a)) }
            }
            r.breakdowns[d] = rows
        }
        return r
    }
}

extension GlobalStrings {
    /// Byte order of two ids' strings (entry tie-breaks; rare, so the lock is fine).
    func lessLocked(_ a: UInt32, _ b: UInt32) -> Bool {
        let v = snapshot()
        return bytesLess(v[Int(a)], v[Int(b)])
    }
}
