/// The footer index of a segment: where every block, column chunk and dictionary lives, with
/// lengths, encodings, checksums and min/max statistics. Layout in docs/format.md.

/// Bit 0 of a chunk's flags: the stored bytes are an LZ4 block.
let chunkFlagLZ4: UInt8 = 1

/// One column of one block as the footer describes it.
struct ColumnChunkMeta: Equatable {
    var encoding: ChunkEncoding
    var compressed: Bool
    /// Absolute file offset (implicit in the file: chunks follow each other in column order).
    var offset: Int
    var storedLength: Int
    var rawLength: Int
    var crc: UInt32
    var min: Int64
    var max: Int64
}

struct BlockMeta: Equatable {
    var offset: Int
    var length: Int
    var rowCount: Int
    /// Indexed by `Column.rawValue`.
    var columns: [ColumnChunkMeta]
}

/// A sorted string dictionary's location (stored bytes may be LZ4-compressed).
struct DictionaryMeta: Equatable {
    var column: Column
    var count: Int
    var offset: Int
    var storedLength: Int
    var rawLength: Int
    var compressed: Bool
    var crc: UInt32
}

struct SegmentFooter: Equatable {
    var site: String
    var rowCount: Int
    var minTs: Int64
    var maxTs: Int64
    var maxBlockRows: Int
    /// In `StringColumns.all` order.
    var dictionaries: [DictionaryMeta]
    var blocks: [BlockMeta]

    /// Upper bound of an encoded payload for `n` values (see `ChunkEncoder`): guards allocations
    /// against lengths that passed the checksum but are still absurd.
    static func maxRawLength(rows n: Int) -> Int { 64 + 16 * n }

