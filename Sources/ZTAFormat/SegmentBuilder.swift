import Dispatch

/// Writes a segment image block by block, so a caller that produces rows in `ts` order (the
/// k-way merge of compaction) never holds more than one block of rows and one block of bytes.
/// `SegmentWriter.encode` is this builder fed from one in-memory chunk: both produce the same
/// bytes for the same rows and dictionaries (docs/format.md describes the layout).
///
/// The dictionaries come first because block chunks store segment codes, and a segment code is
/// a value's position in its sorted dictionary; the dictionaries themselves are written after
/// the blocks, so a streaming writer still needs them all before its first block.
///
/// Usage: `append` blocks in `ts` order, `drain()` the finished bytes whenever convenient (or
/// never, to keep the whole image in memory), then `finish()` and drain the rest.
public struct SegmentBuilder {
    public let site: String
    public let blockRows: Int
    /// Per `StringColumns` index: the distinct values, strictly ascending by UTF-8 bytes.
    let dictionaries: [[[UInt8]]]
    private var pending: ByteWriter
    /// Bytes already handed out by `drain()`; file offsets are `drained + pending.count`.
    private var drained = 0
    private var blocks: [BlockMeta] = []
    private var rows = 0
    /// The first and last row's `ts` (0 before the first block).
    public private(set) var minTs: Int64 = 0
    public private(set) var maxTs: Int64 = 0
    private var finished = false

    /// Starts a segment of `site` with these dictionaries (per `StringColumns.all` position,
    /// sorted by bytes, no duplicates) and writes its header.
    ///
    /// Throws `FormatError(.corrupt)` for a block size outside 1...65536, a site id longer than
    /// 65535 bytes, a wrong number of dictionaries, or a `site` dictionary holding another site.
    public init(site: String, blockRows: Int, dictionaries: [[[UInt8]]], capacity: Int = 4096) throws {
        func bad(_ m: String) -> FormatError { FormatError(.corrupt, "segment input: " + m) }
        guard (1...SegmentFormat.defaultBlockRows).contains(blockRows) else { throw bad("block size \(blockRows) outside 1...65536") }
        guard site.utf8.count <= Int(UInt16.max) else { throw bad("site id longer than 65535 bytes") }
        guard dictionaries.count == StringColumns.count else { throw bad("\(dictionaries.count) dictionaries for \(StringColumns.count) string columns") }
        if let siteIndex = Column.site.stringIndex, let other = dictionaries[siteIndex].first(where: { !$0.elementsEqual(site.utf8) }) {
            throw bad("row of site \(String(decoding: other, as: UTF8.self)) in a segment of \(site)")
        }
        self.site = site
        self.blockRows = blockRows
        self.dictionaries = dictionaries
        pending = ByteWriter(capacity: capacity)
        pending.u64(SegmentFormat.magic)
        pending.u32(SegmentFormat.current.rawValue)
        pending.u32(CRC32C.checksum(pending.bytes))
    }

    /// Rows appended so far.
    public var rowCount: Int { rows }
    /// Bytes produced so far (drained or not): the offset of the next byte in the file.
    public var position: Int { drained + pending.count }

    /// Encodes rows `range` of `chunk` (every column filled) as the next block. String codes are
    /// translated through `remaps[column.rawValue]` (chunk code → segment code); a nil remap
    /// means the chunk's codes are segment codes already.
    ///
    /// Throws `FormatError(.corrupt)` when the rows break the contract: more rows than the block
    /// size, `ts` lower than a row before it, or a code outside its dictionary.
    public mutating func append(_ chunk: ColumnChunk, _ range: Range<Int>, remaps: [[UInt32]?]) throws {
        func bad(_ m: String) -> FormatError { FormatError(.corrupt, "segment input: " + m) }
        guard !finished else { throw bad("block after the footer") }
        guard !range.isEmpty else { return }
        guard range.count <= blockRows else { throw bad("block of \(range.count) rows above the block size \(blockRows)") }
        guard range.lowerBound >= 0, range.upperBound <= chunk.count, chunk.ts.count == chunk.count else {
            throw bad("rows \(range) outside a chunk of \(chunk.count)")
        }
        var previous = rows > 0 ? maxTs : Int64.min
        for i in range {
            guard chunk.ts[i] >= previous else { throw bad("ts not sorted at row \(rows + i - range.lowerBound)") }
            previous = chunk.ts[i]
        }
        let columns = Column.allCases
        for c in columns {
            guard let k = c.stringIndex else { continue }
            guard let s = chunk.strings[k], s.codes.count == chunk.count else { throw bad("string column \(c.wireName) missing") }
            let limit = remaps[Int(c.rawValue)]?.count ?? dictionaries[k].count
            for i in range where Int(s.codes[i]) >= limit { throw bad("column \(c.wireName) code \(s.codes[i]) outside its dictionary") }
            if let map = remaps[Int(c.rawValue)] {
                for i in range where Int(map[Int(s.codes[i])]) >= dictionaries[k].count {
                    throw bad("column \(c.wireName) code \(s.codes[i]) maps outside the segment dictionary")
                }
            }
        }
        encodeBlock(chunk, range, remaps: remaps)
    }

