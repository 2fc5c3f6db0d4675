import Foundation
import Testing
@testable import ZTAFormat

/// The bytes of a small fixed segment must match the annotated dump in Golden/segment-v2.hex,
/// and the v1 dump (written before the sparse encoding existed) must still read.
///
/// The dump's comments and whitespace are ignored; only the hex bytes are compared. After an
/// intended format change, regenerate it with
///
///     ZTAS_UPDATE_GOLDEN=1 swift test --filter GoldenTests
///
/// (which rewrites the file in the source tree), review the diff, and bump the format version
/// if old segments can no longer be read.
@Suite struct GoldenTests {
    static let goldenName = "segment-v2"

    /// Five rows of one site, two blocks (3 + 2 rows): exercises constant, delta, run-length and
    /// frame-of-reference chunks, sorted dictionaries with empty and non-ASCII strings.
    static func fixedChunk() -> ColumnChunk {
        let paths = ["/", "/pricing", "/docs/ü", "/pricing", "/"]
        var records: [EventRecord] = []
        for i in 0..<5 {
            var r = EventRecord()
            r.ts = 1_772_000_000_000 + Int64(i) * 1500 + (i == 4 ? 60_000 : 0)
            r.site = "site_golden"
            r.type = [.pageview, .click, .pageview, .scroll, .event][i]
            r.visitor = 0x1234_5678_9ABC_DEF0
            r.session = i < 3 ? 0xFEDC_BA98_7654_3210 : 0x0F0F_0F0F_0F0F_0F0F
            r.path = paths[i]
            r.referrer = i == 0 ? "news.ycombinator.com" : ""
            r.channel = i == 0 ? "social" : "direct"
            r.device = "desktop"; r.browser = "Firefox"; r.os = "Linux"; r.country = "DE"; r.region = "DE-BE"
            if r.type == .event { r.name = "Signup"; r.category = "conversion"; r.value = 49.5 }
            if r.type == .click { r.x = 640; r.y = 1200; r.element = "button#buy"; r.text = "Kaufen" }
            if r.type == .scroll { r.scrollDepth = 75 }
            r.importId = 7
            records.append(r)
        }
        return ColumnChunk.from(records: records)
    }

    static var sourcePath: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(goldenName).hex")
    }

    @Test func segmentMatchesGoldenDump() throws {
        let image = try SegmentWriter.encode(Self.fixedChunk(), site: "site_golden", blockRows: 3)
        let dump = try SegmentHexDump.annotated(image)
        #expect(SegmentHexDump.parse(dump) == image, "the dump must round-trip its own bytes")
        if ProcessInfo.processInfo.environment["ZTAS_UPDATE_GOLDEN"] == "1" {
            try dump.write(to: Self.sourcePath, atomically: true, encoding: .utf8)
            print("rewrote \(Self.sourcePath.path)")
            return
        }
        guard let url = Bundle.module.url(forResource: Self.goldenName, withExtension: "hex", subdirectory: "Golden") else {
            Issue.record("Golden/\(Self.goldenName).hex missing: run ZTAS_UPDATE_GOLDEN=1 swift test --filter GoldenTests")
            return
        }
        let golden = SegmentHexDump.parse(try String(contentsOf: url, encoding: .utf8))
        #expect(golden != nil, "unparsable golden dump")
        guard let golden else { return }
        if golden != image {
            let first = zip(golden, image).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(golden.count, image.count)
            Issue.record("segment bytes differ from the golden dump at offset \(first) (golden \(golden.count) bytes, written \(image.count)); actual dump:\n\(dump)")
        }
        // And the golden bytes decode to the fixed input.
        try withReader(golden) { r in
            try r.verify()
            #expect(r.rowCount == 5 && r.blockCount == 2 && r.site == "site_golden")
            let b1 = try r.decodeBlock(1, columns: ColumnSet([.path, .value]))
            #expect(b1.string(.path)!.codes.map { b1.string(.path)!.dictionary.values[Int($0)] } == ["/pricing", "/"])
            #expect(b1.value == [0, 49.5])
        }
    }

    /// A segment written by format v1 stays readable: same rows, verified checksums.
    @Test func formatV1SegmentStillReads() throws {
        guard let url = Bundle.module.url(forResource: "segment-v1", withExtension: "hex", subdirectory: "Golden"),
              let v1 = SegmentHexDump.parse(try String(contentsOf: url, encoding: .utf8)) else {
            Issue.record("Golden/segment-v1.hex missing or unparsable")
            return
        }
        #expect(v1[8] == 1, "the fixture is a v1 file")
        let expected = Self.fixedChunk()
        try withReader(v1) { r in
            try r.verify()
            #expect(r.rowCount == 5)
            var ts: [Int64] = [], x: [Int32] = [], paths: [String] = []
            for b in 0..<r.blockCount {
                let c = try r.decodeBlock(b, columns: .all)
                ts += c.ts
                x += c.x
                paths += c.string(.path)!.codes.map { c.string(.path)!.dictionary.values[Int($0)] }
            }
            #expect(ts == expected.ts && x == expected.x)
            #expect(paths == expected.string(.path)!.codes.map { expected.string(.path)!.dictionary.values[Int($0)] })
        }
    }

    /// The sparse encoding's payload, byte by byte as docs/format.md describes it.
    @Test func sparsePayloadLayout() throws {
        let lanes: [UInt64] = [0, 0, 5, 0, 0, 0, 0, 0, 0, 7]
        let payload = try #require(lanes.withUnsafeBufferPointer { ChunkEncoder.payload(.sparse, $0, kind: .uint32) })
        #expect(payload == [0, 0, 0, 0, 0, 0, 0, 0,  // u64 fill = 0
                            2, 0, 0, 0,              // u32 listed rows = 2
                            0x04, 0x02,              // bitmap: rows 2 and 9
                            1,                       // value encoding: plain
                            5, 0, 0, 0, 7, 0, 0, 0]) // the listed values at the column's width
    }

    @Test func dumpParserIgnoresCommentsAndWhitespace() {
        let text = "# title\n000000: 7a 74  # magic\n\n000002:\t61 # x # y\n  62\n"
        #expect(SegmentHexDump.parse(text) == [0x7A, 0x74, 0x61, 0x62])
        #expect(SegmentHexDump.parse("000000: 7g") == nil)
    }
}
