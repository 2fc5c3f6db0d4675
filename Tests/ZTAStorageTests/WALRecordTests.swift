import ZTAWorkloads
import XCTest
import ZTAFormat
@testable import ZTAStorage

final class WALRecordTests: XCTestCase {
    private func logImage(batches: Int, rng: inout SplitMix64) -> ([UInt8], [[EventRecord]]) {
        var bytes: [UInt8] = []
        var all: [[EventRecord]] = []
        for _ in 0..<batches {
            let recs = randomEvents(Int(rng.next() % 5) + 1, rng: &rng)
            WALRecord.frame(WALRecord.encodeEvents(recs), into: &bytes)
            all.append(recs)
        }
        return (bytes, all)
    }

    private func decodeAll(_ bytes: [UInt8]) throws -> (batches: [[EventRecord]], torn: Int?) {
        try bytes.withUnsafeBytes { buf in
            let scan = try WALRecord.scan(buf, file: "test.log")
            let batches = try scan.payloads.map { p in try p.bytes.withUnsafeBytes { try WALRecord.decodeEvents($0) } }
            return (batches, scan.tornAt)
        }
    }

    func testRoundTrip() throws {
        var rng = SplitMix64(seed: 1)
        let (bytes, batches) = logImage(batches: 20, rng: &rng)
        let out = try decodeAll(bytes)
        XCTAssertNil(out.torn)
        XCTAssertEqual(out.batches, batches)
    }

    /// Cutting the log anywhere (a crash during a write) keeps exactly the whole records before the cut.
    func testTruncationAtEveryLengthDropsOnlyTheTornTail() throws {
        var rng = SplitMix64(seed: 2)
        let (bytes, batches) = logImage(batches: 6, rng: &rng)
        var ends: [Int] = []
        var pos = 0
        for b in batches {
            var framed: [UInt8] = []
            WALRecord.frame(WALRecord.encodeEvents(b), into: &framed)
            pos += framed.count
            ends.append(pos)
        }
        for cut in 0...bytes.count {
            let out = try decodeAll(Array(bytes[0..<cut]))
            let whole = ends.filter { $0 <= cut }.count
            XCTAssertEqual(out.batches, Array(batches[0..<whole]), "cut at \(cut)")
            XCTAssertEqual(out.torn == nil, ends.contains(cut) || cut == 0, "cut at \(cut)")
        }
    }

    /// Flipping any byte is reported as corruption with the record's offset, never returned as data.
    func testEveryByteFlipIsDetected() throws {
        var rng = SplitMix64(seed: 3)
        let (bytes, batches) = logImage(batches: 4, rng: &rng)
        for i in 0..<bytes.count {
            var damaged = bytes
            damaged[i] ^= 0x5A
            do {
                let out = try decodeAll(damaged)
                XCTFail("flip at \(i) not detected: \(out.batches.count) of \(batches.count) batches")
            } catch let e as StorageError {
                XCTAssertEqual(e.code, .corrupt)
                XCTAssertEqual(e.file, "test.log")
                XCTAssertNotNil(e.offset)
                XCTAssertLessThanOrEqual(e.offset!, i)
            }
        }
    }

    func testZeroFilledTailIsTreatedAsTorn() throws {
        var rng = SplitMix64(seed: 4)
        let (bytes, batches) = logImage(batches: 3, rng: &rng)
        let out = try decodeAll(bytes + [UInt8](repeating: 0, count: 40))
        XCTAssertEqual(out.batches, batches)
        XCTAssertEqual(out.torn, bytes.count)
    }
}
