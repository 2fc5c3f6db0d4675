/// Row-at-a-time construction of a `ColumnChunk`: numeric values go straight into their
/// column arrays, strings are interned into one insertion-ordered dictionary per column.
///
/// Interning is keyed by the UTF-8 bytes, so a parser can hand over a byte range of its input
/// and a repeated value costs a hash and a compare — no `String` is created except for the
/// first occurrence of each distinct value.

/// The non-string fields of one row, for `ColumnChunkBuilder.append(_:strings:)`.
public struct NumericRow: Sendable, Equatable {
    public var ts: Int64 = 0
    /// `EventType.rawValue`.
    public var type: UInt8 = 0
    public var visitor: UInt64 = 0
    public var session: UInt64 = 0
    public var value: Double = 0
    public var timeOnPage: Int32 = 0
    public var x: Int32 = 0
    public var y: Int32 = 0
    public var scrollDepth: Int8 = 0
    public var importId: UInt32 = 0

    public init() {}
}

/// Appends rows and builds a `ColumnChunk` with every column filled and string dictionaries in
/// first-seen order (`isSorted: false`), exactly as `ColumnChunk.from(records:)` would.
public struct ColumnChunkBuilder: Sendable {
    private var ts: [Int64] = []
    private var type: [UInt8] = []
    private var visitor: [UInt64] = []
    private var session: [UInt64] = []
    private var value: [Double] = []
    private var timeOnPage: [Int32] = []
    private var x: [Int32] = []
    private var y: [Int32] = []
    private var scrollDepth: [Int8] = []
    private var importId: [UInt32] = []
    /// Indexed by `Column.stringIndex`.
    private var strings: [StringInterner]

    /// `capacity` reserves room for that many rows (dictionaries grow on demand).
    public init(capacity: Int = 0) {
        strings = (0..<StringColumns.count).map { _ in StringInterner(capacity: capacity) }
        if capacity > 0 { reserveCapacity(capacity) }
    }

    /// Rows appended so far.
    public var count: Int { ts.count }

    /// The number of distinct values interned so far in string column `c`.
    public func distinctCount(_ c: Column) -> Int { strings[c.stringIndex!].values.count }

    /// Reserves room for `n` rows in total.
    public mutating func reserveCapacity(_ n: Int) {
        ts.reserveCapacity(n); type.reserveCapacity(n)
        visitor.reserveCapacity(n); session.reserveCapacity(n)
        value.reserveCapacity(n); timeOnPage.reserveCapacity(n)
        x.reserveCapacity(n); y.reserveCapacity(n)
        scrollDepth.reserveCapacity(n); importId.reserveCapacity(n)
        for i in strings.indices { strings[i].codes.reserveCapacity(n) }
    }

    /// Appends one row given as a record (the slow-but-simple path of `/api/track`).
    public mutating func append(_ r: EventRecord) {
        var n = NumericRow()
        n.ts = r.ts; n.type = r.type.rawValue
        n.visitor = r.visitor; n.session = r.session
        n.value = r.value; n.timeOnPage = r.timeOnPage
        n.x = r.x; n.y = r.y
        n.scrollDepth = r.scrollDepth; n.importId = r.importId
        appendNumbers(n)
        for (k, c) in StringColumns.all.enumerated() {
            let s = r.string(c)
            var bytes = s
            // withUTF8 is free for native strings; bridged ones get made contiguous once.
            let code = bytes.withUTF8 { strings[k].intern(UnsafeRawBufferPointer($0), string: s) }
            strings[k].codes.append(code)
        }
    }

    /// Fast path for parsers: appends one row whose string values are UTF-8 byte ranges,
    /// indexed by `Column.stringIndex` (`strings.count == StringColumns.count`; an empty
    /// buffer is the empty string). The bytes are copied; they need not outlive the call.
    public mutating func append(_ numbers: NumericRow, strings values: UnsafeBufferPointer<UnsafeRawBufferPointer>) {
        precondition(values.count == StringColumns.count, "one byte range per string column")
        appendNumbers(numbers)
        strings.withUnsafeMutableBufferPointer { columns in
            for k in 0..<values.count {
                let code = columns[k].intern(values[k], string: nil)
                columns[k].codes.append(code)
            }
        }
    }

    private mutating func appendNumbers(_ n: NumericRow) {
        ts.append(n.ts); type.append(n.type)
        visitor.append(n.visitor); session.append(n.session)
        value.append(n.value); timeOnPage.append(n.timeOnPage)
        x.append(n.x); y.append(n.y)
        scrollDepth.append(n.scrollDepth); importId.append(n.importId)
    }

    /// A chunk holding every row appended so far, all columns filled. The arrays are shared
    /// copy-on-write, so building is cheap; the next append copies what it touches.
    public func build() -> ColumnChunk {
        var c = ColumnChunk(count: count)
        c.ts = ts; c.type = type
        c.visitor = visitor; c.session = session
        c.value = value; c.timeOnPage = timeOnPage
        c.x = x; c.y = y
        c.scrollDepth = scrollDepth; c.importId = importId
        for k in strings.indices {
            c.strings[k] = StringColumnData(
                codes: strings[k].codes,
                dictionary: StringDictionary(values: strings[k].values, isSorted: false))
        }
        return c
    }

