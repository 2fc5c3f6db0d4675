import ZTAFormat

/// The block-local half of the session pass.
///
/// A block's rows are first folded into *local* session states indexed by a small per-block code
/// (the block dictionary code of the session id when the chunk is dictionary-encoded, else a
/// code assigned here by `LocalCodes`), so the per-row work is an array index into a table that
/// stays in cache instead of a hash probe into the query-wide session table. Each local session
/// then goes to the shared table once per block (`SessionMerge`): one probe per distinct
/// session per block instead of one per row.

/// One session's state within one range of one block (a range is the block's selected rows of one
/// bucket, or all of them for the whole-window table). 64 bytes, one cache line.
struct LocalSession {
    var minTs: Int64
    var maxTs: Int64
    /// ts of the entry pageview; `Int64.max` while none.
    var entryTs: Int64
    var engSum: Int64
    var pvAll: UInt32
    var evAll: UInt32
    var keptPv: UInt32
    var keptEv: UInt32
    var engCnt: UInt32
    /// Row of the entry pageview (−1 while none).
    var entryRow: Int32
    /// Visitor code of the first kept pageview/event (−1 while none).
    var visCode: Int32
    /// The range this state belongs to; a different stamp means "not touched yet in this range".
    var stamp: UInt32
}

/// What one block hands to one worker's shared table: local sessions, second visitors, and
/// (event name, session) pairs, each referring to its session by index in `sessions`.
struct BlockSessions {
    var sids: [UInt64] = []
    var buckets: [UInt32] = []
    var states: [SessionState] = []
    /// Entry pageview row in the block, −1 when none.
    var entryRows: [Int32] = []
    /// (index into the lists above, visitor): visitors beyond a session's first.
    var sideIndex: [UInt32] = []
    var sideVisitors: [UInt64] = []
    /// (index into the lists above, query-global event name id) of kept `event` rows.
    var nameIndex: [UInt32] = []
    var nameIds: [UInt32] = []

    var count: Int { sids.count }
}

/// Per-row inputs of a fold, as raw pointers (columns of one block).
struct FoldColumns {
    var ts: UnsafePointer<Int64>
    var type: UnsafePointer<UInt8>
    var top: UnsafePointer<Int32>
    /// Local session code per row, and the ids of the codes.
    var sessCodes: UnsafePointer<UInt32>
    var sessIds: UnsafePointer<UInt64>
    /// Local visitor code per row, and the ids of the codes.
    var visCodes: UnsafePointer<UInt32>
    var visIds: UnsafePointer<UInt64>
    /// Event filters' verdict per row (nil: every row kept).
    var kept: UnsafePointer<UInt8>?
}

