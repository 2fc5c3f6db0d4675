/// Open-addressing hash structures for the hot loops. Session and visitor ids are already hashes,
/// but they are re-mixed so table indices and thread ownership use independent bits.

@inline(__always) func mixIndex(_ x: UInt64) -> UInt64 { (x ^ (x >> 29)) &* 0xBF58_476D_1CE4_E5B9 }
@inline(__always) func mixOwner(_ x: UInt64) -> UInt64 { (x ^ (x >> 31)) &* 0x94D0_49BB_1331_11EB }

/// Which of `threads` workers owns id `x` (sessions and visitors are split between workers by id,
/// so per-worker tables are disjoint and need no merging).
@inline(__always) func owner(_ x: UInt64, _ threads: Int) -> Int {
    // Multiply-shift instead of a modulo: no division per row.
    threads == 1 ? 0 : Int(truncatingIfNeeded: ((mixOwner(x) >> 32) &* UInt64(threads)) >> 32)
}

/// Per-session aggregate of one session in one bucket (events.md §3), updated row by row.
/// Exactly 64 bytes, so a state never straddles two cache lines (states are touched at random);
/// the session's bucket lives in `SessionCore.buckets`, read only after the scan.
struct SessionState {
    var minTs: Int64
    var maxTs: Int64
    /// ts of the entry pageview; `Int64.max` while the session has none.
    var entryTs: Int64
    /// Visitor of the first kept pageview/event row (others go to the side list).
    var visitor: UInt64
    var engSum: Int64
    var pvAll: UInt32
    var evAll: UInt32
    var keptPv: UInt32
    var keptEv: UInt32
    var engCnt: UInt32
    var hasVisitor: UInt32

    /// Counts (events.md §3): a kept pageview or event.
    @inline(__always) var counted: Bool { keptPv &+ keptEv > 0 }
    /// Bounce: exactly one pageview and no event, whatever the filters.
    @inline(__always) var bounce: Bool { pvAll == 1 && evAll == 0 }
}

struct KeyEntry {
    var sid: UInt64
    var bucket: UInt32
    var slot: UInt32  // UInt32.max = empty
}

/// The storage of a session table: (session id, bucket) → dense slot with its `SessionState` and
/// the entry's session-level values (query-global string ids, `dims` per session).
///
/// A struct so hot loops can hold it in a local variable (no class-property exclusivity checks,
/// no reference counting per row); `SessionTable` owns and frees the memory.
struct SessionCore {
    var index: UnsafeMutablePointer<KeyEntry>
    var bits: Int
    var states: UnsafeMutablePointer<SessionState>
    /// The bucket of each slot's key.
    var buckets: UnsafeMutablePointer<UInt32>
    var entryVals: UnsafeMutablePointer<UInt32>
    var count = 0
    var capacity: Int
    let dims: Int
    /// Entry values of a session without a pageview (events.md §6.1).
    let noEntry: UnsafeMutablePointer<UInt32>
    /// A small direct-mapped cache of recent keys: rows of a session cluster in time.
    let cache: UnsafeMutablePointer<KeyEntry>
    static let cacheBits = 12
    /// Extra visitors of sessions with more than one (slot, visitor), rare.
    var sideSlots: [UInt32] = []
    var sideVisitors: [UInt64] = []

    init(dims: Int, noEntry: [UInt32], expected: Int) {
        self.dims = dims
        var b = 10
        while (1 << b) * 7 / 10 < expected { b += 1 }
        bits = b
        index = LargeAlloc.allocate(KeyEntry.self, count: 1 << b)
        index.initialize(repeating: KeyEntry(sid: 0, bucket: 0, slot: .max), count: 1 << b)
        capacity = (1 << b) * 7 / 10
        states = LargeAlloc.allocate(SessionState.self, count: capacity)
        buckets = LargeAlloc.allocate(UInt32.self, count: capacity)
        entryVals = LargeAlloc.allocate(UInt32.self, count: max(1, capacity * dims))
        self.noEntry = .allocate(capacity: max(1, dims))
        for d in 0..<dims { self.noEntry[d] = noEntry[d] }
        cache = .allocate(capacity: 1 << SessionCore.cacheBits)
        cache.initialize(repeating: KeyEntry(sid: 0, bucket: 0, slot: .max), count: 1 << SessionCore.cacheBits)
    }

    func free() {
        LargeAlloc.deallocate(index, count: 1 << bits)
        LargeAlloc.deallocate(states, count: capacity)
        LargeAlloc.deallocate(buckets, count: capacity)
        LargeAlloc.deallocate(entryVals, count: max(1, capacity * dims))
        noEntry.deallocate()
        cache.deallocate()
    }

