import Foundation
import XCTest
import ZTAFormat
import ZTAStorage

/// The ClickHouse store's outbox without a server: batch ids, the cursor across reopening and
/// crashes, torn tails, file rotation and deletion.
final class OutboxTests: XCTestCase {
    private var directories: [String] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
        super.tearDown()
    }

    private func temporaryDirectory() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-outbox-\(UUID().uuidString)").path
        directories.append(d)
        return d
    }

    /// Events with visitors `i + 1` for `i` in `range`.
    static func events(_ range: Range<Int>, site: String = "s") -> [EventRecord] {
        range.map { i in
            var r = EventRecord()
            r.ts = 1_772_400_000_000 + Int64(i)
            r.site = site
            r.visitor = UInt64(i + 1)
            r.session = UInt64(i / 10 + 1)
            r.path = "/p\(i % 7)"
            return r
        }
    }

    static func logName(_ file: UInt64) -> String {
        let s = String(file)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s + ".log"
    }

    func testBatchIdsAreDeterministicAcrossReopening() throws {
        let dir = temporaryDirectory()
        var o = try EventOutbox.open(directory: dir)
        try o.append(Self.events(0..<3))
        try o.append(Self.events(3..<5))
        let a = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(a.rows, 5)
        XCTAssertFalse(a.resumed)
        XCTAssertNotEqual(a.id, 0, "0 is the batch id of imported rows")
        XCTAssertEqual(a.id, EventOutbox.batchId(outboxId: o.outboxId, start: a.start))
        let again = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(again.id, a.id)
        XCTAssertEqual(again.end, a.end)
        // A batch is whole records: the first record alone when it fills `maxRows`.
        let small = try XCTUnwrap(try o.nextBatch(maxRows: 3))
        XCTAssertEqual(small.rows, 3)
        XCTAssertEqual(small.id, a.id, "the id depends on where the batch starts")
        let id = o.outboxId
        o.close()

        o = try EventOutbox.open(directory: dir)
        XCTAssertEqual(o.outboxId, id)
        let b = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(b.id, a.id)
        XCTAssertEqual(b.records.map(\.visitor), a.records.map(\.visitor))
        o.close()

        // Another start or another outbox: another id.
        XCTAssertNotEqual(EventOutbox.batchId(outboxId: id, start: OutboxPosition(file: a.start.file, offset: a.start.offset + 12)), a.id)
        XCTAssertNotEqual(EventOutbox.batchId(outboxId: id, start: OutboxPosition(file: a.start.file + 1, offset: a.start.offset)), a.id)
        XCTAssertNotEqual(EventOutbox.batchId(outboxId: id &+ 1, start: a.start), a.id)
        let other = try EventOutbox.open(directory: temporaryDirectory())
        XCTAssertNotEqual(other.outboxId, id)
        other.close()
    }

    func testResumesFromTheCursorAndDeletesShippedFiles() throws {
        let dir = temporaryDirectory()
        // `fileBytes: 1`: every append rotates, so each record is a file of its own.
        var o = try EventOutbox.open(directory: dir, fileBytes: 1)
        try o.append(Self.events(0..<4))
        try o.append(Self.events(4..<10))
        try o.append(Self.events(10..<12))
        XCTAssertEqual(o.pendingRows, 12)
        let first = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(first.rows, 4, "a batch stays within one file")
        try o.markInFlight(first)
        try o.markShipped(first)
        XCTAssertEqual(o.pendingRows, 8)
        o.close()

        o = try EventOutbox.open(directory: dir, fileBytes: 1)
        XCTAssertEqual(o.pendingRows, 8)
        let second = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertFalse(second.resumed)
        XCTAssertEqual(second.records.map(\.visitor), (5...10).map { UInt64($0) })
        XCTAssertFalse(try o.logFiles().contains(first.start.file), "a file wholly shipped is deleted")
        try o.markInFlight(second)
        try o.markShipped(second)
        let third = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(third.records.map(\.visitor), [11, 12])
        try o.markInFlight(third)
        try o.markShipped(third)
        XCTAssertNil(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(o.pendingRows, 0)
        o.close()

        // Everything shipped, reopened: positions (so ids) never repeat.
        o = try EventOutbox.open(directory: dir, fileBytes: 1)
        XCTAssertEqual(o.pendingRows, 0)
        try o.append(Self.events(12..<13))
        let fourth = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertGreaterThan(fourth.start, third.start)
        XCTAssertFalse([first.id, second.id, third.id].contains(fourth.id))
        XCTAssertEqual(fourth.records.map(\.visitor), [13])
        o.close()
    }

    func testAnInFlightBatchIsReadBackWithTheSameExtentAndId() throws {
        let dir = temporaryDirectory()
        var o = try EventOutbox.open(directory: dir)
        try o.append(Self.events(0..<2))
        let b = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        try o.markInFlight(b)
        // More arrives into the same file while the batch is out; then the process dies
        // without marking it shipped.
        try o.append(Self.events(2..<5))
        o.close()

        o = try EventOutbox.open(directory: dir)
        XCTAssertEqual(o.pendingRows, 5)
        let r = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertTrue(r.resumed)
        XCTAssertEqual(r.id, b.id)
        XCTAssertEqual(r.start, b.start)
        XCTAssertEqual(r.end, b.end)
        XCTAssertEqual(r.records.map(\.visitor), [1, 2])
        try o.markShipped(r)
        let next = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertFalse(next.resumed)
        XCTAssertEqual(next.records.map(\.visitor), [3, 4, 5])
        XCTAssertNotEqual(next.id, b.id)
        o.close()
    }

    func testTheCursorIsOldOrNewAfterACrashAtEveryStepOfItsReplacement() throws {
        // How many file-system calls moving the cursor takes.
        let counting = FaultInjectingFileSystem()
        let probe = try EventOutbox.open(directory: temporaryDirectory(), fileSystem: counting)
        try probe.append(Self.events(0..<3))
        try probe.append(Self.events(3..<6))
        let pb = try XCTUnwrap(try probe.nextBatch(maxRows: 3))
        let before = counting.callCount
        try probe.markShipped(pb)
        let calls = counting.callCount - before
        probe.close()
        XCTAssertGreaterThanOrEqual(calls, 5, "temp file: open, write, fsync; rename; directory fsync")

        for k in 0..<calls {
            for fault in [FaultInjectingFileSystem.Fault.crashBefore, .crashAfter] {
                let fs = FaultInjectingFileSystem()
                let dir = temporaryDirectory()
                var o = try EventOutbox.open(directory: dir, fileSystem: fs)
                try o.append(Self.events(0..<3))
                try o.append(Self.events(3..<6))
                let b = try XCTUnwrap(try o.nextBatch(maxRows: 3))
                XCTAssertEqual(b.rows, 3)
                fs.inject(fault, atCall: fs.callCount + k)
                XCTAssertThrowsError(try o.markShipped(b), "\(fault) at call \(k)")
                o.close()

                // The restart, on the real file system: the cursor file is whole, and either
                // still before the batch (it is shipped again, same id) or after it.
                o = try EventOutbox.open(directory: dir)
                let next = try XCTUnwrap(try o.nextBatch(maxRows: 3), "\(fault) at call \(k)")
                if next.start == b.start {
                    XCTAssertEqual(next.id, b.id)
                    XCTAssertEqual(next.records.map(\.visitor), [1, 2, 3])
                    XCTAssertEqual(o.pendingRows, 6)
                } else {
                    XCTAssertEqual(next.start, b.end, "\(fault) at call \(k)")
                    XCTAssertEqual(next.records.map(\.visitor), [4, 5, 6])
                    XCTAssertEqual(o.pendingRows, 3)
                }
                o.close()
            }
        }
    }

    func testATornTailEndsItsFile() throws {
        let dir = temporaryDirectory()
        var o = try EventOutbox.open(directory: dir)
        try o.append(Self.events(0..<2))
        let file = try XCTUnwrap(try o.logFiles().last)
        o.close()
        // A write cut short by a crash: part of a header, never acknowledged.
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: dir + "/" + Self.logName(file)))
        h.seekToEndOfFile()
        h.write(Data([200, 0, 0, 0, 1, 2, 3]))
        try h.close()

        o = try EventOutbox.open(directory: dir)
        XCTAssertEqual(o.pendingRows, 2)
        try o.append(Self.events(2..<3))
        let a = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(a.records.map(\.visitor), [1, 2])
        try o.markShipped(a)
        let b = try XCTUnwrap(try o.nextBatch(maxRows: 100))
        XCTAssertEqual(b.records.map(\.visitor), [3])
        XCTAssertGreaterThan(b.start.file, file)
        o.close()
    }

    func testRefusesDamageAndASecondOpener() throws {
        let dir = temporaryDirectory()
        let o = try EventOutbox.open(directory: dir)
        try o.append(Self.events(0..<1))
        XCTAssertThrowsError(try EventOutbox.open(directory: dir)) { e in
            XCTAssertEqual((e as? StorageError)?.code, .locked)
        }
        o.close()

        // A flipped byte in the cursor: an error, not a silent start from scratch.
        let cursor = dir + "/cursor"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: cursor))
        bytes[10] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: cursor))
        XCTAssertThrowsError(try EventOutbox.open(directory: dir)) { e in
            XCTAssertEqual((e as? StorageError)?.code, .corrupt)
        }
        // No cursor but log files: the same.
        try FileManager.default.removeItem(atPath: cursor)
        XCTAssertThrowsError(try EventOutbox.open(directory: dir)) { e in
            XCTAssertEqual((e as? StorageError)?.code, .corrupt)
        }
    }
}
