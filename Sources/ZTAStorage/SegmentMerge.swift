import ZTAFormat

/// What a merge wrote.
struct MergedSegment {
    var rows = 0
    var bytes = 0
    var minTs: Int64 = 0
    var maxTs: Int64 = 0
    var minImport = UInt32.max
    var maxImport = UInt32.min
}

/// The k-way merge behind compaction: the rows of several segments of one partition, in `ts`
/// order, written as one segment while holding one decoded block per input and one output
/// block. Loading whole partitions (as compaction first did) took memory in proportion to the
/// partition — ~110 bytes a row decoded, twice over for the sort — and put a server tracking
/// batches at 950 MB when the limit is 256 MB.
///
/// Each segment is sorted by `ts` already. Rows of equal `ts` come in input order, then row
/// order: the result equals a stable sort of the inputs' concatenation, so it is byte for byte
/// what `SegmentWriter.encode` makes of that sort (`SegmentMergeTests` checks this).
///
/// With a row filter it is also deletion's rewrite of one segment: a first pass finds the string
/// values the kept rows use (a segment's dictionary holds only used values), the second writes.
enum SegmentMerge {
    /// The rows of a decoded block (every column, or at least `ts` and `import` when counting)
    /// to keep, ascending.
    typealias RowFilter = (ColumnChunk) -> [Int32]

    /// Merges `inputs` (segments of `site`, in the order ties keep), keeping the rows `keep`
    /// picks (all without it), and passes the new segment's bytes to `write`, in order, about a
    /// block at a time.
    static func merge(_ inputs: [SegmentReader], site: String, blockRows: Int, keep: RowFilter? = nil,
                      write: ([UInt8]) throws -> Void) throws -> MergedSegment {
        // Union dictionaries: every input's dictionary holds exactly the values its rows use,
        // so their union is the merged rows' dictionary, and each input needs a code map. With a
        // filter, only the values of kept rows count.
        var unions: [StringDictionary] = []
        var remaps: [[[UInt32]]] = Array(repeating: [], count: inputs.count)
        let used = try keep.map { keep in try inputs.map { try usedCodes($0, keep) } }
        for c in StringColumns.all {
            guard let k = c.stringIndex else { continue }
            let dictionaries = try inputs.map { try $0.dictionary(c).values }
            guard let used else {
                let (values, maps) = unionOfSorted(dictionaries)
                unions.append(StringDictionary(values: values, isSorted: true))
                for i in inputs.indices { remaps[i].append(maps[i]) }
                continue
            }
            // Union of the used values; unused codes map nowhere (no kept row has them).
            let positions = inputs.indices.map { i in dictionaries[i].indices.filter { used[i][k][$0] } }
            let (values, maps) = unionOfSorted(inputs.indices.map { i in positions[i].map { dictionaries[i][$0] } })
            unions.append(StringDictionary(values: values, isSorted: true))
            for i in inputs.indices {
                var full = [UInt32](repeating: .max, count: dictionaries[i].count)
                for (j, p) in positions[i].enumerated() { full[p] = maps[i][j] }
                remaps[i].append(full)
            }
        }
        var builder = try SegmentBuilder(site: site, blockRows: blockRows,
                                         dictionaries: unions.map { $0.values.map { Array($0.utf8) } })
        var result = MergedSegment()

        var cursors: [Cursor] = []
        for (i, reader) in inputs.enumerated() {
            var cursor = Cursor(input: i, reader: reader, keep: keep)
            if try cursor.load() { cursors.append(cursor) }
        }
        var out = OutputBlock(capacity: blockRows, dictionaries: unions)
        let identity = [[UInt32]?](repeating: nil, count: Column.allCases.count)

        func emit() throws {
            let chunk = out.take()
            for v in chunk.importId {
                result.minImport = min(result.minImport, v)
                result.maxImport = max(result.maxImport, v)
            }
            try builder.append(chunk, 0..<chunk.count, remaps: identity)
            try write(builder.drain())
        }

        while !cursors.isEmpty {
            // The input whose next row sorts first, and the first row of any other input: rows of
            // the winner are taken up to (not including) that row, so runs copy in bulk.
            var best = 0
            for k in 1..<cursors.count where cursors[k].headKey < cursors[best].headKey { best = k }
            var limit: (ts: Int64, input: Int)?
            for k in cursors.indices where k != best {
                let key = cursors[k].headKey
                if limit.map({ key < $0 }) ?? true { limit = key }
            }
            let runEnd = cursors[best].runEnd(before: limit, at: cursors[best].row + (blockRows - out.count))
            out.append(cursors[best].chunk, cursors[best].row..<runEnd, remaps: remaps[cursors[best].input])
            cursors[best].row = runEnd
            if out.count == blockRows { try emit() }
            if cursors[best].row == cursors[best].chunk.count {
                let more = try cursors[best].advance()
                if !more { cursors.remove(at: best) }
            }
        }
        if out.count > 0 { try emit() }
        try builder.finish()
        result.rows = builder.rowCount
        result.bytes = builder.position
        (result.minTs, result.maxTs) = (builder.minTs, builder.maxTs)
        try write(builder.drain())
        return result
    }

    /// The rows of `input` that `keep` keeps, decoding only `ts` and `import`.
    static func keptRows(_ input: SegmentReader, _ keep: RowFilter) throws -> Int {
        var kept = 0
        for b in 0..<input.blockCount {
            do {
                kept += keep(try input.decodeBlock(b, columns: ColumnSet([.ts, .importId]))).count
            } catch let e as FormatError { throw StorageError(e) }
        }
        return kept
    }

