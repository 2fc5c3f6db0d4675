/// Dense ids 0, 1, 2, … for 64-bit keys (sessions, visitors) in first-seen order: an
/// open-addressing table sized once for at most `capacity` keys, so heatmap passes index flat
/// arrays instead of hashing into Swift dictionaries row by row.
struct DenseIds {
    private var keys: [UInt64]
    /// id + 1; 0 = empty.
    private var slots: [Int32]
    private var bits: Int
    private(set) var count = 0

    /// `capacity` sizes the table for that many keys up front; more keys grow it (at half
    /// load). Callers that expect far fewer distinct keys than rows pass a small hint: a table
    /// sized for every row is mostly empty, and each probe into it misses the cache.
    init(capacity: Int) {
        var b = 4
        while (1 << b) < 2 * max(1, capacity) { b += 1 }
        bits = b
        keys = [UInt64](repeating: 0, count: 1 << b)
        slots = [Int32](repeating: 0, count: 1 << b)
    }

    /// The id of `key`, assigned on first sight.
    @inline(__always)
    mutating func id(_ key: UInt64) -> Int {
        let mask = (1 << bits) - 1
        var h = Int(truncatingIfNeeded: mixIndex(key) >> UInt64(64 - bits))
        while true {
            let s = slots[h]
            if s == 0 {
                slots[h] = Int32(truncatingIfNeeded: count + 1)
                keys[h] = key
                count += 1
                if 2 * count > slots.count { grow() }
                return count - 1
            }
            if keys[h] == key { return Int(s) - 1 }
            h = (h + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldSlots = slots
        bits += 1
        keys = [UInt64](repeating: 0, count: 1 << bits)
        slots = [Int32](repeating: 0, count: 1 << bits)
        let mask = (1 << bits) - 1
        for j in 0..<oldSlots.count where oldSlots[j] != 0 {
            var h = Int(truncatingIfNeeded: mixIndex(oldKeys[j]) >> UInt64(64 - bits))
            while slots[h] != 0 { h = (h + 1) & mask }
            slots[h] = oldSlots[j]
            keys[h] = oldKeys[j]
        }
    }
}