    func serialize() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + blocks.count * (16 + 30 * Column.allCases.count))
        let siteBytes = Array(site.utf8)
        w.u16(UInt16(siteBytes.count))
        w.append(siteBytes)
        w.u64(UInt64(rowCount))
        w.i64(minTs)
        w.i64(maxTs)
        w.u32(UInt32(maxBlockRows))
        w.u8(UInt8(Column.allCases.count))
        for c in Column.allCases { w.u8(c.kind.rawValue) }
        w.u8(UInt8(dictionaries.count))
        for d in dictionaries {
            w.u8(d.column.rawValue)
            w.u32(UInt32(d.count))
            w.u64(UInt64(d.offset))
            w.u32(UInt32(d.storedLength))
            w.u32(UInt32(d.rawLength))
            w.u8(d.compressed ? chunkFlagLZ4 : 0)
            w.u32(d.crc)
        }
        w.u32(UInt32(blocks.count))
        for b in blocks {
            w.u64(UInt64(b.offset))
            w.u32(UInt32(b.length))
            w.u32(UInt32(b.rowCount))
            for m in b.columns {
                w.u8(m.encoding.rawValue)
                w.u8(m.compressed ? chunkFlagLZ4 : 0)
                w.u32(UInt32(m.storedLength))
                w.u32(UInt32(m.rawLength))
                w.u32(m.crc)
                w.i64(m.min)
                w.i64(m.max)
            }
        }
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Parses and validates a footer: its checksum, then that its blocks, chunks and
    /// dictionaries tile the file exactly from the end of the header to `footerOffset` (so every
    /// byte of the file is under some checksum). Offsets in errors are relative to the footer.
    static func parse(_ buf: UnsafeRawBufferPointer, footerOffset: Int,
                      trace: inout [TraceSpan]?, checksums: Bool = true) throws -> SegmentFooter {
        guard buf.count >= 4 else { throw FormatError(.truncated, "footer shorter than its checksum") }
        let stored = buf.le(buf.count - 4, as: UInt32.self)
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[0..<(buf.count - 4)]))
        guard stored == actual || !checksums else {
            throw FormatError(.checksumMismatch, "footer checksum \(hex(actual)) != stored \(hex(stored))", offset: buf.count - 4)
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: buf[0..<(buf.count - 4)]))
        r.trace = trace
        defer { trace = r.trace }
        func corrupt(_ m: String) -> FormatError { FormatError(.corrupt, m, offset: r.position) }

        let siteLength = Int(try r.u16("site length"))
        let site = String(decoding: try r.bytes(siteLength, "site"), as: UTF8.self)
        let rowCount = try r.u64AsInt("row count")
        let minTs = try r.i64("min ts")
        let maxTs = try r.i64("max ts")
        let maxBlockRows = Int(try r.u32("max rows per block"))
        // No writer makes larger blocks; a bigger claim would have the decoder allocate for
        // billions of rows before any payload length could contradict it.
        guard (1...SegmentFormat.defaultBlockRows).contains(maxBlockRows) else {
            throw corrupt("max rows per block \(maxBlockRows) outside 1...\(SegmentFormat.defaultBlockRows)")
        }
        let columnCount = Int(try r.u8("column count"))
        guard columnCount == Column.allCases.count else { throw corrupt("\(columnCount) columns, expected \(Column.allCases.count)") }
        for c in Column.allCases {
            let k = try r.u8("kind of \(c.wireName)")
            guard k == c.kind.rawValue else { throw corrupt("column \(c.wireName) has kind \(k), expected \(c.kind.rawValue)") }
        }
        let dictCount = Int(try r.u8("dictionary count"))
        guard dictCount == StringColumns.count else { throw corrupt("\(dictCount) dictionaries, expected \(StringColumns.count)") }
        var dictionaries: [DictionaryMeta] = []
        for c in StringColumns.all {
            let id = try r.u8("dictionary column id")
            guard id == c.rawValue else { throw corrupt("dictionary for column \(id), expected \(c.rawValue)") }
            let count = Int(try r.u32("\(c.wireName) dictionary: value count"))
            let offset = try r.u64AsInt("\(c.wireName) dictionary: offset")
            let storedLength = Int(try r.u32("\(c.wireName) dictionary: stored length"))
            let rawLength = Int(try r.u32("\(c.wireName) dictionary: raw length"))
            let flags = try r.u8("\(c.wireName) dictionary: flags")
            let crc = try r.u32("\(c.wireName) dictionary: crc32c")
            guard flags & ~chunkFlagLZ4 == 0 else { throw corrupt("unknown dictionary flags \(flags)") }
            guard count <= rowCount else { throw corrupt("dictionary of \(count) values for \(rowCount) rows") }
            dictionaries.append(DictionaryMeta(column: c, count: count, offset: offset, storedLength: storedLength,
                                               rawLength: rawLength, compressed: flags & chunkFlagLZ4 != 0, crc: crc))
        }
        let blockCount = Int(try r.u32("block count"))
        // Each block entry takes 16 + 30 × columns bytes: a count the footer cannot hold is corrupt.
        guard blockCount <= r.remaining / (16 + 30 * columnCount) else { throw corrupt("\(blockCount) blocks do not fit the footer") }
        var blocks: [BlockMeta] = []
        blocks.reserveCapacity(blockCount)
        var expectedOffset = SegmentFormat.headerSize
        var rows = 0
        for b in 0..<blockCount {
            let offset = try r.u64AsInt("block \(b): offset")
            let length = Int(try r.u32("block \(b): length"))
            let blockRows = Int(try r.u32("block \(b): rows"))
            guard offset == expectedOffset else { throw corrupt("block \(b) at \(offset), expected \(expectedOffset)") }
            guard blockRows >= 1, blockRows <= maxBlockRows else { throw corrupt("block \(b) has \(blockRows) rows (max \(maxBlockRows))") }
            rows += blockRows
            var columns: [ColumnChunkMeta] = []
            columns.reserveCapacity(columnCount)
            var chunkOffset = offset
            for c in Column.allCases {
                let label = "block \(b) \(c.wireName)"
                let enc = try r.u8("\(label): encoding")
                guard let encoding = ChunkEncoding(rawValue: enc) else { throw corrupt("unknown encoding \(enc)") }
                let flags = try r.u8("\(label): flags")
                guard flags & ~chunkFlagLZ4 == 0 else { throw corrupt("unknown chunk flags \(flags)") }
                let storedLength = Int(try r.u32("\(label): stored length"))
                let rawLength = Int(try r.u32("\(label): raw length"))
                let crc = try r.u32("\(label): crc32c")
                let lo = try r.i64("\(label): min")
                let hi = try r.i64("\(label): max")
                let compressed = flags & chunkFlagLZ4 != 0
                guard rawLength <= maxRawLength(rows: blockRows), compressed || storedLength == rawLength else {
                    throw corrupt("\(label): stored \(storedLength) / raw \(rawLength) bytes impossible")
                }
                columns.append(ColumnChunkMeta(encoding: encoding, compressed: compressed, offset: chunkOffset,
                                               storedLength: storedLength, rawLength: rawLength, crc: crc, min: lo, max: hi))
                chunkOffset += storedLength
            }
            guard chunkOffset - offset == length else { throw corrupt("block \(b) chunks take \(chunkOffset - offset) bytes, block length \(length)") }
            expectedOffset += length
            blocks.append(BlockMeta(offset: offset, length: length, rowCount: blockRows, columns: columns))
        }
        guard r.remaining == 0 else { throw corrupt("\(r.remaining) unexpected bytes at the end of the footer") }
        guard rows == rowCount else { throw corrupt("blocks hold \(rows) rows, footer says \(rowCount)") }
        for d in dictionaries {
            guard d.offset == expectedOffset else { throw corrupt("\(d.column.wireName) dictionary at \(d.offset), expected \(expectedOffset)") }
            guard d.compressed || d.storedLength == d.rawLength, d.rawLength <= (1 << 30) else {
                throw corrupt("\(d.column.wireName) dictionary: stored \(d.storedLength) / raw \(d.rawLength) bytes impossible")
            }
            expectedOffset += d.storedLength
        }
        guard expectedOffset == footerOffset else { throw corrupt("footer at \(footerOffset), data ends at \(expectedOffset)") }
        return SegmentFooter(site: site, rowCount: rowCount, minTs: minTs, maxTs: maxTs, maxBlockRows: maxBlockRows,
                             dictionaries: dictionaries, blocks: blocks)
    }
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
