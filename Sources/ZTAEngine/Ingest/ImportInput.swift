import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of whole import lines and where it sits in the input.
public struct ImportBlock: Sendable {
    /// Whole lines (each ends with `\n`, except possibly the input's last line).
    public var bytes: [UInt8]
    /// The 1-based number of the block's first line.
    public var firstLine: Int
    /// Physical lines in the block, so `firstLine + lineCount` is the next block's first line.
    public var lineCount: Int
}

/// Why reading an import input failed.
public enum ImportInputError: Error, Equatable, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case read(errno: Int32)
    case gzip(String)
    /// A line longer than `ImportInput.maxLineBytes`.
    case lineTooLong(line: Int)
    /// Decompressed input past `ImportInput.Limits.maxDecodedBytes` (a gzip bomb, say).
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let line): "line \(line) is too long"
        case .open(let path, let e): "cannot open \(path): \(String(cString: strerror(e)))"
        case .read(let e): "read failed: \(String(cString: strerror(e)))"
        case .gzip(let m): "gzip: \(m)"
        case .tooLarge(let limit): "input larger than \(limit) bytes once decompressed"
        }
    }
}

/// Streams an import file (or stdin for `-`) as blocks of whole lines, gunzipping transparently
/// when the input starts with the gzip magic bytes (`1f 8b`) or the path ends in `.gz`.
/// Concatenated gzip members are read one after the other. A partial last line of a block is
/// carried over to the next, so no line is ever split.
public final class ImportInput {
    /// How the input may be decoded and how much of it may be read.
    public struct Limits: Sendable {
        /// Whether gzip input is inflated. The server passes `false`: its upload spool already
        /// inflated the body once (capped), and a second inflation of a nested gzip would be
        /// uncapped; such bytes are then read as text and rejected line by line.
        public var gunzip: Bool
        /// Most bytes produced from the input (after decompression); more fails the read with
        /// `ImportInputError.tooLarge`.
        public var maxDecodedBytes: Int

        public init(gunzip: Bool = true, maxDecodedBytes: Int = .max) {
            self.gunzip = gunzip
            self.maxDecodedBytes = maxDecodedBytes
        }

        /// The command line's: gzip allowed, no size cap (the operator's own file).
        public static let unlimited = Limits()
    }

    /// Uncompressed bytes per block, roughly (a block always ends after a whole line).
    public let blockSize: Int
    /// Longest line accepted; a longer one fails the read (it could otherwise exhaust memory).
    public let maxLineBytes: Int
    /// Whether the input is gzip-compressed.
    public private(set) var isCompressed = false
    /// Bytes read from the file or stdin (compressed size for gzip).
    public private(set) var inputBytes = 0

    private let fd: Int32
    private let ownsDescriptor: Bool
    private var raw: [UInt8]
    private var rawStart = 0
    private var rawEnd = 0
    private var rawEOF = false
    private var inflater: Inflater?
    private var carry: [UInt8] = []
    private var nextLine = 1
    private var finished = false
    /// A regular, uncompressed file is read through one read-only mapping instead of `read`:
    /// blocks are then views into it, with no copy and no line counting.
    private var mapping: UnsafeRawBufferPointer?
    private var mapOffset = 0
    private var pieces = 0
    private let limits: Limits
    /// Bytes produced so far (decompressed when the input is gzip).
    private var decodedBytes = 0