    /// `append` without its checks, for `SegmentWriter.encode`, whose `validate` has checked the
    /// whole chunk already (a second pass per row would cost an import several percent).
    mutating func encodeBlock(_ chunk: ColumnChunk, _ range: Range<Int>, remaps: [[UInt32]?]) {
        let columns = Column.allCases
        let blockOffset = position
        let encoded = ParallelSlots<(Int64, Int64, EncodedChunk)>(count: columns.count)
        DispatchQueue.concurrentPerform(iterations: columns.count) { k in
            let c = columns[k]
            let lanes = ColumnLanes.lanes(chunk, c, range, remap: remaps[Int(c.rawValue)])
            encoded[k] = lanes.withUnsafeBufferPointer {
                let s = ColumnLanes.stats($0, kind: c.kind)
                return (s.min, s.max, ChunkEncoder.encode($0, kind: c.kind))
            }
        }
        var metas: [ColumnChunkMeta] = []
        metas.reserveCapacity(columns.count)
        for k in 0..<columns.count {
            // Every slot is filled: concurrentPerform runs each iteration once before returning.
            guard let (lo, hi, e) = encoded[k] else { continue }
            metas.append(ColumnChunkMeta(encoding: e.encoding, compressed: e.compressed, offset: position,
                                         storedLength: e.stored.count, rawLength: e.rawLength,
                                         crc: CRC32C.checksum(e.stored), min: lo, max: hi))
            pending.append(e.stored)
        }
        blocks.append(BlockMeta(offset: blockOffset, length: position - blockOffset, rowCount: range.count, columns: metas))
        if rows == 0 { minTs = chunk.ts[range.lowerBound] }
        maxTs = chunk.ts[range.upperBound - 1]
        rows += range.count
    }

    /// Writes the dictionaries, the footer and the trailer. Nothing may be appended afterwards.
    public mutating func finish() throws {
        guard !finished else { return }
        finished = true
        var metas: [DictionaryMeta] = []
        for (k, c) in StringColumns.all.enumerated() {
            let values = dictionaries[k]
            let raw = values.isEmpty ? [] : SegmentDictionaryCodec.serialize(values)
            let z = raw.withUnsafeBytes { LZ4Codec.compress($0) }
            let compressed = !z.isEmpty && z.count < raw.count
            let stored = compressed ? z : raw
            metas.append(DictionaryMeta(column: c, count: values.count, offset: position, storedLength: stored.count,
                                        rawLength: raw.count, compressed: compressed, crc: CRC32C.checksum(stored)))
            pending.append(stored)
        }

        let footer = SegmentFooter(site: site, rowCount: rows, minTs: minTs, maxTs: maxTs,
                                   maxBlockRows: blockRows, dictionaries: metas, blocks: blocks)
        let footerOffset = position
        let footerBytes = footer.serialize()
        pending.append(footerBytes)

        // Trailer: its first 20 bytes are checksummed, the magic is checked by value.
        var trailer = ByteWriter(capacity: 32)
        trailer.u64(UInt64(footerOffset))
        trailer.u32(UInt32(footerBytes.count))
        trailer.u32(SegmentFormat.current.rawValue)
        trailer.u32(0)
        trailer.u32(CRC32C.checksum(trailer.bytes))
        trailer.u64(SegmentFormat.magic)
        pending.append(trailer.bytes)
    }

    /// Hands out the bytes produced since the last call (the next part of the file, in order).
    public mutating func drain() -> [UInt8] {
        let out = pending.bytes
        drained += out.count
        pending = ByteWriter()
        return out
    }
}
