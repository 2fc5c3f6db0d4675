import ZTAWorkloads
import Foundation
import XCTest
import ZTAFormat
@testable import ZTAStorage

final class EventStoreTests: XCTestCase {
    var dir = ""

    override func setUp() { dir = makeTempDirectory("store") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// All rows of a site in [from, to) through the public scan path, as records sorted canonically.
    private func scanRecords(_ store: EventStore, site: String, from: Int64 = .min, to: Int64 = .max) throws -> [EventRecord] {
        let plan = try store.scanPlan(ScanRequest(site: site, from: from, to: to, columns: .all))
        var out: [EventRecord] = []
        for t in plan.tasks {
            let c = try t.load()
            for i in 0..<c.count where c.ts[i] >= from && c.ts[i] < to {
                var r = c.record(at: i)
                r.site = site
                out.append(r)
            }
        }
        return canonical(out)
    }

    private func canonical(_ rs: [EventRecord]) -> [EventRecord] {
        rs.sorted { ($0.ts, $0.visitor, $0.value) < ($1.ts, $1.visitor, $1.value) }
    }

    private func expected(_ rs: [EventRecord], site: String) -> [EventRecord] {
        canonical(rs.filter { $0.site == site })
    }

    func testAppendIsVisibleAtOnceAndSurvivesReopenWithoutFlush() throws {
        var rng = SplitMix64(seed: 10)
        let events = randomEvents(500, rng: &rng)
        do {
            let store = try EventStore.open(directory: dir)
            for batch in stride(from: 0, to: events.count, by: 50) {
                try store.append(Array(events[batch..<min(batch + 50, events.count)]))
            }
            XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(events, site: "site_a"))
            XCTAssertEqual(store.segmentList.count, 0, "nothing flushed yet")
            // Dropped without close: only the WAL holds the events (like a crash after the acks).
        }
        let reopened = try EventStore.open(directory: dir)
        XCTAssertEqual(reopened.memtableRows, 500)
        XCTAssertEqual(try scanRecords(reopened, site: "site_a"), expected(events, site: "site_a"))
        XCTAssertEqual(try scanRecords(reopened, site: "site_b"), expected(events, site: "site_b"))
    }

