/// A set of 64-bit keys for exact distinct counts in the goal folds: open addressing with
/// linear probing and a multiply-shift mix (`mixIndex`), growing at half load. Keys are
/// (group, dense visitor) pairs packed by the caller; unlike `Set<…>` there is no SipHash
/// and no per-insert generic hashing.
struct DistinctPairs {
    private static let empty = UInt64.max
    private var slots: [UInt64]
    private var bits: Int
    private(set) var count = 0

    init(expected: Int = 0) {
        var b = 4
        while (1 << b) < 2 * max(1, expected) { b += 1 }
        bits = b
        slots = [UInt64](repeating: Self.empty, count: 1 << b)
    }

    /// The key for `group` and a dense visitor id (< 2³²).
    @inline(__always)
    static func key(_ group: UInt32, _ visitor: Int) -> UInt64 {
        UInt64(group) << 32 | UInt64(truncatingIfNeeded: UInt32(truncatingIfNeeded: visitor))
    }

    /// Inserts `key` (never `UInt64.max`); true when it was not yet present.
    @inline(__always)
    mutating func insert(_ key: UInt64) -> Bool {
        let mask = (1 << bits) - 1
        var h = Int(truncatingIfNeeded: mixIndex(key) >> UInt64(64 - bits))
        while true {
            let s = slots[h]
            if s == key { return false }
            if s == Self.empty {
                slots[h] = key
                count += 1
                if 2 * count > slots.count { grow() }
                return true
            }
            h = (h + 1) & mask
        }
    }

    private mutating func grow() {
        let old = slots
        bits += 1
        slots = [UInt64](repeating: Self.empty, count: 1 << bits)
        let mask = (1 << bits) - 1
        for k in old where k != Self.empty {
            var h = Int(truncatingIfNeeded: mixIndex(k) >> UInt64(64 - bits))
            while slots[h] != Self.empty { h = (h + 1) & mask }
            slots[h] = k
        }
    }
}

/// A fixed-size bit set over dense ids 0..<capacity.
struct DenseBitset {
    private var words: [UInt64]
    private(set) var count = 0

    init(capacity: Int) {
        words = [UInt64](repeating: 0, count: (max(0, capacity) + 63) / 64)
    }

    /// Sets bit `i` (< capacity); true when it was clear.
    @inline(__always)
    mutating func insert(_ i: Int) -> Bool {
        let w = i >> 6, b = UInt64(1) << UInt64(i & 63)
        if words[w] & b != 0 { return false }
        words[w] |= b
        count += 1
        return true
    }
}

/// Distinct visitors per group for groups 0..<groups and dense visitor ids 0..<visitors: one
/// flat bit matrix (a row of bits per group) while it fits `budgetBytes`, else a
/// `DistinctPairs` table. The matrix needs no hashing, and rows arriving in `ts` order touch
/// one day's bits at a time, so it stays in cache.
struct GroupedDistinct {
    private var words: [UInt64]
    private let wordsPerGroup: Int
    private let matrix: Bool
    private var pairs = DistinctPairs()
    /// Distinct visitors of each group so far.
    private(set) var counts: [Int64]

    init(groups: Int, visitors: Int, budgetBytes: Int = 32 << 20) {
        let g = max(0, groups)
        wordsPerGroup = (max(0, visitors) + 63) / 64
        counts = [Int64](repeating: 0, count: g)
        let (bytes, overflow) = g.multipliedReportingOverflow(by: wordsPerGroup &* 8)
        if !overflow && bytes <= budgetBytes {
            words = [UInt64](repeating: 0, count: g * wordsPerGroup)
            matrix = true
        } else {
            words = []
            matrix = false
        }
    }

    /// Counts `visitor` for `group` unless it was counted there already.
    @inline(__always)
    mutating func insert(group: Int, visitor: Int) {
        if matrix {
            let w = group * wordsPerGroup + (visitor >> 6), b = UInt64(1) << UInt64(visitor & 63)
            if words[w] & b != 0 { return }
            words[w] |= b
            counts[group] += 1
        } else if pairs.insert(DistinctPairs.key(UInt32(truncatingIfNeeded: group), visitor)) {
            counts[group] += 1
        }
    }
}
