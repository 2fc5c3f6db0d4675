import Foundation
import Testing
import ZTAFormat
@testable import ZTAEngine
import ZTATestSupport

/// Parses the shared conformance data set (200,000 lines, all valid) when it is present.
@Suite struct IngestConformanceTests {
    static let file: String? = ConformanceKit.available ? ConformanceKit.eventsPath : nil

    @Test(.enabled(if: file != nil, "conformance data absent"))
    func parsesEveryLine() throws {
        let input = try ImportInput(path: Self.file!)
        #expect(input.isCompressed)
        let parser = NDJSONParser(siteRestriction: nil, importId: 7)
        var builder = ColumnChunkBuilder()
        var errors: [ImportLineError] = []
        var accepted = 0, rejected = 0, lines = 0
        let spotLines = [1, 2, 3, 4, 9, 13, 1_000, 54_322, 123_457, 200_000]
        var spotText: [Int: [UInt8]] = [:]
        let clock = ContinuousClock()
        var parseTime = Duration.zero
        while let block = try input.nextBlock() {
            #expect(block.firstLine == lines + 1)
            var r = (accepted: 0, rejected: 0, lines: 0)
            parseTime += clock.measure {
                r = block.bytes.withUnsafeBytes {
                    parser.parse($0, firstLine: block.firstLine, into: &builder, errors: &errors)
                }
            }
            #expect(r.lines == block.lineCount)
            accepted += r.accepted
            rejected += r.rejected
            lines += r.lines
            for n in spotLines where n >= block.firstLine && n < block.firstLine + block.lineCount {
                spotText[n] = Self.line(n - block.firstLine, of: block.bytes)
            }
        }
        print("conformance parse: \(parseTime) for \(lines) lines")
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        #expect(rejected == 0)
        #expect(accepted == 200_000)
        #expect(lines == 200_000)

        // Spot checks against Foundation's JSON parser (every line is accepted, so row = line - 1).
        let chunk = builder.build()
        #expect(spotText.count == spotLines.count)
        for n in spotLines {
            let obj = try JSONSerialization.jsonObject(with: Data(spotText[n]!)) as! [String: Any]
            #expect(chunk.record(at: n - 1) == (try Self.reference(obj)), "line \(n)")
        }
    }

    /// The `index`-th line (0-based) of a block, without its newline.
    static func line(_ index: Int, of bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { buf -> [UInt8] in
            var start = 0
            for _ in 0..<index {
                let nl = memchr(buf.baseAddress! + start, 0x0A, buf.count - start)!
                start = UnsafeRawPointer(nl) - buf.baseAddress! + 1
            }
            let end = memchr(buf.baseAddress! + start, 0x0A, buf.count - start)
                .map { UnsafeRawPointer($0) - buf.baseAddress! } ?? buf.count
            return Array(buf[start..<end])
        }
    }

    /// The stored row for a line, computed with Foundation and the spec's rules.
    static func reference(_ o: [String: Any]) throws -> EventRecord {
        var r = EventRecord()
        if let ms = o["ts"] as? Int64, !(o["ts"] is Double && !(o["ts"] is Int)) {
            r.ts = ms
        } else {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            r.ts = Int64((f.date(from: o["ts"] as! String)!.timeIntervalSince1970 * 1000).rounded())
        }
        r.site = o["site"] as! String
        r.type = EventType(name: o["type"] as! String)!
        r.visitor = XXH64.hash(o["visitor"] as! String)
        r.session = XXH64.hash(o["session"] as! String)
        r.path = (o["path"] as? String) ?? "/"
        r.referrer = Referrer.normalized((o["referrer"] as? String) ?? "")
        r.utmSource = (o["utm_source"] as? String) ?? ""
        r.utmMedium = (o["utm_medium"] as? String) ?? ""
        r.utmCampaign = (o["utm_campaign"] as? String) ?? ""
        r.channel = (o["channel"] as? String)
            ?? ChannelClassifier.channel(referrer: r.referrer, utmSource: r.utmSource, utmMedium: r.utmMedium)
        for (key, col) in [("device", Column.device), ("browser", .browser), ("os", .os), ("country", .country),
                           ("region", .region), ("name", .name), ("category", .category), ("label", .label),
                           ("element", .element), ("text", .text)] {
            r.setString(col, (o[key] as? String) ?? "")
        }
        r.value = (o["value"] as? Double) ?? 0
        r.timeOnPage = Int32((o["time_on_page"] as? Int) ?? 0)
        r.x = Int32((o["x"] as? Int) ?? 0)
        r.y = Int32((o["y"] as? Int) ?? 0)
        r.scrollDepth = Int8((o["scroll_depth"] as? Int) ?? 0)
        r.importId = 7
        return r
    }
}
