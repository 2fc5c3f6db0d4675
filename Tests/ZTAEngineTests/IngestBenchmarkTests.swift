import Foundation
import Testing
import ZTAFormat
@testable import ZTAEngine
import ZTAWorkloads

/// Throughput of generation and parsing; prints numbers, asserts nothing about time.
/// Runs only with `ZTA_BENCH=1` (use a release build: `swift test -c release --filter IngestBenchmark`).
/// `ZTA_BENCH_ROWS` sets the size (default 1,000,000), `ZTA_BENCH_DUMP=path` keeps the generated file.
@Suite struct IngestBenchmarkTests {
    static let enabled = ProcessInfo.processInfo.environment["ZTA_BENCH"] == "1"

    @Test(.enabled(if: enabled)) func generateAndParse() throws {
        let env = ProcessInfo.processInfo.environment
        let rows = Int(env["ZTA_BENCH_ROWS"] ?? "") ?? 1_000_000
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows * 480)
        let g = WorkloadGenerator(rows: rows, seed: 1)
        let genCPU0 = Self.threadCPUSeconds()
        let genTime = clock.measure { g.write { bytes.append(contentsOf: $0) } }
        let genCPU = Self.threadCPUSeconds() - genCPU0
        if let dump = env["ZTA_BENCH_DUMP"] { try Data(bytes).write(to: URL(fileURLWithPath: dump)) }

        let parser = NDJSONParser(siteRestriction: nil, importId: 1)
        var best = Duration.seconds(1000)
        var bestCPU = Double.infinity
        for _ in 0..<3 {
            var builder = ColumnChunkBuilder(capacity: rows)
            var errors: [ImportLineError] = []
            let cpu0 = Self.threadCPUSeconds()
            let t = clock.measure {
                let r = bytes.withUnsafeBytes { parser.parse($0, firstLine: 1, into: &builder, errors: &errors) }
                precondition(r.accepted == rows)
            }
            best = min(best, t)
            bestCPU = min(bestCPU, Self.threadCPUSeconds() - cpu0)
        }
        let mb = Double(bytes.count) / 1e6
        func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        print(String(format: "generate: %d lines, %.1f MB (%.0f B/line) in %.3f s = %.0f lines/s, %.0f MB/s",
                     rows, mb, Double(bytes.count) / Double(rows), secs(genTime), Double(rows) / secs(genTime),
                     mb / secs(genTime)))
        print(String(format: "generate thread CPU time: %.3f s = %.0f lines/s", genCPU, Double(rows) / genCPU))
        print(String(format: "parse (1 core, best of 3): %.3f s = %.0f lines/s, %.0f MB/s",
                     secs(best), Double(rows) / secs(best), mb / secs(best)))
        print(String(format: "parse thread CPU time (best of 3): %.3f s = %.0f lines/s, %.0f MB/s",
                     bestCPU, Double(rows) / bestCPU, mb / bestCPU))
    }

    /// Reading (gunzip) and parsing the conformance file, one thread.
    @Test(.enabled(if: enabled && IngestConformanceTests.file != nil)) func gzipImportOfConformanceFile() throws {
        var readCPU = 0.0, parseCPU = 0.0
        var bytes = 0, lines = 0
        let input = try ImportInput(path: IngestConformanceTests.file!)
        let parser = NDJSONParser(siteRestriction: nil, importId: 1)
        var builder = ColumnChunkBuilder()
        var errors: [ImportLineError] = []
        while true {
            let t0 = Self.threadCPUSeconds()
            guard let block = try input.nextBlock() else { break }
            let t1 = Self.threadCPUSeconds()
            let r = block.bytes.withUnsafeBytes { parser.parse($0, firstLine: block.firstLine, into: &builder, errors: &errors) }
            let t2 = Self.threadCPUSeconds()
            readCPU += t1 - t0
            parseCPU += t2 - t1
            bytes += block.bytes.count
            lines += r.lines
        }
        let mb = Double(bytes) / 1e6
        print(String(format: "conformance import: %d lines, %.1f MB; gunzip %.3f s CPU (%.0f MB/s), parse %.3f s CPU (%.0f lines/s, %.0f MB/s)",
                     lines, mb, readCPU, mb / readCPU, parseCPU, Double(lines) / parseCPU, mb / parseCPU))
    }

    /// CPU time of the calling thread: unlike wall time, not inflated when other processes
    /// compete for the cores.
    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