    /// Opens `path` (`-` = standard input).
    public convenience init(path: String, blockSize: Int = 4 << 20, maxLineBytes: Int = 64 << 20,
                            limits: Limits = .unlimited) throws(ImportInputError) {
        if path == "-" {
            try self.init(descriptor: 0, owned: false, gzipName: false, blockSize: blockSize, maxLineBytes: maxLineBytes,
                          limits: limits)
        } else {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw .open(path: path, errno: errno) }
            try self.init(descriptor: fd, owned: true, gzipName: path.hasSuffix(".gz"), blockSize: blockSize,
                          maxLineBytes: maxLineBytes, limits: limits)
        }
    }

    /// Reads an open descriptor (a pipe, a socket, a file); it is not closed here.
    public convenience init(fileDescriptor: Int32, blockSize: Int = 4 << 20, maxLineBytes: Int = 64 << 20,
                            limits: Limits = .unlimited) throws(ImportInputError) {
        try self.init(descriptor: fileDescriptor, owned: false, gzipName: false, blockSize: blockSize,
                      maxLineBytes: maxLineBytes, limits: limits)
    }

    private init(descriptor: Int32, owned: Bool, gzipName: Bool, blockSize: Int, maxLineBytes: Int,
                 limits: Limits) throws(ImportInputError) {
        self.blockSize = max(blockSize, 1024)
        self.maxLineBytes = max(maxLineBytes, 1024)
        self.limits = limits
        fd = descriptor
        ownsDescriptor = owned
        raw = [UInt8](repeating: 0, count: 1 << 18)
        // Initialised: from here on a throw still runs deinit, which closes an owned descriptor.
        try fillRaw()
        let magic = rawEnd - rawStart >= 2 && raw[rawStart] == 0x1F && raw[rawStart + 1] == 0x8B
        if limits.gunzip && (magic || gzipName) {
            isCompressed = true
            inflater = try Inflater()
        } else {
            mapRegularFile()
        }
    }

    deinit {
        if let mapping, let base = mapping.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), mapping.count) }
        if ownsDescriptor { close(fd) }
    }

    private func mapRegularFile() {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return }
        _ = madvise(p, size, MADV_SEQUENTIAL)
        let b = UnsafeRawBufferPointer(start: p, count: size)
        mapping = b
        if size >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { mapOffset = 3 }  // UTF-8 byte order mark
    }

    /// The next piece of whole lines, numbered in input order (`seq` 0, 1, 2, …), or nil at the
    /// end. Pieces of a mapped file point into the mapping (no copy, lines not counted: the
    /// importer numbers lines from each piece's own count); other inputs yield copied blocks.
    /// Call from one thread at a time; a piece stays valid while this input lives.
    public func nextPiece() throws(ImportInputError) -> ImportPiece? {
        if let mapping {
            guard let r = try nextMappedRange(mapping) else { return nil }
            defer { pieces += 1 }
            return ImportPiece(seq: pieces, storage: .mapped(UnsafeRawBufferPointer(rebasing: mapping[r])))
        }
        guard let block = try nextBlock() else { return nil }
        defer { pieces += 1 }
        return ImportPiece(seq: pieces, storage: .owned(block.bytes))
    }

    /// Lets the kernel drop this process's pages of a parsed mapped piece (they stay in the page
    /// cache), so resident memory does not grow with the file.
    public func release(_ piece: ImportPiece) {
        guard case .mapped(let bytes) = piece.storage, let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: base) + page - 1) / page * page
        let hi = (Int(bitPattern: base) + bytes.count) / page * page
        if hi > lo { _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, MADV_DONTNEED) }
    }

    /// Cuts the next block-sized range of whole lines out of the mapping.
    private func nextMappedRange(_ m: UnsafeRawBufferPointer) throws(ImportInputError) -> Range<Int>? {
        let start = mapOffset
        guard start < m.count else { return nil }
        let base = m.baseAddress!
        var end = min(m.count, start + blockSize)
        if end < m.count {
            var cut = end
            while cut > start && m[cut - 1] != 0x0A { cut -= 1 }  // lines are short: a few bytes back
            if cut > start {
                end = cut
            } else {
                // The block is the start of one long line: find its end, within the limit.
                let limit = min(m.count, start + maxLineBytes + 1)
                if let nl = memchr(base + start, 0x0A, limit - start) {
                    end = UnsafeRawPointer(nl) - base + 1
                } else if limit < m.count {
                    let before = LineRanges.countLines(UnsafeRawBufferPointer(start: base, count: start))
                    throw .lineTooLong(line: before + 1)
                } else {
                    end = m.count
                }
            }
        }
        if end > limits.maxDecodedBytes { throw .tooLarge(limit: limits.maxDecodedBytes) }
        mapOffset = end
        inputBytes = end
        return start..<end
    }

    /// The next block of whole lines, or nil at the end of the input.
    public func nextBlock() throws(ImportInputError) -> ImportBlock? {
        if let mapping {
            guard let r = try nextMappedRange(mapping) else { return nil }
            return makeBlock(Array(mapping[r]))
        }
        if finished { return nil }
        var block = carry
        carry = []
        block.reserveCapacity(blockSize + (1 << 16))
        var searched = 0  // bytes before this hold no newline
        while true {
            let produced = try produce(into: &block, upTo: blockSize - block.count)
            if produced == 0 {
                finished = true
                if block.isEmpty { return nil }
                return makeBlock(block)
            }
            if block.count >= blockSize {
                if let cut = lastNewline(in: block, from: searched) {
                    carry = Array(block[(cut + 1)...])
                    block.removeSubrange((cut + 1)...)
                    return makeBlock(block)
                }
                // No newline anywhere in the block: it is the start of one long line.
                if block.count > maxLineBytes { throw .lineTooLong(line: nextLine) }
                searched = block.count
            }
        }
    }

    private func makeBlock(_ bytes: [UInt8]) -> ImportBlock {
        var bytes = bytes
        if nextLine == 1, mapping == nil, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            bytes.removeFirst(3)  // UTF-8 byte order mark
        }
        let lines = LineRanges.countLines(bytes)
        let b = ImportBlock(bytes: bytes, firstLine: nextLine, lineCount: lines)
        nextLine += lines
        return b
    }

    private func lastNewline(in block: [UInt8], from: Int) -> Int? {
        block.withUnsafeBytes { buf -> Int? in
            var i = buf.count - 1
            while i >= from {
                if buf[i] == 0x0A { return i }
                i -= 1
            }
            return nil
        }
    }

    /// Appends up to `want` (at least 1 KiB when available) uncompressed bytes to `block`;
    /// returns how many, 0 at the end of the input.
    private func produce(into block: inout [UInt8], upTo want: Int) throws(ImportInputError) -> Int {
        let room = max(want, 1024)  // progress even when a line is longer than a block
        let before = block.count
        if let inflater {
            while block.count == before {
                if inflater.isDone {
                    // End of a member: another one may follow (concatenated gzip files);
                    // anything else after the last member is ignored.
                    if rawStart == rawEnd, !rawEOF { try fillRaw() }
                    guard rawEnd - rawStart >= 2, raw[rawStart] == 0x1F, raw[rawStart + 1] == 0x8B else { return 0 }
                    try inflater.reset()
                }
                if rawStart == rawEnd, !rawEOF { try fillRaw() }
                let consumed = try inflater.inflate(input: raw, range: rawStart..<rawEnd, into: &block,
                                                    room: room, atEOF: rawEOF)
                rawStart += consumed
            }
            return try counted(block.count - before)
        }
        if rawStart == rawEnd {
            if rawEOF { return 0 }
            try fillRaw()
        }
        let take = min(rawEnd - rawStart, room)
        raw.withUnsafeBufferPointer { block.append(contentsOf: UnsafeBufferPointer(rebasing: $0[rawStart..<(rawStart + take)])) }
        rawStart += take
        return try counted(block.count - before)
    }

    /// Adds produced bytes to the running total and enforces `Limits.maxDecodedBytes`.
    private func counted(_ produced: Int) throws(ImportInputError) -> Int {
        decodedBytes += produced
        if decodedBytes > limits.maxDecodedBytes { throw .tooLarge(limit: limits.maxDecodedBytes) }
        return produced
    }

    private func fillRaw() throws(ImportInputError) {
        rawStart = 0
        rawEnd = 0
        while !rawEOF && rawEnd == 0 {
            let n = raw.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .read(errno: errno)
            }
            if n == 0 { rawEOF = true } else { rawEnd = n; inputBytes += n }
        }
    }
}

