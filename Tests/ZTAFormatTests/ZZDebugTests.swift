import Foundation
import Testing
@testable import ZTAFormat

@Suite struct ZZDebugTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ZTAS_DEBUG"] == "1")) func candidates() throws {
        let sites = try ConformanceData.chunksBySite()
        let alpha = sites.first { $0.site == "site_alpha" }!.chunk
        let n = 65536
        let start = alpha.count / 2 - n / 2
        for c in [Column.ts, .visitor, .session, .path, .x, .y, .timeOnPage, .scrollDepth, .type, .region] {
            var remap: [UInt32]? = nil
            if c.kind == .string { remap = SegmentDictionaryCodec.build(alpha.string(c)!).remap }
            let lanes = ColumnLanes.lanes(alpha, c, start..<(start + n), remap: remap)
            var line = "\(c.wireName):"
            lanes.withUnsafeBufferPointer { l in
                for e in ChunkEncoding.allCases {
                    guard let p = ChunkEncoder.payload(e, l, kind: c.kind) else { continue }
                    let z = p.withUnsafeBytes { LZ4Codec.compress($0) }
                    line += " \(e.name)=\(p.count)/\(z.count)"
                }
            }
            print(line)
        }
    }
}
