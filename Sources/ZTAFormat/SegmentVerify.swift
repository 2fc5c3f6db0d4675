extension SegmentReader {
    /// Checks every block and dictionary checksum, decodes everything, and cross-checks what the
    /// footer claims: min/max statistics, ts order and range, codes inside their dictionaries,
    /// and the site column. Throws the first `FormatError` found, with its offset.
    public func verify() throws {
        var dictionaries: [StringDictionary] = []
        for c in StringColumns.all { dictionaries.append(try dictionary(c)) }
        var previousTs = Int64.min
        for i in 0..<blockCount {
            let chunk = try decodeBlock(i, columns: .all, forceChecksums: true)
            let b = footer.blocks[i]
            func fail(_ c: Column, _ m: String) -> FormatError {
                FormatError(.corrupt, "block \(i) column \(c.wireName): \(m)", file: file, offset: b.columns[Int(c.rawValue)].offset)
            }
            for c in Column.allCases {
                // String codes are already segment codes: the identity map.
                let identity: [UInt32]? = c.kind == .string ? (0..<UInt32(dictionaries[c.stringIndex!].count)).map { $0 } : nil
                let lanes = ColumnLanes.lanes(chunk, c, 0..<chunk.count, remap: identity)
                let s = lanes.withUnsafeBufferPointer { ColumnLanes.stats($0, kind: c.kind) }
                let m = b.columns[Int(c.rawValue)]
                guard s.min == m.min, s.max == m.max else {
                    throw fail(c, "footer min/max \(m.min)/\(m.max), data \(s.min)/\(s.max)")
                }
            }
            for t in chunk.ts {
                guard t >= previousTs else { throw fail(.ts, "ts not sorted") }
                previousTs = t
            }
            if let first = chunk.ts.first, let last = chunk.ts.last, first < minTs || last > maxTs {
                throw fail(.ts, "ts outside the segment range \(minTs)...\(maxTs)")
            }
        }
        if rowCount > 0 {
            let sites = dictionaries[Column.site.stringIndex!].values
            guard sites.count == 1, sites[0].utf8.elementsEqual(site.utf8) else {
                throw FormatError(.corrupt, "site dictionary \(sites) does not match site \(site)", file: file,
                                  offset: footer.dictionaries[Column.site.stringIndex!].offset)
            }
        }
    }
}
