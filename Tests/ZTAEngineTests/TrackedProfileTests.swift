import Foundation
import Testing
import ZTAFormat
@testable import ZTAEngine
@testable import ZTAWorkloads

/// `ztas generate --profile tracked`: the shape of `conformance/events.ndjson.gz` (issue 13).
@Suite struct TrackedProfileTests {
    static let rows = 40_000
    static let bytes = WorkloadGenerator(rows: rows, seed: 11, sites: 3, days: 30, profile: .tracked).generate()

    @Test func deterministicAndDistinctFromSynthetic() {
        let again = WorkloadGenerator(rows: Self.rows, seed: 11, sites: 3, days: 30, profile: .tracked).generate()
        #expect(again == Self.bytes)
        let synthetic = WorkloadGenerator(rows: Self.rows, seed: 11, sites: 3, days: 30).generate()
        #expect(synthetic != Self.bytes)
        #expect(LineRanges.countLines(Self.bytes) == Self.rows)
    }

    @Test func importsCleanly() {
        var builder = ColumnChunkBuilder()
        var errors: [ImportLineError] = []
        let r = NDJSONParser(siteRestriction: nil, importId: 1).parse(Self.bytes, into: &builder, errors: &errors)
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        #expect(r.accepted == Self.rows)
        let chunk = builder.build()
        #expect(zip(chunk.ts, chunk.ts.dropFirst()).allSatisfy { $0 <= $1 })
        // Channels are derived where absent: all six occur, direct dominates.
        #expect(Set(chunk.string(.channel)!.dictionary.values) == Set(ChannelClassifier.Channel.allCases.map(\.name)))
    }

    @Test func mixSparsenessAndTimestampForms() throws {
        var types: [String: Int] = [:]
        var isoMs = 0, integer = 0, withChannel = 0, lengths = 0, scrollsWithDepth = 0
        var entrySeen = Set<String>()
        var visitorsSessions: [String: Set<String>] = [:]
        for line in Self.bytes.split(separator: 0x0A) {
            lengths += line.count + 1
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let type = try #require(o["type"] as? String)
            types[type, default: 0] += 1
            // Sparse: no field at its empty/zero default.
            for (k, v) in o {
                if let s = v as? String { #expect(!s.isEmpty, "empty \(k)") }
                if let n = v as? NSNumber, k != "ts" { #expect(n.doubleValue != 0, "zero \(k)") }
            }
            if o["ts"] is String {
                let s = o["ts"] as! String
                #expect(s.utf8.count == 24 && s.hasSuffix("Z") && s.contains("T") && s.contains("."), "\(s)")
                isoMs += 1
            } else {
                #expect((o["ts"] as? NSNumber)?.int64Value ?? 0 > 1_700_000_000_000)
                integer += 1
            }
            if o["channel"] != nil { withChannel += 1 }
            let visitor = try #require(o["visitor"] as? String), session = try #require(o["session"] as? String)
            #expect(visitor.hasPrefix("v") && visitor.utf8.count == 17 && session.hasPrefix("s") && session.utf8.count == 17)
            visitorsSessions[visitor, default: []].insert(session)
            // UTM only on a session's entry pageview; referrer only on pageviews.
            let entry = entrySeen.insert(session).inserted
            if o["utm_source"] != nil || o["utm_medium"] != nil || o["utm_campaign"] != nil {
                #expect(type == "pageview" && entry)
            }
            if o["referrer"] != nil { #expect(type == "pageview") }
            switch type {
            case "click": #expect(o["element"] != nil)
            case "scroll": if o["scroll_depth"] != nil { scrollsWithDepth += 1 }
            case "engagement": #expect(o["time_on_page"] != nil)
            case "move": #expect(o["element"] == nil)
            default: #expect(o["x"] == nil && o["element"] == nil)
            }
        }
        let n = Double(Self.rows)
        let expected: [String: Double] = ["pageview": 0.23, "scroll": 0.18, "heartbeat": 0.18, "engagement": 0.17,
                                          "click": 0.155, "move": 0.06, "event": 0.02]
        for (t, share) in expected {
            let got = Double(types[t] ?? 0) / n
            #expect(abs(got - share) < 0.02, "\(t): \(got) vs \(share)")
        }
        // A scroll omits its depth only at 0 (the top of the page).
        #expect(Double(scrollsWithDepth) > 0.9 * Double(types["scroll"] ?? 0))
        #expect(abs(Double(integer) / n - 0.25) < 0.02)
        #expect(abs(Double(isoMs) / n - 0.75) < 0.02)
        #expect(abs(Double(withChannel) / n - 0.5) < 0.02)
        let avg = Double(lengths) / n
        #expect(avg > 230 && avg < 310, "average line \(avg) bytes")
        // Visitors return: some over many sessions.
        let returning = visitorsSessions.values.filter { $0.count >= 2 }.count
        #expect(Double(returning) / Double(visitorsSessions.count) > 0.1)
        #expect(visitorsSessions.values.contains { $0.count >= 5 })
    }
}
