import ZTAFormat

/// The per-row kernel of the session pass, kept in small standalone functions with explicit
/// pointer parameters so the hot loops run in registers (closures nested around a long loop
/// spill everything to the stack).
enum SessionKernel {
    /// Folds a batch of rows into their sessions' states, branch-free (row types are mixed at
    /// random, so type-dependent branches would mispredict on most rows). Rows that may change
    /// the entry or that bring a second visitor are listed in `entryCand` / `sideCand` (rare)
    /// for the caller; the counts are returned.
    @inline(never)
    static func fold(_ n: Int, rows: UnsafePointer<Int32>, slots: UnsafePointer<Int32>, ts: UnsafePointer<Int64>,
                     type ty: UnsafePointer<UInt8>, visitor vis: UnsafePointer<UInt64>, top: UnsafePointer<Int32>,
                     kept: UnsafePointer<UInt8>?, states: UnsafeMutablePointer<SessionState>, trackEntry: Bool,
                     entryCand: UnsafeMutablePointer<Int32>, sideCand: UnsafeMutablePointer<Int32>) -> (Int, Int) {
        var ne = 0, ns = 0
        let engType = EventType.engagement.rawValue
        let entryMask: UInt32 = trackEntry ? 1 : 0
        for j in 0..<n {
            let i = Int(rows[j])
            let t = ts[j]
            let type = ty[i]
            let v = vis[i]
            let tp = top[i]
            let k: UInt32 = kept == nil ? 1 : UInt32(kept![j])
            let st = states + Int(slots[j])
            let isPv: UInt32 = type == 0 ? 1 : 0
            let isEv: UInt32 = type == 1 ? 1 : 0
            st.pointee.minTs = min(st.pointee.minTs, t)
            st.pointee.maxTs = max(st.pointee.maxTs, t)
            st.pointee.pvAll &+= isPv
            st.pointee.evAll &+= isEv
            st.pointee.keptPv &+= isPv & k
            st.pointee.keptEv &+= isEv & k
            let eng: UInt32 = (type == engType ? 1 : 0) & (tp > 0 ? 1 : 0) & k
            st.pointee.engSum &+= Int64(tp) & -Int64(eng)
            st.pointee.engCnt &+= eng
            // The first kept pageview/event sets the session's visitor; a different one later is rare.
            let want = (isPv | isEv) & k
            let had = st.pointee.hasVisitor
            let cur = st.pointee.visitor
            st.pointee.visitor = (want & ~had) != 0 ? v : cur
            st.pointee.hasVisitor = had | want
            sideCand[ns] = Int32(truncatingIfNeeded: j)
            ns &+= Int(want & had & (cur != v ? 1 : 0))
            // Only a pageview at or before the current entry can change it (rare once it is set).
            entryCand[ne] = Int32(truncatingIfNeeded: j)
            ne &+= Int(isPv & entryMask & (t <= st.pointee.entryTs ? 1 : 0))
        }
        return (ne, ns)
    }

    /// Gathers the batch's ts and session ids (and bucket indexes of a series) from the chunk.
    @inline(never)
    static func gather(_ n: Int, rows: UnsafePointer<Int32>, ts: UnsafePointer<Int64>, sid: UnsafePointer<UInt64>,
                       outTs: UnsafeMutablePointer<Int64>, outSid: UnsafeMutablePointer<UInt64>,
                       bounds: UnsafePointer<Int64>?, buckets nb: Int, outBucket: UnsafeMutablePointer<UInt32>,
                       cursor: inout Int) {
        var cur = cursor
        for j in 0..<n {
            let i = Int(rows[j])
            let t = ts[i]
            outTs[j] = t
            outSid[j] = sid[i]
            if let b = bounds {
                if !(t >= b[cur] && t < b[cur + 1]) { cur = Bucketing.find(t, b, nb) }
                outBucket[j] = UInt32(truncatingIfNeeded: cur)
            }
        }
        cursor = cur
    }

    /// Indices of the rows with `from <= ts < to`, branch-free; returns their count. A standalone
    /// function so the running count stays in a register (inside the executor's nested closures
    /// it was spilled to the stack on every row).
    @inline(never)
    static func selectWindow(_ n: Int, ts: UnsafePointer<Int64>, from: Int64, to: Int64,
                             out: UnsafeMutablePointer<Int32>) -> Int {
        if to <= from { return 0 }
        var k = 0
        // One unsigned compare for the range; Bool → Int without a branch.
        let span = UInt64(bitPattern: to &- from)
        for i in 0..<n {
            out[k] = Int32(truncatingIfNeeded: i)
            let inside = UInt64(bitPattern: ts[i] &- from) < span
            k &+= Int(unsafeBitCast(inside, to: UInt8.self))
        }
        return k
    }

    /// Indices of the rows whose owner byte is `me`, branch-free; returns their count.
    @inline(never)
    static func selectOwned(_ n: Int, owners: UnsafePointer<UInt8>, me: UInt8, out: UnsafeMutablePointer<Int32>) -> Int {
        var k = 0
        // Owners alternate at random between workers: a branch here mispredicts half the time.
        // (d - 1) >> 63 is all ones exactly when d == 0.
        for i in 0..<n {
            out[k] = Int32(truncatingIfNeeded: i)
            let d = Int(owners[i] ^ me)
            k &+= ((d &- 1) >> 63) & 1
        }
        return k
    }

    /// The event filters' verdict per row of the batch (1 = kept).
    @inline(never)
    static func kept(_ n: Int, rows: UnsafePointer<Int32>, pathLUT: UnsafePointer<UInt8>?, pathCodes: UnsafePointer<UInt32>,
                     nameLUT: UnsafePointer<UInt8>?, nameCodes: UnsafePointer<UInt32>, out: UnsafeMutablePointer<UInt8>) {
        for j in 0..<n {
            let i = Int(rows[j])
            var k: UInt8 = 1
            if let p = pathLUT { k &= p[Int(pathCodes[i])] }
            if let q = nameLUT { k &= q[Int(nameCodes[i])] }
            out[j] = k
        }
    }
}

/// Scratch buffers of one worker's batches (allocated once per worker, reused for every chunk).
final class BatchScratch {
    static let size = 256
    let sid = UnsafeMutablePointer<UInt64>.allocate(capacity: size)
    let ts = UnsafeMutablePointer<Int64>.allocate(capacity: size)
    let bucket = UnsafeMutablePointer<UInt32>.allocate(capacity: size)
    let zero = UnsafeMutablePointer<UInt32>.allocate(capacity: size)
    let slotW = UnsafeMutablePointer<Int32>.allocate(capacity: size)
    let slotS = UnsafeMutablePointer<Int32>.allocate(capacity: size)
    let hash = UnsafeMutablePointer<UInt64>.allocate(capacity: size)
    let miss = UnsafeMutablePointer<Int32>.allocate(capacity: size)
    let kept = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
    let entryCand = UnsafeMutablePointer<Int32>.allocate(capacity: size)
    let sideCand = UnsafeMutablePointer<Int32>.allocate(capacity: size)

    init() { zero.initialize(repeating: 0, count: BatchScratch.size) }

    deinit {
        sid.deallocate(); ts.deallocate(); bucket.deallocate(); zero.deallocate(); slotW.deallocate()
        slotS.deallocate(); hash.deallocate(); miss.deallocate(); kept.deallocate(); entryCand.deallocate()
        sideCand.deallocate()
    }
}
