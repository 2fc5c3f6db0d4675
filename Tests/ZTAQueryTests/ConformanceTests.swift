import ZTAWorkloads
import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
@testable import ZTAQuery
import ZTATestSupport

/// Runs every query of the shared conformance kit (stats-api, stats, heatmap, export) against the
/// kit's 200k events loaded into an `InMemoryEventSource`, comparing with the README's rules.
final class ConformanceTests: XCTestCase {
    /// Loaded once for the whole class (decompressing and parsing 200k lines takes a few seconds).
    nonisolated(unsafe) static var cached: InMemoryEventSource?

    /// The kit's events, each site's rows cut into 7 chunks at random points.
    static func loadSource() throws -> InMemoryEventSource? {
        if let c = cached { return c }
        guard ConformanceKit.available else { return nil }
        var rng = SplitMix64(seed: 42)
        var chunks: [String: [ColumnChunk]] = [:]
        for (site, recs) in try ConformanceKit.recordsBySite().sorted(by: { $0.key < $1.key }) {
            chunks[site] = makeChunks(recs, rng: &rng, pieces: 7)
        }
        let s = InMemoryEventSource(chunksBySite: chunks)
        cached = s
        return s
    }

    func testAllConformanceQueries() throws {
        guard let source = try Self.loadSource() else { throw XCTSkip("conformance kit not found at \(ConformanceKit.directory.path)") }
        let queries = try ConformanceKit.queries()
        let only = ProcessInfo.processInfo.environment["ZTAS_ONLY"]
        for threads in [1, 2] {
            let engine = QueryEngine(source: source, threads: threads)
            var passed = 0, failed: [String] = []
            for q in queries {
                let id = q["id"] as! String
                if let only, !only.split(separator: ",").contains(Substring(id)) { continue }
                do {
                    let body = try ConformanceKit.run(q, engine: engine)
                    var diffs: [String] = []
                    compareJSON(q["expected"]!, try parseJSON(body), "", &diffs)
                    if diffs.isEmpty { passed += 1 } else {
                        failed.append(id)
                        XCTFail("[\(threads) threads] \(id):\n  " + diffs.prefix(15).joined(separator: "\n  "))
                    }
                } catch {
                    failed.append(id)
                    XCTFail("[\(threads) threads] \(id): threw \(error)")
                }
            }
            print("conformance (\(threads) threads): \(passed) passed, \(failed.count) failed \(failed)")
        }
    }
}
