import XCTest
@testable import ZTAStorage

final class ManifestTests: XCTestCase {
    private func sample() -> Manifest {
        var m = Manifest()
        m.nextSegmentId = 42
        m.nextImportId = 7
        m.walStart = 3
        m.segments = [
            SegmentMeta(id: 5, partition: PartitionKey(site: "site_alpha", month: "2026-03"), rows: 1000,
                        minTs: 1_772_323_200_000, maxTs: 1_775_001_599_999, bytes: 12345, minImport: 0, maxImport: 2),
            SegmentMeta(id: 9, partition: PartitionKey(site: "weird site/ü.%", month: "2026-04"), rows: 1,
                        minTs: -5, maxTs: -5, bytes: 99, minImport: 4, maxImport: 4),
        ]
        return m
    }

    func testRoundTrip() throws {
        let m = sample()
        XCTAssertEqual(try Manifest.decode(m.encode(), file: "MANIFEST"), m)
        XCTAssertEqual(try Manifest.decode(Manifest().encode(), file: "MANIFEST"), Manifest())
    }

    func testSiteNamesAreEscapedForPaths() {
        XCTAssertEqual(Manifest.escape("site_abc-1"), "site_abc-1")
        XCTAssertFalse(Manifest.escape("../x").contains("/"))
        XCTAssertFalse(Manifest.escape("..").hasPrefix("."))
        for s in ["", "a b", "ü", "%", "../etc", "x.y"] {
            XCTAssertEqual(Manifest.unescape(Manifest.escape(s)), s)
        }
    }

    func testEveryByteFlipAndTruncationIsDetected() {
        let bytes = sample().encode()
        for i in 0..<bytes.count {
            var d = bytes
            d[i] ^= 0x01
            XCTAssertThrowsError(try Manifest.decode(d, file: "MANIFEST"), "flip at \(i)") { e in
                XCTAssertEqual((e as? StorageError)?.code, .corrupt)
                XCTAssertEqual((e as? StorageError)?.file, "MANIFEST")
            }
        }
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try Manifest.decode(Array(bytes[0..<cut]), file: "MANIFEST"), "cut at \(cut)")
        }
    }

    func testPartitionMonthsAndRanges() {
        XCTAssertEqual(PartitionKey.month(of: 0), "1970-01")
        XCTAssertEqual(PartitionKey.month(of: 1_772_323_199_999), "2026-02")
        XCTAssertEqual(PartitionKey.month(of: 1_772_323_200_000), "2026-03")
        XCTAssertEqual(PartitionKey.month(of: -1), "1969-12")
        let (lo, hi) = PartitionKey(site: "s", month: "2026-02").range
        XCTAssertEqual(lo, 1_769_904_000_000)
        XCTAssertEqual(hi, 1_772_323_200_000)
        XCTAssertEqual(PartitionKey(site: "s", month: "2025-12").range.1, 1_767_225_600_000)
    }
}
