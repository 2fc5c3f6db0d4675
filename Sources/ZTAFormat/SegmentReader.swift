import Foundation

/// Reads a segment image from memory (typically an mmap the storage layer owns).
///
/// `init` validates the trailer, header and footer (magic, version, checksums, and that the
/// footer's blocks and dictionaries tile the file exactly); block and dictionary bytes are
/// checked against their CRC32C the first time this reader decodes them (`verify()` re-checks
/// everything). Any inconsistency throws
/// `FormatError` with the file name and the offset of the failing structure.
///
/// Thread safety: immutable after `init` except for the dictionary cache, which is guarded by a
/// lock, so `decodeBlock` and `dictionary` may be called concurrently.
public final class SegmentReader: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    let file: String
    let footer: SegmentFooter
    let version: SegmentFormat.Version
    /// False only for fuzzing: every checksum is then taken as matching.
    let checksums: Bool
    private let lock = NSLock()
    private var dictionaryCache: [StringDictionary?]
    /// One bit per (block, column) chunk whose checksum this reader has already verified. The
    /// image is immutable, so a chunk is checked once per reader rather than on every decode
    /// (the software CRC32C runs at about 1 GB/s and would dominate repeated scans).
    private let verifiedLock = NSLock()
    private var verifiedChunks: [UInt64]

    /// Parses + validates trailer (magic, version) and footer (checksum). Does not copy `bytes`:
    /// the caller keeps it alive for the reader's lifetime.
    public convenience init(bytes: UnsafeRawBufferPointer, file: String) throws {
        try self.init(bytes: bytes, file: file, checksums: true)
    }

    /// `init(bytes:file:)`, optionally taking every checksum as matching (`checksums: false`),
    /// so that a fuzzer reaches the structural checks behind them: whatever the bytes, the reader
    /// must throw `FormatError` rather than trap.
    package init(bytes: UnsafeRawBufferPointer, file: String, checksums: Bool) throws {
        self.bytes = bytes
        self.file = file
        self.checksums = checksums
        var trace: [TraceSpan]? = nil
        do {
            (version, footer) = try Self.parse(bytes, trace: &trace, checksums: checksums)
        } catch let e as FormatError {
            throw e.located(file: file, base: 0)
        }
        dictionaryCache = Array(repeating: nil, count: StringColumns.count)
        verifiedChunks = Array(repeating: 0, count: (footer.blocks.count * Column.allCases.count + 63) / 64)
    }

    /// Whether chunk `index` (block × 27 + column) still needs its checksum checked.
    func needsCheck(_ index: Int) -> Bool {
        verifiedLock.lock()
        defer { verifiedLock.unlock() }
        return verifiedChunks[index >> 6] & (1 << UInt64(index & 63)) == 0
    }

    func markChecked(_ index: Int) {
        verifiedLock.lock()
        defer { verifiedLock.unlock() }
        verifiedChunks[index >> 6] |= 1 << UInt64(index & 63)
    }

    /// Header, trailer and footer checks shared by `init` and the annotated dump.
    static func parse(_ bytes: UnsafeRawBufferPointer, trace: inout [TraceSpan]?, checksums: Bool = true)
        throws -> (SegmentFormat.Version, SegmentFooter) {
        let n = bytes.count
        let minimum = SegmentFormat.headerSize + SegmentFormat.trailerSize
        guard n >= minimum else {
            throw FormatError(.truncated, "\(n) bytes, a segment has at least \(minimum)", offset: 0)
        }
        // Trailer first: it is what locates everything else.
        let t = n - SegmentFormat.trailerSize
        let trailerMagic = bytes.le(t + 24, as: UInt64.self)
        guard trailerMagic == SegmentFormat.magic else {
            throw FormatError(.badMagic, "trailer magic \(String(trailerMagic, radix: 16)) (file truncated or not a segment)", offset: t + 24)
        }
        let trailerCRC = bytes.le(t + 20, as: UInt32.self)
        let actualTrailerCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[t..<(t + 20)]))
        guard trailerCRC == actualTrailerCRC || !checksums else {
            throw FormatError(.checksumMismatch, "trailer checksum \(hex(actualTrailerCRC)) != stored \(hex(trailerCRC))", offset: t + 20)
        }
        let footerOffset = bytes.le(t, as: UInt64.self)
        let footerLength = Int(bytes.le(t + 8, as: UInt32.self))
        let rawVersion = bytes.le(t + 12, as: UInt32.self)
        guard let version = SegmentFormat.Version(rawValue: rawVersion) else {
            throw FormatError(.unsupportedVersion, "format version \(rawVersion); this build reads \(SegmentFormat.Version.allCases.map(\.rawValue))", offset: t + 12)
        }
        guard bytes.le(t + 16, as: UInt32.self) == 0 else {
            throw FormatError(.corrupt, "reserved trailer field is not zero", offset: t + 16)
        }
        trace?.append(contentsOf: [
            TraceSpan(start: t, length: 8, what: "trailer: footer offset = \(footerOffset)"), TraceSpan(start: t + 8, length: 4, what: "trailer: footer length = \(footerLength)"),
            TraceSpan(start: t + 12, length: 4, what: "trailer: format version = \(rawVersion)"), TraceSpan(start: t + 16, length: 4, what: "trailer: reserved = 0"),
            TraceSpan(start: t + 20, length: 4, what: "trailer: crc32c of the 20 bytes above = \(hex(trailerCRC))"), TraceSpan(start: t + 24, length: 8, what: "trailer: magic \"ztasSEG\\n\""),
        ])

        // Header.
        guard bytes.le(0, as: UInt64.self) == SegmentFormat.magic else {
            throw FormatError(.badMagic, "header magic", offset: 0)
        }
        let headerCRC = bytes.le(12, as: UInt32.self)
        let actualHeaderCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<12]))
        guard headerCRC == actualHeaderCRC || !checksums else {
            throw FormatError(.checksumMismatch, "header checksum \(hex(actualHeaderCRC)) != stored \(hex(headerCRC))", offset: 12)
        }
        guard bytes.le(8, as: UInt32.self) == rawVersion else {
            throw FormatError(.corrupt, "header version \(bytes.le(8, as: UInt32.self)) != trailer version \(rawVersion)", offset: 8)
        }
        trace?.append(contentsOf: [
            TraceSpan(start: 0, length: 8, what: "header: magic \"ztasSEG\\n\""), TraceSpan(start: 8, length: 4, what: "header: format version = \(rawVersion)"),
            TraceSpan(start: 12, length: 4, what: "header: crc32c of the 12 bytes above = \(hex(headerCRC))"),
        ])

        // Footer: must sit between the data and the trailer exactly.
        guard footerOffset >= UInt64(SegmentFormat.headerSize), footerOffset <= UInt64(t), UInt64(t) - footerOffset == UInt64(footerLength) else {
            throw FormatError(.corrupt, "footer at \(footerOffset) + \(footerLength) does not end at the trailer (\(t))", offset: t)
        }
        let fo = Int(footerOffset)
        var footerTrace: [TraceSpan]? = trace == nil ? nil : []
        let footer: SegmentFooter
        do {
            footer = try SegmentFooter.parse(UnsafeRawBufferPointer(rebasing: bytes[fo..<t]), footerOffset: fo, trace: &footerTrace, checksums: checksums)
        } catch let e as FormatError {
            throw e.located(file: "", base: fo)
        }
        if let ft = footerTrace {
            trace?.append(contentsOf: ft.map { TraceSpan(start: $0.start + fo, length: $0.length, what: "footer: " + $0.what) })
            trace?.append(TraceSpan(start: t - 4, length: 4, what: "footer: crc32c of the footer bytes above"))
        }
        return (version, footer)
    }

    /// The site every row belongs to.
    public var site: String { footer.site }
    public var rowCount: Int { footer.rowCount }
    /// Smallest ts in the segment (0 when it holds no rows).
    public var minTs: Int64 { footer.minTs }
    /// Largest ts in the segment (0 when it holds no rows).
    public var maxTs: Int64 { footer.maxTs }
    public var blockCount: Int { footer.blocks.count }
    /// The format version the segment was written in.
    public var formatVersion: UInt32 { version.rawValue }

    /// Row count and per-column min/max of block `i`, as the footer stores them.
    public func blockStats(_ i: Int) -> BlockStats {
        let b = footer.blocks[i]
        return BlockStats(rowCount: b.rowCount, min: b.columns.map(\.min), max: b.columns.map(\.max))
    }

    /// The segment dictionary of string column `c`, sorted by UTF-8 bytes. Decoded on first use
    /// (checksum verified) and cached.
    public func dictionary(_ c: Column) throws -> StringDictionary {
        guard let k = c.stringIndex else { preconditionFailure("\(c) is not a string column") }
        lock.lock()
        defer { lock.unlock() }
        if let d = dictionaryCache[k] { return d }
        let meta = footer.dictionaries[k]
        let values: [String]
        do {
            values = try withChunkPayload(offset: meta.offset, stored: meta.storedLength, raw: meta.rawLength,
                                          compressed: meta.compressed, crc: meta.crc, what: "\(c.wireName) dictionary") {
                try SegmentDictionaryCodec.parse($0, count: meta.count)
            }
        } catch let e as FormatError where e.file.isEmpty {
            throw e.located(file: file, base: meta.offset)
        }
        let d = StringDictionary(values: values, isSorted: true)
        dictionaryCache[k] = d
        return d
    }

    /// Checks the CRC of a stored chunk, decompresses it if needed, and passes the payload.
    /// Errors from `body` have offsets relative to the payload; checksum and compression errors
    /// are reported at the chunk's absolute offset.
    func withChunkPayload<R>(offset: Int, stored: Int, raw: Int, compressed: Bool, crc: UInt32, check: Bool = true,
                             what: @autoclosure () -> String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let storedBytes = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + stored)])
        if check && checksums {
            let actual = CRC32C.checksum(storedBytes)
            guard actual == crc else {
                throw FormatError(.checksumMismatch, "\(what()): checksum \(hex(actual)) != stored \(hex(crc))", file: file, offset: offset)
            }
        }
        guard compressed else { return try body(storedBytes) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(raw, 1), alignment: 16)
        defer { buffer.deallocate() }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<raw])
        let produced: Int
        do {
            produced = try LZ4Codec.decompress(storedBytes, into: target)
        } catch let e as FormatError {
            throw FormatError(.compression, "\(what()): \(e.message)", file: file, offset: offset)
        }
        guard produced == raw else {
            throw FormatError(.compression, "\(what()): LZ4 produced \(produced) bytes, expected \(raw)", file: file, offset: offset)
        }
        return try body(UnsafeRawBufferPointer(target))
    }

    /// Decodes the requested columns of block `i`; the other columns of the result are empty.
    /// String columns come as codes into the segment dictionaries (`dictionary(_:)`).
    /// Dictionary-encoded `visitor` / `session` chunks also leave their block dictionary in
    /// `visitorCodes` / `sessionCodes`; with `idsAsCodes` only that, the 64-bit arrays empty.
    public func decodeBlock(_ i: Int, columns: ColumnSet, idsAsCodes: Bool = false) throws -> ColumnChunk {
        try decodeBlock(i, columns: columns, forceChecksums: false, idsAsCodes: idsAsCodes)
    }

    /// `decodeBlock`, optionally re-checking checksums already verified by this reader.
    func decodeBlock(_ i: Int, columns: ColumnSet, forceChecksums: Bool, idsAsCodes: Bool = false) throws -> ColumnChunk {
        let b = footer.blocks[i]
        let n = b.rowCount
        var chunk = ColumnChunk(count: n)
        for c in columns.columns {
            let m = b.columns[Int(c.rawValue)]
            let flip = c.kind.laneFlip
            let chunkIndex = i * Column.allCases.count + Int(c.rawValue)
            let check = forceChecksums || needsCheck(chunkIndex)
            func decode<A, T: FixedWidthInteger & UnsignedInteger>(_: A.Type, _: T.Type,
                                                                   keeping codes: UnsafeMutablePointer<BlockCodes?>? = nil) throws -> [A] {
                precondition(MemoryLayout<A>.stride == MemoryLayout<T>.stride)
                return try withChunkPayload(offset: m.offset, stored: m.storedLength, raw: m.rawLength, compressed: m.compressed,
                                            crc: m.crc, check: check, what: "block \(i) column \(c.wireName)") { payload in
                    do {
                        if let codes, idsAsCodes, m.encoding == .dictionary {
                            codes.pointee = try ChunkDecoder.dictionaryCodes(payload, count: n, flip: flip)
                            return []
                        }
                        return try [A](unsafeUninitializedCapacity: n) { buf, k in
                            if let codes {
                                let p = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt64.self)
                                try ChunkDecoder.decode(payload, encoding: m.encoding, count: n, flip: flip, into: p, keeping: &codes.pointee)
                            } else {
                                let p = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: T.self)
                                try ChunkDecoder.decode(payload, encoding: m.encoding, count: n, flip: flip, into: p)
                            }
                            k = n
                        }
                    } catch let e as FormatError {
                        // Offsets inside a compressed payload do not map to file bytes: report the chunk.
                        throw FormatError(e.code, "block \(i) column \(c.wireName) (\(m.encoding.name)): \(e.message) at payload byte \(e.offset)",
                                          file: file, offset: m.offset)
                    }
                }
            }
            switch c {
            case .ts: chunk.ts = try decode(Int64.self, UInt64.self)
            case .type: chunk.type = try decode(UInt8.self, UInt8.self)
            case .visitor: chunk.visitor = try decode(UInt64.self, UInt64.self, keeping: &chunk.visitorCodes)
            case .session: chunk.session = try decode(UInt64.self, UInt64.self, keeping: &chunk.sessionCodes)
            case .value: chunk.value = try decode(Double.self, UInt64.self)
            case .timeOnPage: chunk.timeOnPage = try decode(Int32.self, UInt32.self)
            case .x: chunk.x = try decode(Int32.self, UInt32.self)
            case .y: chunk.y = try decode(Int32.self, UInt32.self)
            case .scrollDepth: chunk.scrollDepth = try decode(Int8.self, UInt8.self)
            case .importId: chunk.importId = try decode(UInt32.self, UInt32.self)
            default:
                let codes = try decode(UInt32.self, UInt32.self)
                let dict = try dictionary(c)
                var maxCode: UInt32 = 0
                for code in codes { maxCode = max(maxCode, code) }
                if n > 0 && Int(maxCode) >= dict.count {
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
