import Foundation
import XCTest
import ZTAEngine
import ZTAFormat
import ZTAStorage

/// SIGKILL a child process that ingests through the WAL at random moments; after reopening,
/// every acknowledged event must be present exactly once and `verify` must pass.
/// `ZTAS_SLOW_TESTS=1` runs many cycles instead of a few.
final class CrashRecoveryTests: XCTestCase {
    static var ztasBinary: URL {
        // Test bundles live next to the built products.
        var url = Bundle(for: CrashRecoveryTests.self).bundleURL
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("ztas")
    }

    private func writeEvents(_ n: Int, to path: String) throws {
        var s = ""
        let base: Int64 = 1_772_323_200_000
        for i in 0..<n {
            s += "{\"ts\":\(base + Int64(i) * 1000),\"site\":\"site_crash\",\"type\":\"pageview\",\"visitor\":\"v\(i % 97)\",\"session\":\"s\(i % 301)\",\"path\":\"/p/\(i % 13)\",\"value\":\(i)}\n"
        }
        try s.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Every `value` stored for the site, with multiplicity.
    private func storedValues(_ dir: String) throws -> [Int: Int] {
        let db = try Database(path: dir)
        defer { try? db.close() }
        let plan = try db.store.scanPlan(ScanRequest(site: "site_crash", from: .min, to: .max, columns: ColumnSet([.value])))
        var seen: [Int: Int] = [:]
        for t in plan.tasks {
            let c = try t.load()
            for v in c.value { seen[Int(v), default: 0] += 1 }
        }
        return seen
    }

    func testKilledIngestLosesNoAcknowledgedEvent() throws {
        let binary = Self.ztasBinary
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "ztas binary not built at \(binary.path)")
        let cycles = ProcessInfo.processInfo.environment["ZTAS_SLOW_TESTS"] == nil ? 3 : 40
        let work = NSTemporaryDirectory() + "ztas-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let dir = work + "/data"
        let batch = 25, perCycle = 4000
        var acknowledged = Set<Int>()
        var rng = SystemRandomNumberGenerator()
        for cycle in 0..<cycles {
            let file = work + "/events-\(cycle).ndjson"
            try writeEvents(perCycle, to: file)
            // Shift values so every cycle's events are distinct.
            let text = try String(contentsOfFile: file, encoding: .utf8)
            var shifted = ""
            for (i, line) in text.split(separator: "\n").enumerated() {
                shifted += line.replacingOccurrences(of: "\"value\":\(i)}", with: "\"value\":\(cycle * perCycle + i)}") + "\n"
            }
            try shifted.write(toFile: file, atomically: true, encoding: .utf8)

            let p = Process()
            p.executableURL = binary
            p.arguments = ["ingest", "--data", dir, "--batch", "\(batch)", "--writers", "3", "--acks", file]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Kill at a random moment after the first acknowledgement: a fixed delay from the
            // start acknowledged nothing at all when a loaded machine started the child slowly.
            let reader = out.fileHandleForReading
            var data = Data()
            while !String(decoding: data, as: UTF8.self).contains("ack ") {
                let chunk = reader.availableData
                if chunk.isEmpty { break }  // end of output: the child finished first
                data.append(chunk)
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.3, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            data.append(reader.readDataToEndOfFile())
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("ack ") {
                let f = line.split(separator: " ")
                guard f.count == 3, let i = Int(f[1]), let n = Int(f[2]) else { continue }
                for k in 0..<n { acknowledged.insert(cycle * perCycle + i * batch + k) }
            }
            let stored = try storedValues(dir)
            for v in acknowledged {
                XCTAssertEqual(stored[v], 1, "acknowledged event \(v) after cycle \(cycle)")
                if stored[v] != 1 { return }
            }
            XCTAssertTrue(stored.values.allSatisfy { $0 == 1 }, "an event is stored twice after cycle \(cycle)")
            let report = Database.verify(path: dir)
            XCTAssertTrue(report.isClean, "\(report.problems)")
        }
        XCTAssertGreaterThan(acknowledged.count, 0, "the child acknowledged nothing: kill times too short?")
    }
}