    /// Forgets every row and every interned value.
    public mutating func removeAll(keepingCapacity: Bool) {
        ts.removeAll(keepingCapacity: keepingCapacity)
        type.removeAll(keepingCapacity: keepingCapacity)
        visitor.removeAll(keepingCapacity: keepingCapacity)
        session.removeAll(keepingCapacity: keepingCapacity)
        value.removeAll(keepingCapacity: keepingCapacity)
        timeOnPage.removeAll(keepingCapacity: keepingCapacity)
        x.removeAll(keepingCapacity: keepingCapacity)
        y.removeAll(keepingCapacity: keepingCapacity)
        scrollDepth.removeAll(keepingCapacity: keepingCapacity)
        importId.removeAll(keepingCapacity: keepingCapacity)
        for k in strings.indices { strings[k].removeAll(keepingCapacity: keepingCapacity) }
    }
}

/// One string column under construction: the per-row codes and an insertion-ordered dictionary
/// found through an open-addressing hash table over the values' UTF-8 bytes.
struct StringInterner: Sendable {
    var codes: [UInt32] = []
    /// The dictionary, code order = first-seen order.
    private(set) var values: [String] = []
    /// Every value's bytes back to back, so lookups compare bytes without touching `String`s.
    private var arena: [UInt8] = []
    /// `starts[e] ..< starts[e + 1]` is value `e` in `arena`.
    private var starts: [Int] = [0]
    private var hashes: [UInt64] = []
    /// Linear-probing table of `code + 1`; 0 marks an empty slot. Kept at most half full.
    private var slots: [UInt32]
    /// The code of the empty string once interned (most optional fields are empty).
    private var emptyCode = UInt32.max

    init(capacity: Int) {
        codes.reserveCapacity(capacity)
        slots = [UInt32](repeating: 0, count: 64)
    }

    mutating func removeAll(keepingCapacity: Bool) {
        codes.removeAll(keepingCapacity: keepingCapacity)
        values.removeAll(keepingCapacity: keepingCapacity)
        arena.removeAll(keepingCapacity: keepingCapacity)
        starts.removeAll(keepingCapacity: keepingCapacity)
        starts.append(0)
        hashes.removeAll(keepingCapacity: keepingCapacity)
        emptyCode = .max
        if keepingCapacity {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            slots = [UInt32](repeating: 0, count: 64)
        }
    }

    /// The code of `bytes`, adding it to the dictionary when new. `string`, when given, is the
    /// same value as a `String` and is stored instead of decoding the bytes.
    mutating func intern(_ bytes: UnsafeRawBufferPointer, string: String?) -> UInt32 {
        let n = bytes.count
        if n == 0 && emptyCode != .max { return emptyCode }
        let h = StringInterner.hash(bytes)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        let found: UInt32? = slots.withUnsafeBufferPointer { slotBuf in
            hashes.withUnsafeBufferPointer { hashBuf in
                starts.withUnsafeBufferPointer { startBuf in
                    arena.withUnsafeBufferPointer { arenaBuf in
                        while true {
                            let s = slotBuf[i]
                            if s == 0 { return nil }
                            let e = Int(s &- 1)
                            if hashBuf[e] == h {
                                let a = startBuf[e]
                                if startBuf[e + 1] &- a == n {
                                    if n == 0 || StringInterner.equal(arenaBuf.baseAddress! + a, bytes.baseAddress!, n) {
                                        return UInt32(truncatingIfNeeded: e)
                                    }
                                }
                            }
                            i = (i &+ 1) & mask
                        }
                    }
                }
            }
        }
        if let found { return found }
        let code = UInt32(values.count)
        slots[i] = code &+ 1
        hashes.append(h)
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        values.append(string ?? String(decoding: bytes, as: UTF8.self))
        if n == 0 { emptyCode = code }
        if values.count &* 2 > slots.count { grow() }
        return code
    }

    private mutating func grow() {
        var bigger = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for (e, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h) & mask
            while bigger[i] != 0 { i = (i &+ 1) & mask }
            bigger[i] = UInt32(e &+ 1)
        }
        slots = bigger
    }

    /// Byte equality, a word at a time (values are short: a libc call costs more than the compare).
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        var i = 0
        while i &+ 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i &+= 8
        }
        while i < n {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i &+= 1
        }
        return true
    }

    /// A fast in-memory hash (wyhash-style multiply-fold). Not stable across versions: never store it.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { return 0x2D35_8DCC_AA6C_78A5 }
        var h: UInt64 = 0xA076_1D64_78BD_642F ^ UInt64(truncatingIfNeeded: n)
        var w: UInt64
        if n >= 8 {
            var i = 0
            while i &+ 8 < n {
                h = mum(h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0xE703_7ED1_A0B4_28DB)
                i &+= 8
            }
            // The last 8 bytes, overlapping what was already mixed when n is not a multiple of 8.
            w = p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 {
            w = UInt64(p.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
        } else {
            let b = p.assumingMemoryBound(to: UInt8.self)
            w = UInt64(b[0]) << 16 | UInt64(b[n >> 1]) << 8 | UInt64(b[n &- 1])
        }
        return mum(h ^ w, 0x8EBC_6AF0_9C88_C6E3 ^ UInt64(truncatingIfNeeded: n))
    }

    @inline(__always)
    private static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }
}