/// zlib inflate in gzip mode (16 + MAX_WBITS), one member at a time.
private final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    /// Inflated bytes land here first, then are appended to the block (one copy, no zero-fill).
    private let scratch: UnsafeMutablePointer<UInt8>
    private static let scratchSize = 1 << 20
    private(set) var isDone = false

    init() throws(ImportInputError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        scratch = .allocate(capacity: Inflater.scratchSize)
        let rc = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            scratch.deallocate()
            throw .gzip("inflateInit2 failed (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        scratch.deallocate()
    }

    func reset() throws(ImportInputError) {
        guard inflateReset(stream) == Z_OK else { throw .gzip("inflateReset failed") }
        isDone = false
    }

    /// Inflates from `input[range]`, appending at most `room` bytes to `out`; returns the input
    /// bytes consumed.
    func inflate(input: [UInt8], range: Range<Int>, into out: inout [UInt8], room: Int,
                 atEOF: Bool) throws(ImportInputError) -> Int {
        let room = min(room, Inflater.scratchSize)
        var rc: Int32 = Z_OK
        input.withUnsafeBufferPointer { inBuf in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + range.lowerBound)
            stream.pointee.avail_in = UInt32(range.count)
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(room)
            rc = CZlib.inflate(stream, Z_NO_FLUSH)
        }
        let consumed = range.count - Int(stream.pointee.avail_in)
        let produced = room - Int(stream.pointee.avail_out)
        out.append(contentsOf: UnsafeBufferPointer(start: scratch, count: produced))
        switch rc {
        case Z_STREAM_END:
            isDone = true
        case Z_OK:
            break
        case Z_BUF_ERROR:
            // No progress possible: more input is needed, and at the end there is none.
            if atEOF && range.count == consumed && produced == 0 { throw .gzip("unexpected end of compressed data") }
        default:
            let msg = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
            throw .gzip(msg)
        }
        return consumed
    }
}

/// A piece of an import input: whole lines, and its place (`seq`) in the input's order.
public struct ImportPiece: @unchecked Sendable {
    enum Storage {
        /// A view into the input's mapping (valid while the `ImportInput` lives).
        case mapped(UnsafeRawBufferPointer)
        case owned([UInt8])
    }
    /// 0 for the first piece of the input, then 1, 2, …
    public let seq: Int
    let storage: Storage

    /// Calls `body` with the piece's bytes.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .mapped(let b): return try body(b)
        case .owned(let a): return try a.withUnsafeBytes(body)
        }
    }
}