    @inline(__always) func hash(_ sid: UInt64, _ bucket: UInt32) -> UInt64 {
        mixIndex(sid ^ (UInt64(bucket) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Resolves the slots of a batch of `n` keys (`sids[j]`, `buckets[j]`, first seen at `ts[j]`)
    /// into `slots[j]`, creating new sessions. Done as separate tight loops — hash and probe the
    /// recent-key cache, touch the index lines of the misses (so their random accesses overlap),
    /// then resolve the misses — instead of one long dependent chain per row.
    @inline(__always)
    mutating func resolve(_ n: Int, _ sids: UnsafePointer<UInt64>, _ buckets: UnsafePointer<UInt32>,
                          _ ts: UnsafePointer<Int64>, _ slots: UnsafeMutablePointer<Int32>,
                          _ hashes: UnsafeMutablePointer<UInt64>, _ misses: UnsafeMutablePointer<Int32>) -> UInt32 {
        let cmask = (1 << SessionCore.cacheBits) - 1
        var m = 0
        for j in 0..<n {
            let sid = sids[j], b = buckets[j]
            let h = hash(sid, b)
            hashes[j] = h
            let ce = cache[Int(truncatingIfNeeded: h) & cmask]
            let hit = ce.sid == sid && ce.bucket == b && ce.slot != .max
            slots[j] = hit ? Int32(bitPattern: ce.slot) : -1
            misses[m] = Int32(truncatingIfNeeded: j)
            m &+= hit ? 0 : 1
        }
        var sink: UInt32 = 0
        let shift = UInt64(64 - bits)
        for q in 0..<m { sink ^= index[Int(truncatingIfNeeded: hashes[Int(misses[q])] >> shift)].slot }
        for q in 0..<m {
            let j = Int(misses[q])
            let h = hashes[j]
            slots[j] = Int32(truncatingIfNeeded: slotSlow(sids[j], buckets[j], ts[j], h, Int(truncatingIfNeeded: h) & cmask))
        }
        return sink
    }

    /// Loads the index line where the probe of `h` starts (the result only feeds a sink): issued
    /// for a batch of keys before `upsert`, so their cache misses overlap.
    @inline(__always) func touch(_ h: UInt64) -> UInt32 {
        index[Int(truncatingIfNeeded: h >> UInt64(64 - bits))].slot
    }

    /// The slot of (sid, bucket) with hash `h` (`hash(sid, bucket)`), created with min = max =
    /// `ts` when new. One probe per distinct session per block (see `SessionMerge`).
    @inline(__always)
    mutating func upsert(_ sid: UInt64, _ bucket: UInt32, _ ts: Int64, _ h: UInt64) -> Int {
        slotSlow(sid, bucket, ts, h, Int(truncatingIfNeeded: h) & ((1 << SessionCore.cacheBits) - 1))
    }

    @inline(never)
    private mutating func slotSlow(_ sid: UInt64, _ bucket: UInt32, _ ts: Int64, _ h: UInt64, _ c: Int) -> Int {
        let mask = (1 << bits) - 1
        var i = Int(truncatingIfNeeded: h >> UInt64(64 - bits))
        while true {
            let e = index[i]
            if e.slot == .max { break }
            if e.sid == sid && e.bucket == bucket {
                cache[c] = e
                return Int(e.slot)
            }
            i = (i + 1) & mask
        }
        if count == capacity {
            grow()
            return slotSlow(sid, bucket, ts, h, c)
        }
        let s = count
        count += 1
        index[i] = KeyEntry(sid: sid, bucket: bucket, slot: UInt32(s))
        cache[c] = index[i]
        buckets[s] = bucket
        states[s] = SessionState(minTs: ts, maxTs: ts, entryTs: .max, visitor: 0, engSum: 0,
                                 pvAll: 0, evAll: 0, keptPv: 0, keptEv: 0, engCnt: 0, hasVisitor: 0)
        let ev = entryVals + s * dims
        for d in 0..<dims { ev[d] = noEntry[d] }
        return s
    }

    /// The slot of (sid, bucket) if present (read-only; safe from several threads).
    func lookup(_ sid: UInt64, _ bucket: UInt32) -> Int? {
        let h = hash(sid, bucket)
        let mask = (1 << bits) - 1
        var i = Int(truncatingIfNeeded: h >> UInt64(64 - bits))
        while true {
            let e = index[i]
            if e.slot == .max { return nil }
            if e.sid == sid && e.bucket == bucket { return Int(e.slot) }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldSize = 1 << bits
        let old = index
        bits += 1
        let size = 1 << bits
        index = LargeAlloc.allocate(KeyEntry.self, count: size)
        index.initialize(repeating: KeyEntry(sid: 0, bucket: 0, slot: .max), count: size)
        let mask = size - 1
        for j in 0..<oldSize where old[j].slot != .max {
            let e = old[j]
            var i = Int(truncatingIfNeeded: hash(e.sid, e.bucket) >> UInt64(64 - bits))
            while index[i].slot != .max { i = (i + 1) & mask }
            index[i] = e
        }
        LargeAlloc.deallocate(old, count: oldSize)
        let newCap = size * 7 / 10
        let ns = LargeAlloc.allocate(SessionState.self, count: newCap)
        ns.moveInitialize(from: states, count: count)
        LargeAlloc.deallocate(states, count: capacity)
        states = ns
        let nbk = LargeAlloc.allocate(UInt32.self, count: newCap)
        nbk.moveInitialize(from: buckets, count: count)
        LargeAlloc.deallocate(buckets, count: capacity)
        buckets = nbk
        let nv = LargeAlloc.allocate(UInt32.self, count: max(1, newCap * dims))
        nv.moveInitialize(from: entryVals, count: count * dims)
        LargeAlloc.deallocate(entryVals, count: max(1, capacity * dims))
        entryVals = nv
        capacity = newCap
    }
}

/// Owner of a `SessionCore` (frees it). Hot loops copy `core` into a local, work on it and
/// store it back.
final class SessionTable {
    var core: SessionCore
    init(dims: Int, noEntry: [UInt32], expected: Int = 1024) {
        core = SessionCore(dims: dims, noEntry: noEntry, expected: expected)
    }
    deinit { core.free() }
    var count: Int { core.count }
    var dims: Int { core.dims }
}

struct PairEntry {
    var value: UInt64
    var group: UInt32
    var used: UInt32
}

/// An exact set of (group, 64-bit value) pairs: distinct visitors per group, (name, session)
/// pairs. A struct for local use in hot loops; `free()` releases it.
struct PairSetCore {
    private(set) var table: UnsafeMutablePointer<PairEntry>
    private(set) var bits: Int
    private(set) var count = 0

    init(expected: Int = 256) {
        var b = 8
        while (1 << b) < expected * 2 { b += 1 }
        bits = b
        table = LargeAlloc.allocate(PairEntry.self, count: 1 << b)
        table.initialize(repeating: PairEntry(value: 0, group: 0, used: 0), count: 1 << b)
    }

    func free() {
        LargeAlloc.deallocate(table, count: 1 << bits)
        recent?.deallocate()
    }

    /// An optional direct-mapped cache of recently inserted pairs: rows repeating a pair cluster in
    /// time (a visitor's pageviews and events on one page), so most repeats skip the big table.
    private var recent: UnsafeMutablePointer<PairEntry>? = nil
    static let recentBits = 12

    mutating func enableRecentCache() {
        let p = UnsafeMutablePointer<PairEntry>.allocate(capacity: 1 << PairSetCore.recentBits)
        p.initialize(repeating: PairEntry(value: 0, group: 0, used: 0), count: 1 << PairSetCore.recentBits)
        recent = p
    }

    /// `insert` behind the recent-pair cache (requires `enableRecentCache`).
    @inline(__always)
    mutating func insertCached(_ g: UInt32, _ v: UInt64) -> Bool {
        recentMiss(g, v) && insert(g, v)
    }

    /// The recent-pair cache half of `insertCached`: false when the pair was just inserted (so
    /// certainly present); otherwise records it in the cache and returns true — the caller must
    /// then `insert` it (possibly later, see `PendingPairs`).
    @inline(__always)
    mutating func recentMiss(_ g: UInt32, _ v: UInt64) -> Bool {
        let h = hash(g, v)
        let c = recent! + (Int(truncatingIfNeeded: h) & ((1 << PairSetCore.recentBits) - 1))
        if c.pointee.used != 0 && c.pointee.value == v && c.pointee.group == g { return false }
        c.pointee = PairEntry(value: v, group: g, used: 1)
        return true
    }

    /// Loads the table line where the pair's probe starts (result only feeds a sink): issued for
    /// a batch before the inserts, so their cache misses overlap instead of queueing.
    @inline(__always)
    func touch(_ g: UInt32, _ v: UInt64) -> UInt32 {
        table[Int(truncatingIfNeeded: hash(g, v) >> UInt64(64 - bits))].used
    }

    @inline(__always) private func hash(_ g: UInt32, _ v: UInt64) -> UInt64 {
        mixIndex(v ^ (UInt64(g) &* 0xD6E8_FEB8_6659_FD93))
    }

    /// Inserts the pair; true when it was new.
    @inline(__always)
    mutating func insert(_ g: UInt32, _ v: UInt64) -> Bool {
        let mask = (1 << bits) - 1
        var i = Int(truncatingIfNeeded: hash(g, v) >> UInt64(64 - bits))
        while true {
            let e = table[i]
            if e.used == 0 { break }
            if e.value == v && e.group == g { return false }
            i = (i + 1) & mask
        }
        table[i] = PairEntry(value: v, group: g, used: 1)
        count += 1
        if count * 2 > (1 << bits) { grow() }
        return true
    }

    /// Calls `body` for every pair.
    func forEach(_ body: (UInt32, UInt64) -> Void) {
        for i in 0..<(1 << bits) where table[i].used != 0 { body(table[i].group, table[i].value) }
    }

    @inline(never)
    private mutating func grow() {
        let oldSize = 1 << bits
        let old = table
        bits += 1
        let size = 1 << bits
        table = LargeAlloc.allocate(PairEntry.self, count: size)
        table.initialize(repeating: PairEntry(value: 0, group: 0, used: 0), count: size)
        let mask = size - 1
        for j in 0..<oldSize where old[j].used != 0 {
            var i = Int(truncatingIfNeeded: hash(old[j].group, old[j].value) >> UInt64(64 - bits))
            while table[i].used != 0 { i = (i + 1) & mask }
            table[i] = old[j]
        }
        LargeAlloc.deallocate(old, count: oldSize)
    }
}

/// Pairs waiting to be inserted into a `PairSetCore`, flushed in batches: first every table line
/// is touched, then the pairs are inserted and each new one adds a visitor to its group.
struct PendingPairs {
    static let size = 256
    let groups = UnsafeMutablePointer<UInt32>.allocate(capacity: PendingPairs.size)
    let values = UnsafeMutablePointer<UInt64>.allocate(capacity: PendingPairs.size)
    var count = 0
    var sink: UInt32 = 0

    func free() { groups.deallocate(); values.deallocate() }

    /// Queues a pair; flushes when the batch is full.
    @inline(__always)
    mutating func add(_ g: UInt32, _ v: UInt64, _ set: inout PairSetCore, _ acc: UnsafeMutablePointer<GroupAcc>) {
        groups[count] = g
        values[count] = v
        count &+= 1
        if count == PendingPairs.size { flush(&set, acc) }
    }

    /// Inserts the queued pairs; `acc[g].visitors` counts the new ones.
    @inline(never)
    mutating func flush(_ set: inout PairSetCore, _ acc: UnsafeMutablePointer<GroupAcc>) {
        var x: UInt32 = 0
        for k in 0..<count { x ^= set.touch(groups[k], values[k]) }
        sink ^= x
        for k in 0..<count where set.insert(groups[k], values[k]) {
            acc[Int(groups[k])].visitors &+= 1
        }
        count = 0
    }
}

/// Owner of a `PairSetCore`.
final class PairSet {
    var core: PairSetCore
    init(expected: Int = 256) { core = PairSetCore(expected: expected) }
    deinit { core.free() }
    @inline(__always) func insert(_ g: UInt32, _ v: UInt64) -> Bool { core.insert(g, v) }
    func forEach(_ body: (UInt32, UInt64) -> Void) { core.forEach(body) }
}

/// A growable zero-initialised array of `T` for per-group accumulators indexed by global ids.
final class DenseArray<T> {
    private(set) var base: UnsafeMutablePointer<T>
    private(set) var count: Int
    let zero: T

    init(count: Int, zero: T) {
        self.zero = zero
        self.count = max(count, 1)
        base = .allocate(capacity: self.count)
        base.initialize(repeating: zero, count: self.count)
    }

    deinit { base.deallocate() }

    /// Makes indices `0..<n` valid (new ones zeroed).
    func ensure(_ n: Int) {
        guard n > count else { return }
        var c = count
        while c < n { c *= 2 }
        let nb = UnsafeMutablePointer<T>.allocate(capacity: c)
        nb.moveInitialize(from: base, count: count)
        (nb + count).initialize(repeating: zero, count: c - count)
        base.deallocate()
        base = nb
        count = c
    }

    @inline(__always) subscript(i: Int) -> T {
        get { base[i] }
        set { base[i] = newValue }
    }
}
