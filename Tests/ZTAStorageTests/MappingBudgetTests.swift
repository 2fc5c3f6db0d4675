import Foundation
import XCTest
import ZTAFormat
@testable import ZTAStorage

/// Many tiny segments must not each take a memory mapping: the process's map table is finite
/// (`vm.max_map_count`), and a store past it no longer opens.
final class MappingBudgetTests: XCTestCase {
    var dir = ""

    override func setUp() { dir = makeTempDirectory("maps") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Lines of `/proc/self/maps`, read to its end: `String(contentsOfFile:)` stops after the
    /// first ~4 KiB of a procfs file on Linux, which made this count constant and
    /// the test pass even when every segment was mapped (checked against the pre-fix code).
    private func mappings() throws -> Int {
        let file = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/maps"))
        defer { try? file.close() }
        let bytes = try file.readToEnd() ?? Data()
        return bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
    }

    func testTinySegmentsAreNotMapped() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/maps") else {
            throw XCTSkip("SKIP: no /proc/self/maps on this system")
        }
        // One event in each of 600 months: 600 partitions, one tiny segment each.
        let base: Int64 = 946_684_800_000  // 2000-01-01
        let events = (0..<600).map { k -> EventRecord in
            var e = EventRecord()
            e.site = "site_tiny"
            e.ts = base + Int64(k) * 31 * 86_400_000
            e.path = "/p\(k)"
            return e
        }
        do {
            let store = try EventStore.open(directory: dir)
            try store.append(events)
            try store.flush()
            XCTAssertGreaterThanOrEqual(store.segmentList.count, 590)
            try store.close()
        }
        let before = try mappings()
        let store = try EventStore.open(directory: dir)
        let after = try mappings()
        XCTAssertLessThan(after - before, 60, "opening \(store.segmentList.count) tiny segments added \(after - before) mappings")
        let plan = try store.scanPlan(ScanRequest(site: "site_tiny", from: .min, to: .max, columns: .all))
        XCTAssertEqual(try plan.tasks.reduce(0) { $0 + (try $1.load().count) }, 600)
        try store.close()
    }
}
