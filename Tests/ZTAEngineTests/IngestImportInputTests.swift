import CZlib
import Foundation
import Testing
import ZTAFormat
@testable import ZTAEngine

/// `ImportInput`: plain and gzip files, blocks of whole lines, line numbering.
@Suite struct IngestImportInputTests {
    /// gzip-compresses `data` (one member) with zlib.
    static func gzip(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        let rc = deflateInit2_(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                               Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK)
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 64)
        var input = data
        let produced = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        deflateEnd(&stream)
        return Array(out[..<produced])
    }

    static func temp(_ name: String, _ bytes: [UInt8]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-ingest-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Lines of varied length (some longer than the small block size used below).
    static func sampleText(lines: Int, finalNewline: Bool = true, crlf: Bool = false) -> [UInt8] {
        var s = ""
        for i in 1...lines {
            let pad = String(repeating: "é", count: (i * 7919) % (i % 97 == 0 ? 3000 : 120))
            s += "{\"ts\":\(1_772_000_000_000 + i),\"site\":\"s\",\"type\":\"pageview\",\"visitor\":\"v\(i)\",\"session\":\"x\",\"text\":\"\(pad)\"}"
            if i < lines || finalNewline { s += crlf ? "\r\n" : "\n" }
        }
        return Array(s.utf8)
    }

    static func readAll(_ path: String, blockSize: Int) throws -> [ImportBlock] {
        let input = try ImportInput(path: path, blockSize: blockSize)
        var blocks: [ImportBlock] = []
        while let b = try input.nextBlock() { blocks.append(b) }
        #expect(try input.nextBlock() == nil)
        return blocks
    }

    static func checkBlocks(_ blocks: [ImportBlock], equal original: [UInt8]) {
        #expect(blocks.flatMap(\.bytes) == original)
        var next = 1
        for (i, b) in blocks.enumerated() {
            #expect(b.firstLine == next)
            #expect(b.lineCount == LineRanges.countLines(b.bytes))
            if i < blocks.count - 1 { #expect(b.bytes.last == 0x0A, "block \(i) ends inside a line") }
            next += b.lineCount
        }
    }

    @Test(arguments: [false, true])
    func plainAndGzipGiveTheSameBlocks(compressed: Bool) throws {
        let text = Self.sampleText(lines: 3_000)
        let path = try Self.temp(compressed ? "a.ndjson.gz" : "a.ndjson", compressed ? Self.gzip(text) : text)
        for blockSize in [1024, 10_000, 1 << 20] {
            let blocks = try Self.readAll(path, blockSize: blockSize)
            Self.checkBlocks(blocks, equal: text)
            #expect(blocks.map(\.lineCount).reduce(0, +) == 3_000)
            if blockSize == 1024 { #expect(blocks.count > 100) }
        }
        #expect(try ImportInput(path: path).isCompressed == compressed)
    }

    @Test func gzipDetectedByMagicWithoutSuffixAndConcatenatedMembers() throws {
        let a = Self.sampleText(lines: 500), b = Self.sampleText(lines: 700)
        let path = try Self.temp("members.bin", Self.gzip(a) + Self.gzip(b))
        let blocks = try Self.readAll(path, blockSize: 4096)
        Self.checkBlocks(blocks, equal: a + b)
        #expect(blocks.map(\.lineCount).reduce(0, +) == 1_200)
    }

    @Test func finalLineWithoutNewlineAndCRLF() throws {
        let text = Self.sampleText(lines: 1_000, finalNewline: false, crlf: true)
        for gz in [false, true] {
            let path = try Self.temp(gz ? "crlf.gz" : "crlf.ndjson", gz ? Self.gzip(text) : text)
            let blocks = try Self.readAll(path, blockSize: 2048)
            Self.checkBlocks(blocks, equal: text)
            #expect(blocks.last!.bytes.last == UInt8(ascii: "}"))
            var builder = ColumnChunkBuilder()
            var errors: [ImportLineError] = []
            var accepted = 0
            let parser = NDJSONParser(siteRestriction: nil, importId: 1)
            for b in blocks {
                let r = b.bytes.withUnsafeBytes { parser.parse($0, firstLine: b.firstLine, into: &builder, errors: &errors) }
                accepted += r.accepted
                #expect(r.lines == b.lineCount)
            }
            #expect(errors == [])
            #expect(accepted == 1_000)
            #expect(builder.build().record(at: 999).ts == 1_772_000_001_000)
        }
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let text = [0xEF, 0xBB, 0xBF] + Self.sampleText(lines: 3)
        let blocks = try Self.readAll(try Self.temp("bom.ndjson", text), blockSize: 1 << 16)
        #expect(blocks.count == 1)
        #expect(blocks[0].bytes == Array(text.dropFirst(3)))
    }

    @Test func emptyInput() throws {
        #expect(try Self.readAll(try Self.temp("empty.ndjson", []), blockSize: 1024).isEmpty)
        #expect(try Self.readAll(try Self.temp("empty.gz", Self.gzip([])), blockSize: 1024).isEmpty)
    }

    @Test func errors() throws {
        #expect(throws: ImportInputError.self) { try ImportInput(path: "/nonexistent/ztas/file.ndjson") }
        let gz = Self.gzip(Self.sampleText(lines: 2_000))
        let truncated = try Self.temp("cut.gz", Array(gz[..<(gz.count / 2)]))
        #expect(throws: ImportInputError.self) { _ = try Self.readAll(truncated, blockSize: 1024) }
        var corrupt = gz
        for i in 40..<80 { corrupt[i] ^= 0x5A }
        let bad = try Self.temp("bad.gz", corrupt)
        #expect(throws: ImportInputError.self) { _ = try Self.readAll(bad, blockSize: 1024) }
    }

    /// Splitting a buffer for two cores gives the same rows and line numbers as one pass.
    @Test func splitPartsParseLikeTheWhole() {
        var text = Self.sampleText(lines: 2_001)
        text += Array("not json\n\n{\"ts\":1}\n".utf8)
        let parser = NDJSONParser(siteRestriction: nil, importId: 1)
        var whole = ColumnChunkBuilder()
        var wholeErrors: [ImportLineError] = []
        let w = parser.parse(text, firstLine: 1, into: &whole, errors: &wholeErrors)
        #expect(w.lines == 2_004)
        #expect(wholeErrors.map(\.line) == [2_002, 2_004])
        for parts in [1, 2, 3, 7] {
            var builder = ColumnChunkBuilder()
            var errors: [ImportLineError] = []
            var accepted = 0
            text.withUnsafeBytes { buf in
                let split = LineRanges.split(buf, parts: parts)
                #expect(split.count <= parts)
                #expect(split.first?.bytes.lowerBound == 0 && split.last?.bytes.upperBound == buf.count)
                for p in split {
                    if p.bytes.lowerBound > 0 { #expect(buf[p.bytes.lowerBound - 1] == 0x0A) }
                    let r = parser.parse(UnsafeRawBufferPointer(rebasing: buf[p.bytes]), firstLine: 1 + p.lineOffset,
                                         into: &builder, errors: &errors)
                    accepted += r.accepted
                }
            }
            #expect(accepted == w.accepted)
            #expect(errors == wholeErrors)
            #expect(builder.build().ts == whole.build().ts)
        }
    }

    /// A pipe (as stdin would be): not seekable, gzip detected from the first bytes, data
    /// arriving in small writes.
    @Test(arguments: [false, true])
    func readsFromAPipe(compressed: Bool) throws {
        let text = Self.sampleText(lines: 2_000)
        let payload = compressed ? Self.gzip(text) : text
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writeEnd = fds[1]
        let writer = Thread {
            payload.withUnsafeBytes { buf in
                var o = 0
                while o < buf.count {
                    let n = write(writeEnd, buf.baseAddress! + o, min(777, buf.count - o))
                    if n <= 0 { break }
                    o += n
                }
            }
            close(writeEnd)
        }
        writer.start()
        let input = try ImportInput(fileDescriptor: fds[0], blockSize: 4096)
        var blocks: [ImportBlock] = []
        while let b = try input.nextBlock() { blocks.append(b) }
        close(fds[0])
        #expect(input.isCompressed == compressed)
        #expect(input.inputBytes == payload.count)
        Self.checkBlocks(blocks, equal: text)
    }

    @Test func overlongLineFailsWithItsNumber() throws {
        let text = Array("{\"a\":1}\n{\"b\":2}\n".utf8) + [UInt8](repeating: 0x41, count: 50_000) + [0x0A]
        let input = try ImportInput(path: try Self.temp("long.ndjson", text), blockSize: 1024, maxLineBytes: 10_000)
        #expect(throws: ImportInputError.lineTooLong(line: 3)) {
            while try input.nextBlock() != nil {}
        }
        // Below the limit the same line is fine.
        let blocks = try Self.readAll(try Self.temp("long2.ndjson", text), blockSize: 1024)
        Self.checkBlocks(blocks, equal: text)
    }
}