enum SessionFold {
    /// Folds the rows `rows[0..<n]` of one range into `local` (indexed by session code), listing
    /// newly touched codes in `touched`. Entry ties (a pageview at the current entry's ts) and
    /// second visitors are listed as row positions `j` in `ties` / `sides` for the caller — rare.
    /// Returns (touched, ties, sides) counts.
    @inline(never)
    static func fold(_ n: Int, rows: UnsafePointer<Int32>, _ c: FoldColumns, local: UnsafeMutablePointer<LocalSession>,
                     stamp: UInt32, trackEntry: Bool, touched: UnsafeMutablePointer<UInt32>,
                     ties: UnsafeMutablePointer<Int32>, sides: UnsafeMutablePointer<Int32>,
                     active: UnsafeMutablePointer<Int32>) -> (Int, Int, Int) {
        // Every row moves its session's min/max ts; only pageviews, events and engagements (a
        // minority) touch the counters, so they get a second, shorter loop over a compacted list.
        var nt = 0, na = 0
        let engType = EventType.engagement.rawValue
        let tsCol = c.ts, codeCol = c.sessCodes, typeCol = c.type
        for j in 0..<n {
            let i = Int(rows[j])
            let t = tsCol[i]
            let code = codeCol[i]
            let ls = local + Int(code)
            if ls.pointee.stamp != stamp {
                ls.pointee = LocalSession(minTs: t, maxTs: t, entryTs: .max, engSum: 0, pvAll: 0, evAll: 0, keptPv: 0,
                                          keptEv: 0, engCnt: 0, entryRow: -1, visCode: -1, stamp: stamp)
                touched[nt] = code
                nt &+= 1
            }
            ls.pointee.minTs = min(ls.pointee.minTs, t)
            ls.pointee.maxTs = max(ls.pointee.maxTs, t)
            let type = typeCol[i]
            active[na] = Int32(truncatingIfNeeded: j)
            na &+= type <= 1 || type == engType ? 1 : 0
        }
        var ne = 0, ns = 0
        let entryMask: UInt32 = trackEntry ? 1 : 0
        for q in 0..<na {
            let j = Int(active[q])
            let i = Int(rows[j])
            let t = c.ts[i]
            let ls = local + Int(c.sessCodes[i])
            let type = c.type[i]
            let tp = c.top[i]
            let k: UInt32 = c.kept == nil ? 1 : UInt32(c.kept![i])
            let isPv: UInt32 = type == 0 ? 1 : 0
            let isEv: UInt32 = type == 1 ? 1 : 0
            ls.pointee.pvAll &+= isPv
            ls.pointee.evAll &+= isEv
            ls.pointee.keptPv &+= isPv & k
            ls.pointee.keptEv &+= isEv & k
            let eng: UInt32 = (type == engType ? 1 : 0) & (tp > 0 ? 1 : 0) & k
            ls.pointee.engSum &+= Int64(tp) & -Int64(eng)
            ls.pointee.engCnt &+= eng
            // The first kept pageview/event sets the visitor; a different one later is rare.
            let want = (isPv | isEv) & k
            let v = Int32(bitPattern: c.visCodes[i])
            let cur = ls.pointee.visCode
            let had: UInt32 = cur >= 0 ? 1 : 0
            ls.pointee.visCode = (want & ~had) & 1 != 0 ? v : cur
            sides[ns] = Int32(truncatingIfNeeded: j)
            ns &+= Int(want & had & (cur != v ? 1 : 0))
            // Entry: the earliest pageview; an equal ts is a tie for the caller's byte comparison.
            let et = ls.pointee.entryTs
            let pv = isPv & entryMask
            let better = pv & (t < et ? 1 : 0)
            ls.pointee.entryTs = better != 0 ? t : et
            ls.pointee.entryRow = better != 0 ? Int32(truncatingIfNeeded: i) : ls.pointee.entryRow
            ties[ne] = Int32(truncatingIfNeeded: j)
            ne &+= Int(pv & (t == et ? 1 : 0))
        }
        return (nt, ne, ns)
    }
}

/// Assigns small per-chunk codes to 64-bit ids when the chunk did not come with a block
/// dictionary (memtable chunks, other encodings): one probe per row into a table sized for the
/// chunk, which stays in cache. Reused across chunks by one worker.
final class LocalCodes {
    private var keys: UnsafeMutablePointer<UInt64>
    /// code + 1, 0 = empty.
    private var slots: UnsafeMutablePointer<UInt32>
    private var bits: Int

    init() {
        bits = 10
        keys = .allocate(capacity: 1 << bits)
        slots = .allocate(capacity: 1 << bits)
    }

    deinit { keys.deallocate(); slots.deallocate() }

    /// Codes of `ids[0..<n]` into `codes`; returns the distinct ids in first-appearance order.
    func build(_ ids: UnsafePointer<UInt64>, _ n: Int, codes: UnsafeMutablePointer<UInt32>) -> [UInt64] {
        var b = 10
        while (1 << b) < 2 * n { b += 1 }
        if b > bits {
            keys.deallocate(); slots.deallocate()
            bits = b
            keys = .allocate(capacity: 1 << b)
            slots = .allocate(capacity: 1 << b)
        }
        let size = 1 << b, mask = size - 1
        slots.initialize(repeating: 0, count: size)
        var distinct: [UInt64] = []
        let shift = UInt64(64 - b)
        for i in 0..<n {
            let v = ids[i]
            var h = Int(truncatingIfNeeded: mixIndex(v) >> shift)
            while true {
                let s = slots[h]
                if s == 0 {
                    slots[h] = UInt32(distinct.count + 1)
                    keys[h] = v
                    codes[i] = UInt32(distinct.count)
                    distinct.append(v)
                    break
                }
                if keys[h] == v { codes[i] = s - 1; break }
                h = (h + 1) & mask
            }
        }
        return distinct
    }
}
