/// Late materialization of a block (`ScanRequest.rowFilter`): the columns a filter needs are
/// decoded first, the filter picks rows, and the other columns are decoded at those rows only.
extension SegmentReader {
    /// Decodes `columns` minus `late` of block `i`, asks `select` for the rows wanted (strictly
    /// ascending indices into the block), and returns a chunk of only those rows: the early
    /// columns gathered, the `late` ones decoded at the selected rows alone (sparse and constant
    /// chunks without expanding the others). `visitor` / `session` come without block codes.
    public func decodeBlock(_ i: Int, columns: ColumnSet, late: ColumnSet,
                            select: (ColumnChunk) -> [Int32]) throws -> ColumnChunk {
        let early = ColumnSet(rawValue: columns.rawValue & ~late.rawValue)
        let first = try decodeBlock(i, columns: early)
        let rows = select(first)
        var previous = -1
        for r in rows {
            guard Int(r) > previous, Int(r) < first.count else {
                throw FormatError(.corrupt, "block \(i): row selection \(r) out of order or past \(first.count) rows", file: file, offset: 0)
            }
            previous = Int(r)
        }
        var chunk = first.gathered(rows.map { Int($0) })
        let lateColumns = ColumnSet(rawValue: columns.rawValue & late.rawValue).columns
        if rows.isEmpty {
            // Nothing selected: the late columns are empty (and their chunks are not read).
            for c in lateColumns where c.stringIndex != nil {
                chunk.setString(c, StringColumnData(codes: [], dictionary: try dictionary(c)))
            }
            return chunk
        }
        let b = footer.blocks[i]
        let n = b.rowCount
        for c in lateColumns {
            let m = b.columns[Int(c.rawValue)]
            let flip = c.kind.laneFlip
            let chunkIndex = i * Column.allCases.count + Int(c.rawValue)
            let check = needsCheck(chunkIndex)
            func gather<A, T: FixedWidthInteger & UnsignedInteger>(_: A.Type, _: T.Type) throws -> [A] {
                guard MemoryLayout<A>.stride == MemoryLayout<T>.stride else {
                    throw FormatError(.corrupt, "column \(c.wireName): lane width mismatch", file: file, offset: m.offset)
                }
                return try withChunkPayload(offset: m.offset, stored: m.storedLength, raw: m.rawLength, compressed: m.compressed,
                                            crc: m.crc, check: check, what: "block \(i) column \(c.wireName)") { payload in
                    do {
                        return try [A](unsafeUninitializedCapacity: rows.count) { buf, k in
                            let p = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: T.self)
                            try rows.withUnsafeBufferPointer { sel in
                                try ChunkDecoder.gather(payload, encoding: m.encoding, count: n, flip: flip, rows: sel, into: p)
                            }
                            k = rows.count
                        }
                    } catch let e as FormatError {
                        throw FormatError(e.code, "block \(i) column \(c.wireName) (\(m.encoding.name)): \(e.message) at payload byte \(e.offset)",
                                          file: file, offset: m.offset)
                    }
                }
            }
            switch c {
            case .ts: chunk.ts = try gather(Int64.self, UInt64.self)
            case .type: chunk.type = try gather(UInt8.self, UInt8.self)
            case .visitor: chunk.visitor = try gather(UInt64.self, UInt64.self)
            case .session: chunk.session = try gather(UInt64.self, UInt64.self)
            case .value: chunk.value = try gather(Double.self, UInt64.self)
            case .timeOnPage: chunk.timeOnPage = try gather(Int32.self, UInt32.self)
            case .x: chunk.x = try gather(Int32.self, UInt32.self)
            case .y: chunk.y = try gather(Int32.self, UInt32.self)
            case .scrollDepth: chunk.scrollDepth = try gather(Int8.self, UInt8.self)
            case .importId: chunk.importId = try gather(UInt32.self, UInt32.self)
            default:
                let codes = try gather(UInt32.self, UInt32.self)
                let dict = try dictionary(c)
                var maxCode: UInt32 = 0
                for code in codes { maxCode = max(maxCode, code) }
                if Int(maxCode) >= dict.count {
                    throw FormatError(.corrupt, "block \(i) column \(c.wireName): code \(maxCode) outside dictionary of \(dict.count)",
                                      file: file, offset: m.offset)
                }
                chunk.setString(c, StringColumnData(codes: codes, dictionary: dict))
            }
            if check { markChecked(chunkIndex) }
        }
        return chunk
    }
}
