/// The cells of a click or move heatmap (events.md §5): counts per 10×10 px cell, ordered by
/// count descending, then y, then x, and for clicks each reported cell's most frequent element
/// and that element's most frequent text.
///
/// Counting goes through a dense array over the rectangle the occupied cells span (positions lie
/// on the page, so the rectangle is small), with a hash map only for scattered positions; the
/// element and text modes are counted only for the cells that are reported, in a dense
/// cell × string matrix when it is small. The previous version kept a dictionary of dictionaries
/// per cell and copied a cell's dictionaries on every click.
struct HeatmapCells {
    /// A reported cell: origin in px, clicks or moves in it, and (clicks) the global string ids
    /// of its most frequent element and that element's most frequent text.
    struct Cell {
        var x: Int64
        var y: Int64
        var count: Int
        var element: UInt32 = 0
        var text: UInt32 = 0
    }

    /// Matching rows (type and device).
    private(set) var total = 0
    /// At most `limit` cells, in report order.
    private(set) var cells: [Cell] = []

    /// Cell index of a coordinate: ⌊v / 10⌋ (always fits in Int32).
    @inline(__always)
    static func cellIndex(_ v: Int32) -> Int32 {
        let q = Int64(v) / 10
        return Int32(truncatingIfNeeded: Int64(v) % 10 < 0 ? q - 1 : q)
    }

    init(rows: PageRows, type want: UInt8, limit: Int, elements: Bool, strings: [String]) {
        // Matching rows and their cells.
        var sel: [Int32] = [], ix: [Int32] = [], iy: [Int32] = []
        rows.type.withUnsafeBufferPointer { ty in rows.deviceOK.withUnsafeBufferPointer { ok in
        rows.x.withUnsafeBufferPointer { xs in rows.y.withUnsafeBufferPointer { ys in
            for i in 0..<min(ty.count, ok.count, xs.count, ys.count) where ty[i] == want && ok[i] {
                sel.append(Int32(truncatingIfNeeded: i))
                ix.append(Self.cellIndex(xs[i]))
                iy.append(Self.cellIndex(ys[i]))
            }
        }}}}
        total = sel.count
        guard total > 0 else { return }

        // Distinct cells: a dense id per occupied cell, and each row's cell id.
        var cx: [Int32] = [], cy: [Int32] = [], counts: [Int32] = []
        var cellOf = [Int32](repeating: 0, count: total)
        let minX = Int(ix.min() ?? 0), maxX = Int(ix.max() ?? 0)
        let minY = Int(iy.min() ?? 0), maxY = Int(iy.max() ?? 0)
        let spanX = maxX - minX + 1, spanY = maxY - minY + 1
        let (area, overflow) = spanX.multipliedReportingOverflow(by: spanY)
        if !overflow && area <= max(1 << 16, 8 * total) && area <= 1 << 24 {
            var idOf = [Int32](repeating: -1, count: area)
            for k in 0..<total {
                let d = (Int(iy[k]) - minY) * spanX + (Int(ix[k]) - minX)
                var id = idOf[d]
                if id < 0 {
                    id = Int32(truncatingIfNeeded: counts.count)
                    idOf[d] = id
                    counts.append(0); cx.append(ix[k]); cy.append(iy[k])
                }
                counts[Int(id)] &+= 1
                cellOf[k] = id
            }
        } else {
            var idOf: [Int64: Int32] = [:]
            for k in 0..<total {
                let key = Int64(iy[k]) << 32 | Int64(UInt32(bitPattern: ix[k]))
                let id: Int32
                if let known = idOf[key] {
                    id = known
                } else {
                    id = Int32(truncatingIfNeeded: counts.count)
                    idOf[key] = id
                    counts.append(0); cx.append(ix[k]); cy.append(iy[k])
                }
                counts[Int(id)] &+= 1
                cellOf[k] = id
            }
        }

        let order = (0..<counts.count).sorted { a, b in
            if counts[a] != counts[b] { return counts[a] > counts[b] }
            if cy[a] != cy[b] { return cy[a] < cy[b] }
            return cx[a] < cx[b]
        }
        let top = order.prefix(max(limit, 0))
        cells = top.map { Cell(x: Int64(cx[$0]) * 10, y: Int64(cy[$0]) * 10, count: Int(counts[$0])) }
        guard elements, !cells.isEmpty, rows.element.count == rows.count, rows.text.count == rows.count else { return }

        // Modes of the reported cells only: the element, then that element's text.
        var rank = [Int32](repeating: -1, count: counts.count)
        for (r, id) in top.enumerated() { rank[id] = Int32(truncatingIfNeeded: r) }
        let byteRank = Self.byteRanks(strings)
        var elementCounts = PairCounts(rows: cells.count, columns: strings.count)
        for k in 0..<total {
            let r = rank[Int(cellOf[k])]
            if r >= 0 { elementCounts.add(Int(r), rows.element[Int(sel[k])]) }
        }
        let chosen = elementCounts.modes(byteRank)
        var textCounts = PairCounts(rows: cells.count, columns: strings.count)
        for k in 0..<total {
            let r = rank[Int(cellOf[k])]
            let i = Int(sel[k])
            if r >= 0 && rows.element[i] == chosen[Int(r)] { textCounts.add(Int(r), rows.text[i]) }
        }
        let texts = textCounts.modes(byteRank)
        for r in 0..<cells.count {
            cells[r].element = chosen[r]
            cells[r].text = texts[r]
        }
    }

