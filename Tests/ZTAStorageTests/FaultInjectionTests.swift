import Foundation
import XCTest
import ZTAFormat
import ZTAWorkloads
@testable import ZTAStorage

/// Faults through the store's file-system seam: a failure or a crash before or after every
/// write, fsync, rename and unlink of a flush, a compaction, a deletion and an import. Each
/// time the directory must reopen to the state before the operation or after it — never in
/// between — with no acknowledged event lost and every file readable.
final class FaultInjectionTests: XCTestCase {
    var root = ""

    override func setUp() { root = makeTempDirectory("faults") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// The rows of every site as canonical records (comparable across segment/memtable layouts).
    private func contents(_ store: EventStore) throws -> [EventRecord] {
        var out: [EventRecord] = []
        for site in store.sites() {
            for t in try store.scanPlan(ScanRequest(site: site, from: .min, to: .max, columns: .all)).tasks {
                let c = try t.load()
                for i in 0..<c.count { var r = c.record(at: i); r.site = site; out.append(r) }
            }
        }
        return out.sorted { ($0.site, $0.ts, $0.visitor, $0.value) < ($1.site, $1.ts, $1.visitor, $1.value) }
    }

    private func copyDirectory(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// One operation under test: how to set up the directory, and what to run on it.
    private struct Scenario {
        var name: String
        var setup: (EventStore) throws -> Void
        var operation: (EventStore) throws -> Void
    }

    private var scenarios: [Scenario] {
        var rng = SplitMix64(seed: 42)
        let first = randomEvents(120, rng: &rng)
        let second = randomEvents(80, rng: &rng)
        let imported = randomEvents(60, rng: &rng, importId: 7)
        return [
            Scenario(name: "flush", setup: { try $0.append(first) }, operation: { try $0.flush() }),
            Scenario(name: "compaction", setup: { s in
                try s.append(first); try s.flush(); try s.append(second); try s.flush()
            }, operation: { s in
                for key in Set(s.segmentList.map(\.partition)) { try s.compact(key) }
            }),
            Scenario(name: "deletion", setup: { s in
                try s.append(first); try s.flush(); try s.importBatch([ColumnChunk.from(records: imported)])
            }, operation: { s in try s.delete(site: "site_a", .importId(7)) }),
            Scenario(name: "import", setup: { s in try s.append(first); try s.flush() },
                     operation: { s in _ = try s.allocateImportId(); try s.importBatch([ColumnChunk.from(records: imported)]) }),
            Scenario(name: "append", setup: { s in try s.append(first) }, operation: { s in try s.append(second) }),
        ]
    }

    func testEveryFaultLeavesBeforeOrAfter() throws {
        var cases = 0
        for sc in scenarios {
            let base = root + "/\(sc.name)-base"
            do {
                // Dropped, not closed: what the setup appended last stays in the WAL only.
                let s = try EventStore.open(directory: base)
                try sc.setup(s)
            }
            let before = try contents(try reopened(base))
            // A clean run: the after state and the number of calls the operation makes.
            let clean = root + "/\(sc.name)-clean"
            try copyDirectory(base, clean)
            let counter = FaultInjectingFileSystem()
            var calls = 0
            do {
                let s = try EventStore.open(directory: clean, fileSystem: counter)
                let opened = counter.callCount
                try sc.operation(s)
                calls = counter.callCount - opened
                try s.close()
            }
            let after = try contents(try reopened(clean))
            XCTAssertGreaterThan(calls, 0, sc.name)

            for k in 0..<calls {
                for fault in [FaultInjectingFileSystem.Fault.fail(EIO), .crashBefore, .crashAfter] {
                    cases += 1
                    let dir = root + "/\(sc.name)-\(k)"
                    try copyDirectory(base, dir)
                    let fs = FaultInjectingFileSystem()
                    var acknowledged = true
                    do {
                        let s = try EventStore.open(directory: dir, fileSystem: fs)
                        fs.inject(fault, atCall: fs.callCount + k)
                        do { try sc.operation(s) } catch { acknowledged = false }
                        // A failed (not crashed) store is closed as a program would; a crashed
                        // one is simply dropped.
                        if !fs.crashed { try? s.close() }
                    }
                    let label = "\(sc.name): \(fault) at call \(k) (\(fs.log.count > 0 ? "\(fs.log[min(fs.log.count - 1, k)])" : ""))"
                    let report = EventStore.verify(directory: dir)
                    XCTAssertTrue(report.isClean, "\(label): \(report.problems)")
                    let got = try contents(try reopened(dir))
                    if acknowledged {
                        XCTAssertEqual(got, after, "\(label): acknowledged, so the after state")
                    } else {
                        XCTAssertTrue(got == before || got == after, "\(label): \(got.count) rows, before \(before.count), after \(after.count)")
                    }
                    try? FileManager.default.removeItem(atPath: dir)
                }
            }
        }
        XCTAssertGreaterThan(cases, 100)
        print("fault injection: \(cases) cases")
    }

    private func reopened(_ dir: String) throws -> EventStore {
        try EventStore.open(directory: dir)
    }

    /// A full disk under appends: the failed append is refused and undone, the store keeps
    /// taking writes once space returns, and nothing acknowledged is lost.
    func testFullDiskRefusesThenResumes() throws {
        var rng = SplitMix64(seed: 5)
        let a = randomEvents(100, rng: &rng), b = randomEvents(100, rng: &rng), c = randomEvents(100, rng: &rng)
        let dir = root + "/enospc"
        let fs = FaultInjectingFileSystem()
        do {
            let s = try EventStore.open(directory: dir, fileSystem: fs)
            try s.append(a)
            fs.diskFull = true
            XCTAssertThrowsError(try s.append(b)) { e in
                XCTAssertEqual((e as? StorageError)?.code, .unavailable, "\(e)")
            }
            fs.diskFull = false
            try s.append(c)
            // Dropped without close: the acknowledged events live only in the WAL.
        }
        let got = try contents(try reopened(dir))
        XCTAssertEqual(got.count, 200)
        XCTAssertEqual(got, try contents(try { () -> EventStore in
            let d = root + "/enospc-ref"
            let s = try EventStore.open(directory: d)
            try s.append(a); try s.append(c)
            return s
        }()))
    }
}