    /// Per string column (`StringColumns` index), which dictionary codes of `input` kept rows use.
    private static func usedCodes(_ input: SegmentReader, _ keep: RowFilter) throws -> [[Bool]] {
        var used = try StringColumns.all.map { [Bool](repeating: false, count: try input.dictionary($0).count) }
        for b in 0..<input.blockCount {
            let chunk: ColumnChunk
            do { chunk = try input.decodeBlock(b, columns: .all) } catch let e as FormatError { throw StorageError(e) }
            let rows = keep(chunk)
            for k in 0..<StringColumns.count {
                guard let codes = chunk.strings[k]?.codes else { continue }
                for r in rows { used[k][Int(codes[Int(r)])] = true }
            }
        }
        return used
    }

    /// The sorted union of several byte-sorted, duplicate-free value lists, and per list the
    /// map from its positions to the union's. A k-way merge: no list is copied or re-sorted.
    static func unionOfSorted(_ lists: [[String]]) -> (values: [String], maps: [[UInt32]]) {
        var values: [String] = []
        var maps = lists.map { [UInt32](repeating: 0, count: $0.count) }
        var heads = [Int](repeating: 0, count: lists.count)
        while true {
            var smallest: String?
            for (k, list) in lists.enumerated() where heads[k] < list.count {
                let v = list[heads[k]]
                if let s = smallest, !v.utf8.lexicographicallyPrecedes(s.utf8) { continue }
                smallest = v
            }
            guard let s = smallest else { break }
            let code = UInt32(values.count)
            values.append(s)
            for (k, list) in lists.enumerated() where heads[k] < list.count && list[heads[k]].utf8.elementsEqual(s.utf8) {
                maps[k][heads[k]] = code
                heads[k] += 1
            }
        }
        return (values, maps)
    }
}

/// One input of the merge: its current decoded block and the next row to take.
private struct Cursor {
    let input: Int
    let reader: SegmentReader
    let keep: SegmentMerge.RowFilter?
    var block = -1
    var chunk = ColumnChunk(count: 0)
    var row = 0

    init(input: Int, reader: SegmentReader, keep: SegmentMerge.RowFilter?) {
        self.input = input
        self.reader = reader
        self.keep = keep
    }

    /// Decodes the first block; false when the segment has no rows.
    mutating func load() throws -> Bool { try advance() }

    /// Moves to the next non-empty block; false when there is none.
    mutating func advance() throws -> Bool {
        while block + 1 < reader.blockCount {
            block += 1
            do {
                chunk = try reader.decodeBlock(block, columns: .all)
            } catch let e as FormatError { throw StorageError(e) }
            row = 0
            if let keep {
                let rows = keep(chunk)
                if rows.count < chunk.count { chunk = chunk.gather(rows) }
            }
            if chunk.count > 0 { return true }
        }
        return false
    }

    var headKey: (ts: Int64, input: Int) { (chunk.ts[row], input) }

    /// The end of the run that starts at `row`: rows before `limit` (ties go to the lower
    /// input), at most up to `cap`, within this block.
    func runEnd(before limit: (ts: Int64, input: Int)?, at cap: Int) -> Int {
        let end = min(chunk.count, cap)
        guard let limit else { return end }
        var i = row + 1
        while i < end, (chunk.ts[i], input) < limit { i += 1 }
        return i
    }
}

/// The merge's output rows of one block, string codes already in the union dictionaries.
private struct OutputBlock {
    let capacity: Int
    let dictionaries: [StringDictionary]
    private var chunk: ColumnChunk

    init(capacity: Int, dictionaries: [StringDictionary]) {
        self.capacity = capacity
        self.dictionaries = dictionaries
        chunk = Self.empty(capacity, dictionaries)
    }

    var count: Int { chunk.count }

    private static func empty(_ capacity: Int, _ dictionaries: [StringDictionary]) -> ColumnChunk {
        var c = ColumnChunk(count: 0)
        c.ts.reserveCapacity(capacity)
        for (k, d) in dictionaries.enumerated() {
            var codes: [UInt32] = []
            codes.reserveCapacity(capacity)
            c.strings[k] = StringColumnData(codes: codes, dictionary: d)
        }
        return c
    }

    /// Copies rows `range` of `source`, mapping string codes through `remaps` (per string column).
    mutating func append(_ source: ColumnChunk, _ range: Range<Int>, remaps: [[UInt32]]) {
        chunk.ts.append(contentsOf: source.ts[range])
        chunk.type.append(contentsOf: source.type[range])
        chunk.visitor.append(contentsOf: source.visitor[range])
        chunk.session.append(contentsOf: source.session[range])
        chunk.value.append(contentsOf: source.value[range])
        chunk.timeOnPage.append(contentsOf: source.timeOnPage[range])
        chunk.x.append(contentsOf: source.x[range])
        chunk.y.append(contentsOf: source.y[range])
        chunk.scrollDepth.append(contentsOf: source.scrollDepth[range])
        chunk.importId.append(contentsOf: source.importId[range])
        for k in 0..<StringColumns.count {
            guard let codes = source.strings[k]?.codes, var target = chunk.strings[k] else { continue }
            chunk.strings[k] = nil // keeps `target.codes` uniquely referenced while it grows
            let map = remaps[k]
            for i in range { target.codes.append(map[Int(codes[i])]) }
            chunk.strings[k] = target
        }
        chunk.count += range.count
    }

    /// The rows gathered so far; the block starts empty again.
    mutating func take() -> ColumnChunk {
        let full = chunk
        chunk = Self.empty(capacity, dictionaries)
        return full
    }
}
