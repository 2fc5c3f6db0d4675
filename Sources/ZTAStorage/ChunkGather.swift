public import ZTAFormat

extension ColumnChunk {
    /// The rows at `indices`, in that order, for every filled column. String columns keep their
    /// dictionary (only codes move), so this costs one pass per filled column.
    public func gather(_ indices: [Int32]) -> ColumnChunk {
        func g<T>(_ a: [T]) -> [T] {
            if a.isEmpty { return [] }
            return a.withUnsafeBufferPointer { src in
                indices.map { src[Int($0)] }
            }
        }
        var out = ColumnChunk(count: indices.count)
        out.ts = g(ts)
        out.type = g(type)
        out.visitor = g(visitor)
        out.session = g(session)
        out.value = g(value)
        out.timeOnPage = g(timeOnPage)
        out.x = g(x)
        out.y = g(y)
        out.scrollDepth = g(scrollDepth)
        out.importId = g(importId)
        for k in 0..<strings.count {
            if let s = strings[k] { out.strings[k] = StringColumnData(codes: g(s.codes), dictionary: s.dictionary) }
        }
        return out
    }

    /// Row indices ordered by `ts` (stable).
    public func timestampOrder() -> [Int32] {
        var idx = (0..<Int32(count)).map { $0 }
        ts.withUnsafeBufferPointer { t in
            var sorted = true
            var i = 1
            while i < t.count { if t[i] < t[i - 1] { sorted = false; break }; i += 1 }
            if !sorted { idx.sort { t[Int($0)] < t[Int($1)] || (t[Int($0)] == t[Int($1)] && $0 < $1) } }
        }
        return idx
    }

    /// Splits rows by partition (site, UTC month), each part sorted by `ts`.
    /// Requires `ts` and the `site` column.
    public func splitByPartition() -> [(PartitionKey, ColumnChunk)] {
        guard count > 0, let site = string(.site) else { return [] }
        // Partition id per row. Each site code remembers the month range and partition of its
        // last row, so a row costs a range check even when sites interleave row by row (tracked
        // traffic of several sites does): building a key — a month string, a hash lookup —
        // only happens when a site's row leaves that month, and that took ~15 % of an import's
        // CPU when it happened on every site change.
        var keyOf: [PartitionKey: Int] = [:]
        var keys: [PartitionKey] = []
        var part = [Int32](repeating: 0, count: count)
        var recent = [(start: Int64, end: Int64, part: Int32)](repeating: (1, 0, -1), count: site.dictionary.count)
        site.codes.withUnsafeBufferPointer { codes in
            ts.withUnsafeBufferPointer { tsv in
                for i in 0..<count {
                    let sc = Int(codes[i]), t = tsv[i]
                    if sc < recent.count, t >= recent[sc].start, t < recent[sc].end {
                        part[i] = recent[sc].part
                        continue
                    }
                    let key = PartitionKey(site: site.dictionary.values[sc], ts: t)
                    let p: Int
                    if let e = keyOf[key] { p = e } else { p = keys.count; keyOf[key] = p; keys.append(key) }
                    let (start, end) = key.range
                    if sc < recent.count { recent[sc] = (start, end, Int32(p)) }
                    part[i] = Int32(p)
                }
            }
        }
        var buckets = [[Int32]](repeating: [], count: keys.count)
        for i in 0..<count { buckets[Int(part[i])].append(Int32(i)) }
        var out: [(PartitionKey, ColumnChunk)] = []
        for (p, key) in keys.enumerated() {
            let rows = buckets[p]
            let sortedRows = ts.withUnsafeBufferPointer { t -> [Int32] in
                var r = rows
                var sorted = true
                var i = 1
                while i < r.count { if t[Int(r[i])] < t[Int(r[i - 1])] { sorted = false; break }; i += 1 }
                if !sorted { r.sort { t[Int($0)] < t[Int($1)] || (t[Int($0)] == t[Int($1)] && $0 < $1) } }
                return r
            }
            out.append((key, gather(sortedRows)))
        }
        out.sort { $0.0 < $1.0 }
        return out
    }
}

extension ColumnChunk {
    /// All rows of `chunks` in order, in one pass per column (pairwise concatenation would copy
    /// the growing prefix k times). String dictionaries are merged per entry, codes remapped per row.
    /// A column is kept only when every non-empty chunk has it.
    public static func concatenate(_ chunks: [ColumnChunk]) -> ColumnChunk {
        let parts = chunks.filter { $0.count > 0 }
        if parts.count == 1 { return parts[0] }
        let total = parts.reduce(0) { $0 + $1.count }
        var out = ColumnChunk(count: total)
        guard !parts.isEmpty else { return out }
        func join<T>(_ get: (ColumnChunk) -> [T]) -> [T] {
            guard parts.allSatisfy({ get($0).count == $0.count }) else { return [] }
            var r: [T] = []
            r.reserveCapacity(total)
            for p in parts { r.append(contentsOf: get(p)) }
            return r
        }
        out.ts = join(\.ts)
        out.type = join(\.type)
        out.visitor = join(\.visitor)
        out.session = join(\.session)
        out.value = join(\.value)
        out.timeOnPage = join(\.timeOnPage)
        out.x = join(\.x)
        out.y = join(\.y)
        out.scrollDepth = join(\.scrollDepth)
        out.importId = join(\.importId)
        for k in 0..<StringColumns.count {
            guard parts.allSatisfy({ $0.strings[k] != nil }) else { continue }
            var index: [UTF8Key: UInt32] = [:]
            var values: [String] = []
            var codes: [UInt32] = []
            codes.reserveCapacity(total)
            for p in parts {
                let s = p.strings[k]!
                let map = s.dictionary.values.map { v -> UInt32 in
                    if let c = index[UTF8Key(v)] { return c }
                    let c = UInt32(values.count)
                    index[UTF8Key(v)] = c
                    values.append(v)
                    return c
                }
                map.withUnsafeBufferPointer { m in
                    for c in s.codes { codes.append(m[Int(c)]) }
                }
            }
            out.strings[k] = StringColumnData(codes: codes, dictionary: StringDictionary(values: values, isSorted: false))
        }
        return out
    }
}
