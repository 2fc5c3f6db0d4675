import Foundation
import Testing
@testable import ZTAFormat

/// Storage size and speed on the conformance data set. Prints numbers; asserts only round trips
/// (timings are never asserted). Run with `swift test -c release --filter ConformanceSizeTests`.
@Suite struct ConformanceSizeTests {
    @Test(.enabled(if: ConformanceData.available)) func bytesPerEvent() throws {
        let sites = try ConformanceData.chunksBySite()
        var totalRows = 0, totalBytes = 0
        var perColumn = [Int](repeating: 0, count: Column.allCases.count)
        var encodeSeconds = 0.0, decodeSeconds = 0.0, decodedBytes = 0
        for (site, chunk) in sites {
            // One segment per site and month, as the storage layer partitions.
            var months: [Int64: [Int]] = [:]
            for (i, t) in chunk.ts.enumerated() { months[civilMonth(t), default: []].append(i) }
            for key in months.keys.sorted() {
                let rows = Set(months[key]!)
                let part = chunk.filtered { rows.contains($0) }
                let t0 = Date()
                let image = try SegmentWriter.encode(part, site: site)
                encodeSeconds += Date().timeIntervalSince(t0)
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
                    let t1 = Date()
                    for b in 0..<r.blockCount {
                        let c = try r.decodeBlock(b, columns: ColumnSet([.ts, .path]))
                        decodedBytes += c.count * 12
                    }
                    decodeSeconds += Date().timeIntervalSince(t1)
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
        print(String(format: "encode %.0f rows/s; decode ts+path %.0f rows/s, %.2f GB/s", Double(totalRows) / encodeSeconds,
                     Double(totalRows) / decodeSeconds, Double(decodedBytes) / decodeSeconds / 1e9))
        #expect(totalRows == 200_000)
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
