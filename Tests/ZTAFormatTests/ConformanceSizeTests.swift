import Foundation
import Testing
@testable import ZTAFormat

/// Storage size and speed on the conformance data set. Prints numbers; asserts round trips and
/// the ≤ 12 bytes/event target, never timings. For the speed numbers run (release, testable):
///
///     ZTAS_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ConformanceSizeTests
@Suite(.serialized) struct ConformanceSizeTests {
    static let benchEnabled = ConformanceData.available && ProcessInfo.processInfo.environment["ZTAS_BENCH"] == "1"

    @Test(.enabled(if: ConformanceData.available)) func bytesPerEvent() throws {
        let sites = try ConformanceData.cachedChunksBySite()
        var totalRows = 0, totalBytes = 0
        var perColumn = [Int](repeating: 0, count: Column.allCases.count)
        for (site, chunk) in sites {
            // One segment per site and month, as the storage layer partitions.
            var months: [Int64: [Int]] = [:]
            for (i, t) in chunk.ts.enumerated() { months[civilMonth(t), default: []].append(i) }
            for key in months.keys.sorted() {
                let rows = Set(months[key]!)
                let part = chunk.filtered { rows.contains($0) }
                let image = try SegmentWriter.encode(part, site: site)
                totalRows += part.count
                totalBytes += image.count
                try withReader(image) { r in
                    for b in 0..<r.blockCount {
                        for c in Column.allCases {
                            let m = r.footer.blocks[b].columns[Int(c.rawValue)]
                            perColumn[Int(c.rawValue)] += m.storedLength
                        }
                    }
                    for (k, d) in r.footer.dictionaries.enumerated() { perColumn[Int(StringColumns.all[k].rawValue)] += d.storedLength }
                    let back = try r.decodeBlock(0, columns: .all)
                    #expect(back.ts == Array(part.ts.prefix(back.count)))
                    #expect(back.session == Array(part.session.prefix(back.count)))
                    if key == months.keys.sorted().first { print(r.describe()) }
                }
            }
        }
        print(String(format: "conformance: %d events, %d bytes, %.2f bytes/event", totalRows, totalBytes, Double(totalBytes) / Double(totalRows)))
        for c in Column.allCases {
            print(String(format: "  %-14@ %9d B  %.3f B/event", c.wireName as NSString, perColumn[Int(c.rawValue)], Double(perColumn[Int(c.rawValue)]) / Double(totalRows)))
        }
        #expect(totalRows == 200_000)
        #expect(Double(totalBytes) / Double(totalRows) <= 12, "storage target: ≤ 12 bytes/event")
    }

    /// Encode and decode speed on one full 65536-row block of the busiest site.
    @Test(.enabled(if: benchEnabled)) func blockThroughput() throws {
        let alpha = try ConformanceData.cachedChunksBySite().first { $0.site == "site_alpha" }!.chunk
        let part = alpha.filtered { $0 < 65536 }
        var t0 = Date()
        let rounds = 5
        var image: [UInt8] = []
        for _ in 0..<rounds { image = try SegmentWriter.encode(part, site: "site_alpha") }
        let encodeSeconds = Date().timeIntervalSince(t0) / Double(rounds)
        try withReader(image) { r in
            #expect(r.blockCount == 1)
            let decodeRounds = 200
            // Cold: a fresh reader per round, so every chunk checksum is verified.
            t0 = Date()
            try image.withUnsafeBytes { raw in
                for _ in 0..<decodeRounds { _ = try SegmentReader(bytes: raw, file: "").decodeBlock(0, columns: ColumnSet([.ts, .path])) }
            }
            let cold = Date().timeIntervalSince(t0)
            print(String(format: "decode ts+path, fresh reader (checksums verified): %.1f M rows/s, %.2f GB/s decoded",
                         Double(65536 * decodeRounds) / cold / 1e6, Double(65536 * decodeRounds * 12) / cold / 1e9))
            for (label, set, width) in [("ts+path", ColumnSet([.ts, .path]), 12), ("ts", ColumnSet([.ts]), 8),
                                        ("path", ColumnSet([.path]), 4), ("all columns", ColumnSet.all, 0)] {
                t0 = Date()
                var rows = 0
                for _ in 0..<decodeRounds { rows += try r.decodeBlock(0, columns: set).count }
                let seconds = Date().timeIntervalSince(t0)
                print(String(format: "decode %@, same reader: %.1f M rows/s%@", label as NSString, Double(rows) / seconds / 1e6,
                             width > 0 ? String(format: ", %.2f GB/s decoded", Double(rows * width) / seconds / 1e9) as NSString : "" as NSString))
            }
            t0 = Date()
            try r.verify()
            print(String(format: "verify: %.1f M rows/s", 65536 / Date().timeIntervalSince(t0) / 1e6))
        }
        print(String(format: "encode: %.0f rows/s (%d bytes, %.2f B/row)", 65536 / encodeSeconds, image.count, Double(image.count) / 65536))
    }

    /// Year × 12 + month of a UTC ms timestamp (Hinnant's civil_from_days).
    func civilMonth(_ ms: Int64) -> Int64 {
        let z = (ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return y * 12 + m
    }
}
