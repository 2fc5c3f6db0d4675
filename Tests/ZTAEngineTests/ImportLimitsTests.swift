import Foundation
import Testing
import ZTAFormat
@testable import ZTAEngine

/// `ImportInput.Limits`: one decompression, capped.
@Suite struct ImportLimitsTests {
    @Test func gzipInputIsCappedOnceDecompressed() throws {
        let text = IngestImportInputTests.sampleText(lines: 2000)
        let path = try IngestImportInputTests.temp("capped-\(UUID().uuidString).ndjson.gz", IngestImportInputTests.gzip(text))
        let input = try ImportInput(path: path, blockSize: 4096, limits: .init(maxDecodedBytes: text.count / 2))
        #expect(throws: ImportInputError.tooLarge(limit: text.count / 2)) {
            while try input.nextBlock() != nil {}
        }
        // Under the cap it reads to the end.
        let whole = try ImportInput(path: path, blockSize: 4096, limits: .init(maxDecodedBytes: text.count))
        var n = 0
        while let b = try whole.nextBlock() { n += b.bytes.count }
        #expect(n == text.count)
    }

    @Test func mappedInputIsCappedToo() throws {
        let text = IngestImportInputTests.sampleText(lines: 500)
        let path = try IngestImportInputTests.temp("capped-\(UUID().uuidString).ndjson", text)
        let input = try ImportInput(path: path, blockSize: 4096, limits: .init(maxDecodedBytes: 10_000))
        #expect(throws: ImportInputError.tooLarge(limit: 10_000)) {
            while try input.nextPiece() != nil {}
        }
    }

    /// The server's spool is already inflated: a gzip inside it is read as (bad) text, never
    /// inflated a second time.
    @Test func noSecondInflationWhenGunzipIsOff() throws {
        let inner = IngestImportInputTests.gzip(IngestImportInputTests.sampleText(lines: 100))
        let path = try IngestImportInputTests.temp("nested-\(UUID().uuidString).ndjson", inner)
        let input = try ImportInput(path: path, limits: .init(gunzip: false))
        #expect(!input.isCompressed)
        var bytes: [UInt8] = []
        while let b = try input.nextBlock() { bytes += b.bytes }
        #expect(bytes == inner)
    }
}