    /// Position of each string in byte order (ties of a mode go to the smallest by bytes).
    static func byteRanks(_ strings: [String]) -> [Int32] {
        let order = strings.indices.sorted { bytesLess(strings[$0], strings[$1]) }
        var rank = [Int32](repeating: 0, count: strings.count)
        for (r, i) in order.enumerated() { rank[i] = Int32(truncatingIfNeeded: r) }
        return rank
    }
}

/// Counts of (row, string id) pairs: a dense matrix when rows × strings is small, else a hash map.
struct PairCounts {
    private let rows: Int, columns: Int
    private var dense: [Int32] = []
    private var sparse: [UInt64: Int32] = [:]
    private let isDense: Bool

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        let (size, overflow) = rows.multipliedReportingOverflow(by: columns)
        isDense = !overflow && size <= 1 << 22
        if isDense { dense = [Int32](repeating: 0, count: size) }
    }

    @inline(__always)
    mutating func add(_ row: Int, _ id: UInt32) {
        if isDense && Int(id) < columns {
            dense[row * columns + Int(id)] &+= 1
        } else {
            sparse[UInt64(row) << 32 | UInt64(id), default: 0] &+= 1
        }
    }

    /// Per row, the id with the largest count (ties: the smaller `byteRank`); 0 for a row with
    /// no pairs.
    func modes(_ byteRank: [Int32]) -> [UInt32] {
        var best = [UInt32](repeating: 0, count: rows)
        var bestN = [Int32](repeating: 0, count: rows)
        func offer(_ r: Int, _ id: UInt32, _ n: Int32) {
            guard n > 0 else { return }
            let better = n > bestN[r] || (n == bestN[r] && Self.rank(byteRank, id) < Self.rank(byteRank, best[r]))
            if better { best[r] = id; bestN[r] = n }
        }
        if isDense {
            for r in 0..<rows {
                for c in 0..<columns { offer(r, UInt32(truncatingIfNeeded: c), dense[r * columns + c]) }
            }
        }
        for (key, n) in sparse { offer(Int(key >> 32), UInt32(truncatingIfNeeded: key), n) }
        return best
    }

    @inline(__always)
    private static func rank(_ byteRank: [Int32], _ id: UInt32) -> Int32 {
        Int(id) < byteRank.count ? byteRank[Int(id)] : Int32.max
    }
}
