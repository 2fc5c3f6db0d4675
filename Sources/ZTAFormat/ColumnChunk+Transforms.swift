/// Row-level transforms of column chunks used by flush and compaction.
extension ColumnChunk {
    /// Stable sort of all filled columns by ts (rows with equal ts keep their order).
    /// Returns `self` unchanged when ts is not filled or already sorted.
    public func sortedByTimestamp() -> ColumnChunk {
        guard ts.count == count, count > 1 else { return self }
        var sorted = true
        for i in 1..<count where ts[i] < ts[i - 1] { sorted = false; break }
        if sorted { return self }
        let t = ts
        // Sorting (ts, index) pairs makes the sort stable whatever algorithm `sort` uses.
        let order = (0..<count).sorted { t[$0] != t[$1] ? t[$0] < t[$1] : $0 < $1 }
        return gathered(order)
    }

    /// Rows whose index passes `keep`, in order. String columns keep their dictionaries.
    public func filtered(_ keep: (Int) -> Bool) -> ColumnChunk {
        var rows: [Int] = []
        rows.reserveCapacity(count)
        for i in 0..<count where keep(i) { rows.append(i) }
        return gathered(rows)
    }

    /// The rows of `self` followed by the rows of `other`. String columns are re-interned into one
    /// dictionary in first-seen order (values compared by UTF-8 bytes), keeping only used values.
    /// A column is filled in the result when it is filled in both chunks; a chunk without rows
    /// counts as having every column.
    public func concatenated(with other: ColumnChunk) -> ColumnChunk {
        var r = ColumnChunk(count: count + other.count)
        func join<T>(_ a: [T], _ b: [T]) -> [T] {
            let aOK = a.count == count || count == 0, bOK = b.count == other.count || other.count == 0
            guard aOK, bOK, !(a.isEmpty && b.isEmpty && r.count > 0) else { return [] }
            return a + b
        }
        r.ts = join(ts, other.ts)
        r.type = join(type, other.type)
        r.visitor = join(visitor, other.visitor)
        r.session = join(session, other.session)
        r.value = join(value, other.value)
        r.timeOnPage = join(timeOnPage, other.timeOnPage)
        r.x = join(x, other.x)
        r.y = join(y, other.y)
        r.scrollDepth = join(scrollDepth, other.scrollDepth)
        r.importId = join(importId, other.importId)
        for k in 0..<StringColumns.count {
            let a = strings[k], b = other.strings[k]
            if (a == nil && count > 0) || (b == nil && other.count > 0) || (a == nil && b == nil) { continue }
            var interner = UTF8Interner()
            var codes: [UInt32] = []
            codes.reserveCapacity(r.count)
            for part in [a, b] {
                guard let part else { continue }
                var map = [UInt32](repeating: .max, count: part.dictionary.count)
                for code in part.codes {
                    var m = map[Int(code)]
                    if m == .max {
                        m = interner.intern(part.dictionary.values[Int(code)])
                        map[Int(code)] = m
                    }
                    codes.append(m)
                }
            }
            r.strings[k] = StringColumnData(codes: codes, dictionary: StringDictionary(values: interner.values, isSorted: false))
        }
        return r
    }

    /// A chunk of the rows at `rows` (indices into `self`), of the same filled columns.
    func gathered(_ rows: [Int]) -> ColumnChunk {
        var r = ColumnChunk(count: rows.count)
        func pick<T>(_ a: [T]) -> [T] {
            guard a.count == count, count > 0 else { return [] }
            return a.withUnsafeBufferPointer { src in rows.map { src[$0] } }
        }
        r.ts = pick(ts)
        r.type = pick(type)
        r.visitor = pick(visitor)
        r.session = pick(session)
        r.value = pick(value)
        r.timeOnPage = pick(timeOnPage)
        r.x = pick(x)
        r.y = pick(y)
        r.scrollDepth = pick(scrollDepth)
        r.importId = pick(importId)
        for k in 0..<StringColumns.count {
            guard let s = strings[k] else { continue }
            r.strings[k] = StringColumnData(codes: s.codes.count == count ? pick(s.codes) : [], dictionary: s.dictionary)
        }
        return r
    }
}

/// Interns strings by their UTF-8 bytes (Swift's String equality is canonical equivalence,
/// which would merge distinct byte strings).
struct UTF8Interner {
    private struct Key: Hashable {
        let s: String
        static func == (a: Key, b: Key) -> Bool { a.s.utf8.elementsEqual(b.s.utf8) }
        func hash(into h: inout Hasher) {
            var copy = s
            copy.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
    private var index: [Key: UInt32] = [:]
    private(set) var values: [String] = []

    mutating func intern(_ s: String) -> UInt32 {
        if let c = index[Key(s: s)] { return c }
        let c = UInt32(values.count)
        index[Key(s: s)] = c
        values.append(s)
        return c
    }
}
