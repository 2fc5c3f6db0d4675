import Foundation
import ZTAWorkloads
@testable import ZTAFormat
import ZTATestSupport


/// Random rows with the awkward values the format must survive.
enum RandomRows {
    static let strings = ["", "/", "/a", "/pricing", "é", "e\u{301}", "日本語", "🙂", "a\u{0}b", String(repeating: "x", count: 300), "Z", "z"]

    static func records(_ n: Int, rng: inout SplitMix64, site: String = "site_x", extreme: Bool = true) -> [EventRecord] {
        var ts = Int64(1_700_000_000_000)
        var out: [EventRecord] = []
        out.reserveCapacity(n)
        let sessions = (0..<max(1, n / 8)).map { _ in rng.next() }
        for _ in 0..<n {
            var r = EventRecord()
            ts += Int64(rng.next() % 4 == 0 ? rng.next() % 100_000 : rng.next() % 50)
            r.ts = ts
            r.site = site
            r.type = EventType(rawValue: UInt8(rng.next() % 7))!
            let s = Int(rng.next() % UInt64(sessions.count))
            r.session = sessions[s]
            r.visitor = sessions[s] &* 3
            for c in StringColumns.all where c != .site {
                r.setString(c, rng.next() % 3 == 0 ? strings[Int(rng.next() % UInt64(strings.count))] : "")
            }
            r.value = [0, 1.5, -0.0, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, Double(rng.next() % 1000) / 7][Int(rng.next() % 8)]
            r.timeOnPage = Int32(truncatingIfNeeded: rng.next() % 2 == 0 ? 0 : rng.next())
            r.x = Int32(truncatingIfNeeded: rng.next() % 1500)
            r.y = [Int32.min, Int32.max, 0, -1, Int32(rng.next() % 5000)][Int(rng.next() % 5)]
            r.scrollDepth = [Int8.min, Int8.max, 0, 100, Int8(rng.next() % 101)][Int(rng.next() % 5)]
            r.importId = [0, 1, UInt32.max][Int(rng.next() % 3)]
            if extreme && rng.next() % 50 == 0 {
                r.visitor = [0, UInt64.max, 1 << 63][Int(rng.next() % 3)]
            }
            out.append(r)
        }
        return out
    }
}

/// The conformance kit's events (`ConformanceKit`) as one chunk per site, sorted by ts, marked as
/// one import (import id 1), as `ztas import` would store them.
enum ConformanceData {
    static var available: Bool { ConformanceKit.available }

    /// Built once per test process.
    nonisolated(unsafe) private static var cache: [(site: String, chunk: ColumnChunk)]?
    private static let cacheLock = NSLock()

    static func cachedChunksBySite() throws -> [(site: String, chunk: ColumnChunk)] {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let c = cache { return c }
        let c = try ConformanceKit.recordsBySite().keys.sorted().map { site in
            var records = try ConformanceKit.recordsBySite()[site] ?? []
            for k in records.indices { records[k].importId = 1 }
            return (site, ColumnChunk.from(records: records).sortedByTimestamp())
        }
        cache = c
        return c
    }
}

/// Runs `body` over the bytes of `image` as the storage layer would hand them over.
func withReader<R>(_ image: [UInt8], file: String = "test.zseg", _ body: (SegmentReader) throws -> R) throws -> R {
    try image.withUnsafeBytes { try body(try SegmentReader(bytes: $0, file: file)) }
}
