import ZTAWorkloads
import Testing
@testable import ZTAFormat

/// Damaged images must fail with a `FormatError` from `init`, `decodeBlock` or `verify`: never a
/// crash, never data decoded from unchecked bytes (every byte is under some checksum).
@Suite struct CorruptionTests {
    static func image() throws -> [UInt8] {
        var rng = SplitMix64(seed: 99)
        let chunk = ColumnChunk.from(records: RandomRows.records(200, rng: &rng))
        return try SegmentWriter.encode(chunk, site: "site_x", blockRows: 80)
    }

    /// Opens, verifies, and decodes every block of `bytes`; returns the error thrown, or nil.
    func openAndReadAll(_ bytes: [UInt8]) -> Error? {
        do {
            try withReader(bytes) { r in
                try r.verify()
                for b in 0..<r.blockCount { _ = try r.decodeBlock(b, columns: .all) }
            }
            return nil
        } catch {
            return error
        }
    }

    @Test func intactImageVerifies() throws {
        #expect(openAndReadAll(try Self.image()) == nil)
    }

    @Test func everySingleByteFlipIsDetected() throws {
        let original = try Self.image()
        var undetected: [Int] = []
        var codes: [FormatError.Code: Int] = [:]
        for offset in 0..<original.count {
            for mask: UInt8 in [0x01, 0x80] {
                var damaged = original
                damaged[offset] ^= mask
                guard let e = openAndReadAll(damaged) else { undetected.append(offset); continue }
                guard let fe = e as? FormatError else { Issue.record("non-format error \(e) at \(offset)"); continue }
                #expect(fe.file == "test.zseg")
                codes[fe.code, default: 0] += 1
            }
        }
        #expect(undetected.isEmpty, "flips not detected at offsets \(undetected.prefix(20))")
        #expect(codes[.checksumMismatch, default: 0] > 0 && codes[.badMagic, default: 0] > 0)
    }

    @Test func randomMultiByteDamageIsDetected() throws {
        let original = try Self.image()
        var rng = SplitMix64(seed: 1234)
        for _ in 0..<500 {
            var damaged = original
            let start = Int(rng.next() % UInt64(original.count))
            for i in start..<min(original.count, start + Int(rng.next() % 16) + 1) { damaged[i] = UInt8(truncatingIfNeeded: rng.next()) }
            if damaged == original { continue }
            let e = openAndReadAll(damaged)
            #expect(e is FormatError, "damage at \(start) gave \(String(describing: e))")
        }
    }

    @Test func everyTruncationIsDetected() throws {
        let original = try Self.image()
        for length in 0..<original.count {
            let e = openAndReadAll(Array(original[..<length]))
            #expect(e is FormatError, "truncation to \(length) gave \(String(describing: e))")
        }
        // Garbage appended after the trailer is also rejected (the trailer must end the file).
        #expect(openAndReadAll(original + [0, 0, 0, 0]) is FormatError)
    }

    @Test func errorLocatesTheDamagedChunk() throws {
        let original = try Self.image()
        let (offset, ok): (Int, Bool) = try withReader(original) { r in
            let m = r.footer.blocks[1].columns[Int(Column.path.rawValue)]
            return (m.offset + m.storedLength / 2, m.storedLength > 0)
        }
        #expect(ok)
        var damaged = original
        damaged[offset] ^= 0x10
        try withReader(damaged) { r in
            // Other blocks and columns still decode; the damaged one throws at its own offset.
            _ = try r.decodeBlock(0, columns: .all)
            _ = try r.decodeBlock(1, columns: ColumnSet([.ts, .visitor]))
            do {
                _ = try r.decodeBlock(1, columns: ColumnSet([.path]))
                Issue.record("damaged chunk decoded")
            } catch let e as FormatError {
                #expect(e.code == .checksumMismatch)
                #expect(e.offset == r.footer.blocks[1].columns[Int(Column.path.rawValue)].offset)
                #expect(e.description.contains("test.zseg"))
            }
        }
    }

    @Test func wrongVersionIsUnsupported() throws {
        var image = try Self.image()
        let t = image.count - SegmentFormat.trailerSize
        image[t + 12] = 9  // version 9, with a recomputed trailer checksum
        let crc = image.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[t..<(t + 20)])) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { image[t + 20 + i] = $0[i] } }
        #expect(throws: FormatError.self) { try withReader(image) { _ in } }
        do { try withReader(image) { _ in } } catch let e as FormatError { #expect(e.code == .unsupportedVersion) }
    }
}

@Suite struct ChecksumCacheTests {
    /// A chunk is checksummed on its first decode; damage after that is still found by verify().
    @Test func verifyRechecksChunksAlreadyDecoded() throws {
        var image = try CorruptionTests.image()
        try image.withUnsafeMutableBytes { raw in
            let r = try SegmentReader(bytes: UnsafeRawBufferPointer(raw), file: "mutable.zseg")
            _ = try r.decodeBlock(0, columns: .all)
            let m = r.footer.blocks[0].columns[Int(Column.ts.rawValue)]
            raw[m.offset] ^= 0x40
            #expect(throws: FormatError.self) { try r.verify() }
            // A fresh reader catches it on first decode.
            let fresh = try SegmentReader(bytes: UnsafeRawBufferPointer(raw), file: "mutable.zseg")
            #expect(throws: FormatError.self) { _ = try fresh.decodeBlock(0, columns: ColumnSet([.ts])) }
        }
    }
}
