// Micro benchmarks of ztas's hot paths (ordo-one/benchmark): segment encode and decode, NDJSON
// parsing and a 31-day summary query over an in-memory generated site.
//
// Run: `cd Benchmarks && swift package benchmark` (add `--filter <name>` for one).
// Besides wall clock, each benchmark records a custom `rows/s` (or `lines/s`) metric: the rows one
// iteration handles divided by the iteration's own elapsed time.
//
// The modules below the `ZTAEngine` product (ZTAFormat, ZTAQuery, ZTAStorage) are importable
// because the product builds them; the benchmarks use their public API only.

import Benchmark
import ZTAEngine
import ZTAFormat
import ZTAQuery
import ZTAStorage
import ZTAWorkloads

/// Events generated once and shared by every benchmark (about 460 bytes per NDJSON line).
private let sampleRows = 200_000

/// The big site's id (the generator puts ~70% of the events on its first site).
private let bigSite = "site_alpha"

/// Generated NDJSON lines, parsed into one chunk per site sorted by ts. Built lazily, once.
private final class Fixture: @unchecked Sendable {
    let ndjson: [UInt8]
    let bySite: [String: ColumnChunk]
    let segment: [UInt8]

    init() {
        ndjson = WorkloadGenerator(rows: sampleRows, seed: 42, sites: 3, days: 90).generate()
        var builder = ColumnChunkBuilder(capacity: sampleRows)
        var errors: [ImportLineError] = []
        let parser = NDJSONParser(siteRestriction: nil, importId: 1)
        _ = ndjson.withUnsafeBytes { parser.parse($0, firstLine: 1, into: &builder, errors: &errors) }
        precondition(errors.isEmpty, "generated lines must all parse: \(errors.prefix(3))")
        let all = builder.build()
        let sites = all.string(.site)!
        var bySite: [String: ColumnChunk] = [:]
        for (code, name) in sites.dictionary.values.enumerated() {
            let c = UInt32(code)
            bySite[name] = all.filtered { sites.codes[$0] == c }.sortedByTimestamp()
        }
        self.bySite = bySite
        segment = try! SegmentWriter.encode(bySite[bigSite]!, site: bigSite)
    }

    static let shared = Fixture()
}

/// Decodes every block of a segment image (all columns), returning the rows seen.
private func decodeAll(_ image: [UInt8]) throws -> Int {
    try image.withUnsafeBytes { raw in
        let reader = try SegmentReader(bytes: raw, file: "bench.zseg")
        var rows = 0
        for b in 0..<reader.blockCount {
            let chunk = try reader.decodeBlock(b, columns: .all)
            rows &+= chunk.count
            blackHole(chunk)
        }
        for c in StringColumns.all { blackHole(try reader.dictionary(c)) }
        return rows
    }
}

/// Records `count / elapsed` as a custom larger-is-better metric named `unit`.
private func timedRate(_ benchmark: Benchmark, _ unit: String, count: Int, _ body: () throws -> Void) rethrows {
    let clock = ContinuousClock()
    let t0 = clock.now
    try body()
    let d = (clock.now - t0).components
    let seconds = Double(d.seconds) + Double(d.attoseconds) * 1e-18
    benchmark.measurement(.custom(unit, polarity: .prefersLarger, useScalingFactor: false), Int(Double(count) / max(seconds, 1e-9)))
}

let benchmarks: @Sendable () -> Void = {
    let rowsPerSecond = BenchmarkMetric.custom("rows/s", polarity: .prefersLarger, useScalingFactor: false)
    let linesPerSecond = BenchmarkMetric.custom("lines/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(5),
        maxIterations: 50
    )
    let fixture = Fixture.shared
    let siteRows = fixture.bySite[bigSite]!.count
    let rowsMetrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .peakMemoryResident, rowsPerSecond]

    Benchmark("segment encode", configuration: .init(metrics: rowsMetrics)) { benchmark in
        let chunk = fixture.bySite[bigSite]!
        try timedRate(benchmark, "rows/s", count: siteRows) {
            blackHole(try SegmentWriter.encode(chunk, site: bigSite))
        }
    }

    Benchmark("segment decode, all columns", configuration: .init(metrics: rowsMetrics)) { benchmark in
        try timedRate(benchmark, "rows/s", count: siteRows) {
            blackHole(try decodeAll(fixture.segment))
        }
    }

    Benchmark("NDJSON parse",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, linesPerSecond])) { benchmark in
        var builder = ColumnChunkBuilder(capacity: sampleRows)
        var errors: [ImportLineError] = []
        let parser = NDJSONParser(siteRestriction: nil, importId: 1)
        timedRate(benchmark, "lines/s", count: sampleRows) {
            let r = fixture.ndjson.withUnsafeBytes { parser.parse($0, firstLine: 1, into: &builder, errors: &errors) }
            blackHole(r)
            blackHole(builder.build())
        }
    }

    // March 2026 (31 days inside the generated range, which ends 2026-04-15T00:00Z) with a month
    // interval, i.e. one bucket, every summary metric: stats-api's form of a range summary.
    let source = InMemoryEventSource(chunksBySite: [bigSite: [fixture.bySite[bigSite]!]])
    let engine = QueryEngine(source: source, threads: 2)
    let request = try! StatsAPIRequest.parse([
        "site_id": bigSite, "period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-31",
        "interval": "month", "metrics": "visitors,pageviews,sessions,bounce_rate,visit_duration,views_per_visit",
    ], timezone: "UTC", now: 1_776_211_200_000)
    // rows/s counts the rows inside the window (what the query has to look at).
    let windowRows = fixture.bySite[bigSite]!.ts.lazy.filter { $0 >= 1_772_323_200_000 && $0 < 1_775_001_600_000 }.count
    Benchmark("31-day summary, in memory", configuration: .init(metrics: rowsMetrics)) { benchmark in
        try timedRate(benchmark, "rows/s", count: windowRows) {
            blackHole(try engine.statsAPI(request))
        }
    }
}