    func testFlushWritesSegmentsPerPartitionAndTruncatesWAL() throws {
        var rng = SplitMix64(seed: 11)
        let events = randomEvents(3000, rng: &rng)
        let store = try EventStore.open(directory: dir)
        try store.append(events)
        try store.flush()
        XCTAssertEqual(store.memtableRows, 0)
        let parts = Set(events.map { PartitionKey(site: $0.site, ts: $0.ts) })
        XCTAssertEqual(Set(store.segmentList.map(\.partition)), parts)
        XCTAssertEqual(store.segmentList.reduce(0) { $0 + $1.rows }, 3000)
        let wal = try FileSystem.list(dir + "/wal")
        XCTAssertEqual(wal.count, 1, "only the fresh generation remains: \(wal)")
        XCTAssertEqual(try FileSystem.fileSize(dir + "/wal/" + wal[0]), 0)
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(events, site: "site_a"))
        try store.close()
        let reopened = try EventStore.open(directory: dir)
        XCTAssertEqual(reopened.memtableRows, 0)
        XCTAssertEqual(try scanRecords(reopened, site: "site_b"), expected(events, site: "site_b"))
        XCTAssertTrue(EventStore.verify(directory: dir).isClean)
    }

    func testTimeRangeScanPrunesPartitionsAndSegments() throws {
        var rng = SplitMix64(seed: 12)
        let events = randomEvents(4000, rng: &rng)
        let store = try EventStore.open(directory: dir)
        try store.append(events)
        try store.flush()
        let from: Int64 = 1_769_904_000_000 + 86_400_000 * 3 // 2026-02-04
        let to = from + 86_400_000 * 2
        XCTAssertEqual(try scanRecords(store, site: "site_a", from: from, to: to),
                       expected(events.filter { $0.ts >= from && $0.ts < to }, site: "site_a"))
        let plan = try store.scanPlan(ScanRequest(site: "site_a", from: from, to: to, columns: ColumnSet([.ts])))
        XCTAssertEqual(plan.stats.partitionsKept, 1)
        XCTAssertEqual(plan.stats.segmentsKept, 1)
        XCTAssertLessThan(plan.stats.segmentsKept, plan.stats.segmentsTotal)
    }

    func testImportBatchDeleteImportAndRetention() throws {
        var rng = SplitMix64(seed: 13)
        let store = try EventStore.open(directory: dir)
        let tracked = randomEvents(1000, rng: &rng)
        try store.append(tracked)
        let id1 = try store.allocateImportId()
        let id2 = try store.allocateImportId()
        XCTAssertNotEqual(id1, id2)
        let imp1 = randomEvents(2000, rng: &rng, importId: id1)
        let imp2 = randomEvents(1500, rng: &rng, importId: id2)
        try store.importBatch([ColumnChunk.from(records: imp1)])
        try store.importBatch([ColumnChunk.from(records: imp2)])
        let all = tracked + imp1 + imp2
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(all, site: "site_a"))
        let removed = try store.delete(site: "site_a", .importId(id1))
        XCTAssertEqual(removed, imp1.filter { $0.site == "site_a" }.count)
        let afterImport = all.filter { !($0.site == "site_a" && $0.importId == id1) }
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(afterImport, site: "site_a"))
        XCTAssertEqual(try scanRecords(store, site: "site_b"), expected(afterImport, site: "site_b"), "other site untouched")
        let cut: Int64 = 1_769_904_000_000
        let removedOld = try store.delete(site: "site_b", .olderThan(cut))
        XCTAssertEqual(removedOld, afterImport.filter { $0.site == "site_b" && $0.ts < cut }.count)
        let afterRetention = afterImport.filter { !($0.site == "site_b" && $0.ts < cut) }
        try store.close()
        let reopened = try EventStore.open(directory: dir)
        XCTAssertEqual(try scanRecords(reopened, site: "site_b"), expected(afterRetention, site: "site_b"))
        XCTAssertEqual(try reopened.allocateImportId(), id2 + 1, "import ids are never reused")
        XCTAssertEqual(try reopened.delete(site: "site_a", .all), afterRetention.filter { $0.site == "site_a" }.count)
        XCTAssertEqual(try scanRecords(reopened, site: "site_a"), [])
        XCTAssertTrue(EventStore.verify(directory: dir).isClean)
    }

    func testCompactionMergesSegmentsAndKeepsEveryRow() throws {
        var rng = SplitMix64(seed: 14)
        let store = try EventStore.open(directory: dir)
        var all: [EventRecord] = []
        for _ in 0..<6 {
            let b = randomEvents(700, rng: &rng, sites: ["site_a"])
            try store.append(b)
            try store.flush()
            all += b
        }
        let before = store.segmentList.count
        let partitions = Set(store.segmentList.map(\.partition))
        XCTAssertLessThan(partitions.count, before)
        for key in partitions { try store.compact(key) }
        XCTAssertEqual(store.segmentList.count, Set(all.map { PartitionKey(site: $0.site, ts: $0.ts) }).count)
        XCTAssertLessThan(store.segmentList.count, before)
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(all, site: "site_a"))
        XCTAssertTrue(EventStore.verify(directory: dir).isClean)
    }

    /// A merge takes at most `maxInputs` segments, the smallest (its memory is a block per
    /// input); repeated merges reach one segment with every row intact.
    func testCompactionMergesAtMostMaxInputsSmallestFirst() throws {
        let dir = makeTempDirectory("fanin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(seed: 11)
        let store = try EventStore.open(directory: dir)
        var all: [EventRecord] = []
        let base: Int64 = 1_767_225_600_000 // 2026-01-01, one month: one partition
        for k in 0..<12 {
            var b = randomEvents(k == 0 ? 3_000 : 50 + k, rng: &rng, sites: ["site_a"])
            for i in b.indices { b[i].ts = base + Int64(rng.next() % (20 * 86_400_000)) }
            try store.append(b)
            try store.flush()
            all += b
        }
        let key = try XCTUnwrap(store.segmentList.first?.partition)
        XCTAssertEqual(store.segmentList.count, 12)
        let largest = try XCTUnwrap(store.segmentList.max { $0.rows < $1.rows })
        let r = try store.compact(key, maxInputs: 5)
        XCTAssertEqual(r.segments, 5)
        XCTAssertEqual(store.segmentList.count, 8)
        XCTAssertTrue(store.segmentList.contains { $0.id == largest.id }, "the largest segment is not among the smallest five")
        while store.segmentList.count > 1 { try store.compact(key, maxInputs: 5) }
        XCTAssertEqual(store.segmentList.first?.rows, all.count)
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(all, site: "site_a"))
        XCTAssertTrue(EventStore.verify(directory: dir).isClean)
    }

    /// A file system that holds up the first segment write after `arm()` until `release()`.
    final class GatedFileSystem: FileSystemSeam, @unchecked Sendable {
        private let real = POSIXFileSystem()
        private let lock = NSLock()
        private var armed = false
        let holding = DispatchSemaphore(value: 0)
        private let gate = DispatchSemaphore(value: 0)

        func arm() { lock.withLock { armed = true } }
        func release() { gate.signal() }

        func openForWriting(_ path: String, extraFlags: Int32) throws -> Int32 {
            let hold = path.contains("/events/") && lock.withLock { () -> Bool in
                defer { armed = false }
                return armed
            }
            if hold {
                holding.signal()
                gate.wait()
            }
            return try real.openForWriting(path, extraFlags: extraFlags)
        }
        func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws { try real.write(fd, bytes, path: path) }
        func sync(_ fd: Int32, path: String) throws { try real.sync(fd, path: path) }
        func syncDirectory(_ dir: String) throws { try real.syncDirectory(dir) }
        func truncate(_ fd: Int32, size: Int, path: String) throws { try real.truncate(fd, size: size, path: path) }
        func rename(_ from: String, to: String) throws { try real.rename(from, to: to) }
        func unlink(_ path: String) throws { try real.unlink(path) }
        func close(_ fd: Int32) { real.close(fd) }
    }

    /// A compaction merges and writes without the lock flushes take (issue 13: a merge of a big
    /// partition held every flush — and the ingest path that flushes inline — for its whole
    /// duration). With the compaction's segment write held up, a flush still completes; the
    /// compaction then swaps in, and every row is there once.
    func testFlushDoesNotWaitForACompactionInProgress() throws {
        let fs = GatedFileSystem()
        let store = try EventStore.open(directory: dir, fileSystem: fs)
        var rng = SplitMix64(seed: 21)
        var all: [EventRecord] = []
        let ts: Int64 = 1_772_000_000_000
        for k in 0..<3 {
            var b = randomEvents(300, rng: &rng, sites: ["site_a"])
            for i in b.indices { b[i].ts = ts + Int64(k * 1000 + i) }
            try store.append(b)
            try store.flush()
            all += b
        }
        let key = PartitionKey(site: "site_a", ts: ts)
        XCTAssertEqual(store.segmentList.filter { $0.partition == key }.count, 3)
        fs.arm()
        let compacted = DispatchSemaphore(value: 0)
        Thread { _ = try? store.compact(key); compacted.signal() }.start()
        XCTAssertEqual(fs.holding.wait(timeout: .now() + 30), .success, "the compaction never wrote its segment")
        var more = randomEvents(200, rng: &rng, sites: ["site_a"])
        for i in more.indices { more[i].ts = ts + 5000 + Int64(i) }
        all += more
        let flushed = DispatchSemaphore(value: 0)
        let batch = more
        Thread { try? store.append(batch); try? store.flush(); flushed.signal() }.start()
        let flushedInTime = flushed.wait(timeout: .now() + 20)
        fs.release()
        XCTAssertEqual(flushedInTime, .success, "the flush waited for the compaction")
        XCTAssertEqual(compacted.wait(timeout: .now() + 30), .success)
        if flushedInTime != .success { _ = flushed.wait(timeout: .now() + 30) }
        // The merged segment and the flushed one.
        XCTAssertEqual(store.segmentList.filter { $0.partition == key }.count, 2)
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(all, site: "site_a"))
        try store.close()
        XCTAssertTrue(EventStore.verify(directory: dir).isClean)
    }

    /// An append that takes the memtable past `flushRows` flushes it itself by default; with
    /// `flushOnAppend` off (a server with a background flusher) appends leave it alone until
    /// twice `flushRows`, the memory bound. `writeTimings` counts commits, flushes and the
    /// inline ones.
    func testFlushOnAppendOffLeavesFlushingToTheFlusherUntilTwiceTheLimit() throws {
        var rng = SplitMix64(seed: 33)
        let ts: Int64 = 1_772_000_000_000
        func batch(_ n: Int, from: Int) -> [EventRecord] {
            var b = randomEvents(n, rng: &rng, sites: ["site_a"])
            for i in b.indices { b[i].ts = ts + Int64(from + i) }
            return b
        }
        var options = StoreOptions()
        options.flushRows = 100
        let inlineDir = dir + "/inline"
        let inline = try EventStore.open(directory: inlineDir, options: options)
        try inline.append(batch(60, from: 0))
        XCTAssertEqual(inline.writeTimings.inlineFlushes, 0)
        try inline.append(batch(60, from: 60))
        XCTAssertEqual(inline.writeTimings.inlineFlushes, 1, "the append past flushRows flushes")
        XCTAssertEqual(inline.memtableRows, 0)
        try inline.close()

        options.flushOnAppend = false
        let store = try EventStore.open(directory: dir + "/background", options: options)
        var all: [EventRecord] = []
        for k in 0..<3 {
            let b = batch(60, from: k * 60)
            try store.append(b)
            all += b
        }
        XCTAssertEqual(store.memtableRows, 180, "no flush below twice flushRows")
        XCTAssertEqual(store.writeTimings.flushes.count, 0)
        let b = batch(60, from: 180)
        try store.append(b)
        all += b
        let t = store.writeTimings
        XCTAssertEqual(t.inlineFlushes, 1, "at twice flushRows the append flushes: the memory bound")
        XCTAssertEqual(t.flushes.count, 1)
        XCTAssertEqual(t.commits.count, 4)
        XCTAssertGreaterThan(t.commits.sumSeconds, 0)
        XCTAssertEqual(store.memtableRows, 0)
        try store.flushIfNeeded()
        XCTAssertEqual(try scanRecords(store, site: "site_a"), expected(all, site: "site_a"))
        try store.close()
    }

    func testSecondOpenIsRefusedWithClearError() throws {
        let store = try EventStore.open(directory: dir)
        XCTAssertThrowsError(try EventStore.open(directory: dir)) { e in
            let err = e as? StorageError
            XCTAssertEqual(err?.code, .locked)
            XCTAssertTrue(err?.message.contains("in use") ?? false)
        }
        try store.close()
    }

    func testConcurrentWritersAreAllAcknowledgedOnce() throws {
        let store = try EventStore.open(directory: dir)
        let writers = 8, batches = 20
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            var rng = SplitMix64(seed: UInt64(100 + w))
            for b in 0..<batches {
                var evs = randomEvents(10, rng: &rng, sites: ["site_a"])
                for i in evs.indices { evs[i].value = Double(w * 100_000 + b * 100 + i) }
                try! store.append(evs)
            }
        }
        let rows = try scanRecords(store, site: "site_a")
        XCTAssertEqual(rows.count, writers * batches * 10)
        XCTAssertEqual(Set(rows.map(\.value)).count, rows.count)
    }

    func testDamagedSegmentIsReportedByOpenAndVerify() throws {
        var rng = SplitMix64(seed: 15)
        do {
            let store = try EventStore.open(directory: dir)
            try store.append(randomEvents(2000, rng: &rng, sites: ["site_a"]))
            try store.close()
        }
        let seg = try XCTUnwrap(EventStore.verify(directory: dir).isClean ? (try? Manifest.decode(FileSystem.readAll(dir + "/MANIFEST"), file: ""))?.segments.first : nil)
        let path = dir + "/" + seg.relativePath
        var bytes = try FileSystem.readAll(path)
        bytes[bytes.count / 2] ^= 0xFF
        try POSIXFileSystem().writeAtomically(path, bytes)
        let report = EventStore.verify(directory: dir)
        XCTAssertFalse(report.isClean)
        XCTAssertEqual(report.problems.first?.file, path)
        XCTAssertNotNil(report.problems.first?.offset)
    }
}
