import Foundation
import Testing
import ZTAFormat
@testable import ZTAEngine
@testable import ZTAWorkloads

@Suite struct WorkloadGeneratorTests {
    @Test func sameSeedSameBytes() {
        let a = WorkloadGenerator(rows: 5_000, seed: 42).generate()
        let b = WorkloadGenerator(rows: 5_000, seed: 42).generate()
        let c = WorkloadGenerator(rows: 5_000, seed: 43).generate()
        #expect(a == b)
        #expect(a != c)
        #expect(LineRanges.countLines(a) == 5_000)
    }

    @Test func everyLineImportsAndDistributionsLookRight() throws {
        let rows = 60_000
        let g = WorkloadGenerator(rows: rows, seed: 7, sites: 3, days: 30)
        let bytes = g.generate()
        #expect(bytes.last == 0x0A)
        var builder = ColumnChunkBuilder()
        var errors: [ImportLineError] = []
        let r = NDJSONParser(siteRestriction: nil, importId: 1).parse(bytes, into: &builder, errors: &errors)
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        #expect(r.accepted == rows)
        #expect(r.lines == rows)
        let chunk = builder.build()

        // Average line length near 460 bytes.
        let avg = Double(bytes.count) / Double(rows)
        #expect(avg > 400 && avg < 520, "average line \(avg) bytes")

        // The big site carries ~70%.
        let sites = chunk.string(.site)!
        var perSite = [Int](repeating: 0, count: sites.dictionary.count)
        for c in sites.codes { perSite[Int(c)] += 1 }
        let alpha = sites.dictionary.values.firstIndex(of: "site_alpha")!
        let share = Double(perSite[alpha]) / Double(rows)
        #expect(share > 0.6 && share < 0.8, "site_alpha share \(share)")
        #expect(Set(sites.dictionary.values) == Set(g.siteIds))

        // Time order and range.
        #expect(zip(chunk.ts, chunk.ts.dropFirst()).allSatisfy { $0 <= $1 })
        let start = g.endMs - Int64(g.days) * 86_400_000
        #expect(chunk.ts.first! >= start)
        #expect(chunk.ts.last! < g.endMs + 86_400_000)
        #expect(chunk.ts.last! > g.endMs - 5 * 86_400_000, "the range is filled")

        // Daily cycle: site_alpha's audience is on UTC; its afternoon beats its small hours.
        var byHour = [Int](repeating: 0, count: 24)
        for i in 0..<rows where sites.codes[i] == UInt32(alpha) && chunk.type[i] == EventType.pageview.rawValue {
            byHour[Int(chunk.ts[i] / 3_600_000 % 24)] += 1
        }
        let day = byHour[9...17].reduce(0, +), night = byHour[0...5].reduce(0, +)
        #expect(Double(day) / 9 > 3 * Double(night) / 6, "\(byHour)")

        // Every event type occurs; pageviews are common; clicks stay in their viewport.
        var types = [Int](repeating: 0, count: EventType.allCases.count)
        for t in chunk.type { types[Int(t)] += 1 }
        #expect(types.allSatisfy { $0 > 0 }, "\(types)")
        #expect(Double(types[0]) / Double(rows) > 0.1)
        let device = chunk.string(.device)!
        let width: [String: Int32] = ["desktop": 1280, "tablet": 768, "mobile": 375]
        for i in 0..<rows where chunk.type[i] == EventType.click.rawValue {
            let w = width[device.dictionary.values[Int(device.codes[i])]]!
            #expect(chunk.x[i] >= 0 && chunk.x[i] < w)
            #expect(chunk.y[i] >= 0)
        }
        #expect(chunk.scrollDepth.allSatisfy { $0 >= 0 && $0 <= 100 })

        // Channels: all six occur; direct dominates (most events are not a session's first).
        let channels = Set(chunk.string(.channel)!.dictionary.values)
        #expect(channels == Set(ChannelClassifier.Channel.allCases.map(\.name)))
        // Referrers were normalised (the generator writes some with www. and capitals).
        let referrers = chunk.string(.referrer)!.dictionary.values
        #expect(!referrers.contains { $0.hasPrefix("www.") || $0 != $0.lowercased() })
        #expect(referrers.contains("google.com"))
    }

    /// The channel the generator writes for each acquisition is the one §4 derives.
    @Test func catalogChannelsMatchTheClassifier() {
        for a in WorkloadCatalog.acquisitions {
            let derived = ChannelClassifier.channel(referrer: Referrer.normalized(a.referrer), utmSource: a.utmSource,
                                                    utmMedium: a.utmMedium)
            #expect(derived == a.channel, "\(a.referrer) \(a.utmSource) \(a.utmMedium)")
        }
    }

    /// Lines carrying `channel` and lines without it agree: the written value is the derived one.
    @Test func writtenChannelEqualsDerived() throws {
        let bytes = WorkloadGenerator(rows: 20_000, seed: 3).generate()
        var checked = 0
        for line in bytes.split(separator: 0x0A) {
            let o = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            guard let written = o["channel"] as? String else { continue }
            let derived = ChannelClassifier.channel(
                referrer: Referrer.normalized(o["referrer"] as? String ?? ""),
                utmSource: o["utm_source"] as? String ?? "", utmMedium: o["utm_medium"] as? String ?? "")
            #expect(written == derived)
            checked += 1
        }
        #expect(checked > 5_000)
    }
}
