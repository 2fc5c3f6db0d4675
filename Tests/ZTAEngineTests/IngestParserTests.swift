import Foundation
import Testing
import ZTAFormat
import ZTATestSupport
import ZTAWorkloads
@testable import ZTAEngine

/// NDJSON import lines (`events.md` §2): acceptance, rejection reasons, JSON corner cases.
@Suite struct IngestParserTests {
    static let base = #""ts":"2026-03-01T12:34:56.789Z","site":"site_a","type":"pageview","visitor":"v1","session":"s1""#

    struct Result {
        var accepted: Int
        var rejected: Int
        var lines: Int
        var errors: [ImportLineError]
        var chunk: ColumnChunk
        func record(_ i: Int) -> EventRecord { chunk.record(at: i) }
    }

    static func parse(_ text: String, site: String? = nil, importId: UInt32 = 9, firstLine: Int = 1) -> Result {
        var builder = ColumnChunkBuilder()
        var errors: [ImportLineError] = []
        let r = NDJSONParser(siteRestriction: site, importId: importId)
            .parse(Array(text.utf8), firstLine: firstLine, into: &builder, errors: &errors)
        return Result(accepted: r.accepted, rejected: r.rejected, lines: r.lines, errors: errors, chunk: builder.build())
    }

    /// The reason a single line is rejected, or nil when it is accepted.
    static func reason(_ line: String) -> String? {
        let r = parse(line)
        return r.errors.first?.error
    }

    static func one(_ extra: String) -> EventRecord? {
        let r = parse("{\(base)\(extra)}")
        return r.accepted == 1 ? r.record(0) : nil
    }

    @Test func mixedFileRejectsExactlyTheBadLines() {
        let lines = [
            "{\(Self.base),\"path\":\"/ok\"}",                                            // 1 ok
            "{\"ts\":",                                                                   // 2
            "",                                                                           // 3 blank
            #"{"site":"site_a","type":"pageview","visitor":"v","session":"s"}"#,          // 4
            "{\(Self.base),\"x\":\"12\"}",                                                // 5
            #"{"ts":1772368496789,"site":"site_a","type":"foo","visitor":"v","session":"s"}"#,  // 6
            #"{"ts":"1999-12-31T23:59:59.999Z","site":"site_a","type":"click","visitor":"v","session":"s"}"#, // 7
            "{\(Self.base),\"path\":\"/crlf\"}\r",                                        // 8 ok (CRLF)
            "[1,2,3]",                                                                    // 9
            #"{"ts":1772368496789,"site":"site_a","type":"click","visitor":"v"}"#,        // 10
            "{\(Self.base),\"extra\":{\"a\":[1,{\"b\":null}],\"c\":\"}\"},\"more\":[true,false,-1.5e3]}", // 11 ok
            "{\(Self.base)} trailing",                                                     // 12
            "{\(Self.base),\"x\":1.5}",                                                   // 13
            "{\(Self.base),\"scroll_depth\":101}",                                        // 14
            #"{"ts":1772368496789,"site":"site_a","type":"click","visitor":"","session":"s"}"#, // 15
            #"{"ts":"2026-13-01T00:00:00Z","site":"site_a","type":"click","visitor":"v","session":"s"}"#, // 16
            #"{"ts":1772368496789,"site":5,"type":"click","visitor":"v","session":"s"}"#, // 17
            "   \t ",                                                                     // 18 blank
            "{\(Self.base),\"path\":\"/last\"}",                                          // 19 ok, no newline
        ]
        let r = Self.parse(lines.joined(separator: "\n"), firstLine: 1)
        #expect(r.errors == [
            .init(line: 2, error: "invalid JSON"),
            .init(line: 4, error: "missing field: ts"),
            .init(line: 5, error: "invalid type for field: x"),
            .init(line: 6, error: "unknown event type: foo"),
            .init(line: 7, error: "ts out of range"),
            .init(line: 9, error: "not a JSON object"),
            .init(line: 10, error: "missing field: session"),
            .init(line: 12, error: "invalid JSON"),
            .init(line: 13, error: "invalid type for field: x"),
            .init(line: 14, error: "invalid value for field: scroll_depth"),
            .init(line: 15, error: "invalid value for field: visitor"),
            .init(line: 16, error: "invalid value for field: ts"),
            .init(line: 17, error: "invalid type for field: site"),
        ])
        #expect(r.accepted == 4)
        #expect(r.rejected == 13)
        #expect(r.lines == 19)
        #expect((0..<4).map { r.record($0).path } == ["/ok", "/crlf", "/", "/last"])
        #expect((0..<4).allSatisfy { r.record($0).importId == 9 })

        // Line numbers continue from `firstLine`.
        let later = Self.parse(lines.joined(separator: "\n"), firstLine: 1_001)
        #expect(later.errors.first == .init(line: 1_002, error: "invalid JSON"))
    }

    @Test func acceptedLineBecomesTheRightRecord() {
        let line = #"{"ts":"2026-03-01T12:34:56.789Z","site":"site_a","type":"click","visitor":"abc","session":"def","#
            + #""path":"/pricing","referrer":"WWW.Example.COM","utm_source":"src","utm_medium":"med","utm_campaign":"camp","#
            + #""device":"mobile","browser":"Safari","os":"iOS","country":"DE","region":"DE-BY","name":"n","category":"c","#
            + #""label":"l","value":12.5,"time_on_page":31,"x":100,"y":2400,"scroll_depth":55,"element":"button#go","#
            + #""text":"Go","import":77,"unknown":"ignored"}"#
        let r = Self.parse(line, importId: 3)
        #expect(r.errors == [])
        var e = EventRecord()
        e.ts = 1_772_368_496_789
        e.site = "site_a"; e.type = .click
        e.visitor = XXH64.hash("abc"); e.session = XXH64.hash("def")
        e.path = "/pricing"; e.referrer = "example.com"
        e.utmSource = "src"; e.utmMedium = "med"; e.utmCampaign = "camp"; e.channel = "referral"
        e.device = "mobile"; e.browser = "Safari"; e.os = "iOS"; e.country = "DE"; e.region = "DE-BY"
        e.name = "n"; e.category = "c"; e.label = "l"; e.value = 12.5
        e.timeOnPage = 31; e.x = 100; e.y = 2400; e.scrollDepth = 55
        e.element = "button#go"; e.text = "Go"; e.importId = 3
        #expect(r.record(0) == e)
    }

    @Test func defaultsWhenOptionalFieldsAreAbsentOrNull() {
        let r = Self.one("")!
        #expect(r.path == "/")
        #expect(r.channel == "direct")
        #expect(r.referrer == "" && r.text == "" && r.value == 0 && r.x == 0 && r.scrollDepth == 0)
        let n = Self.one(#","path":null,"value":null,"x":null,"channel":null,"referrer":null"#)!
        #expect(n.path == "/" && n.value == 0 && n.x == 0 && n.channel == "direct")
        #expect(Self.one(#","path":"""#)!.path == "/")
        #expect(Self.one(#","channel":"""#)!.channel == "direct")
        #expect(Self.one(#","channel":"paid""#)!.channel == "paid", "a given channel is kept")
        #expect(Self.reason(#"{"ts":null,"site":"a","type":"move","visitor":"v","session":"s"}"#) == "missing field: ts")
        #expect(Self.reason(#"{"ts":1772368496789,"site":"a","type":null,"visitor":"v","session":"s"}"#) == "missing field: type")
        #expect(Self.reason(#"{"ts":1772368496789,"site":"","type":"move","visitor":"v","session":"s"}"#) == "invalid value for field: site")
        #expect(Self.reason("{}") == "missing field: ts")
    }

    @Test func wrongTypes() {
        for (field, value) in [("x", "\"1\""), ("y", "true"), ("time_on_page", "[1]"), ("scroll_depth", "{}"),
                               ("value", "\"1.5\""), ("path", "5"), ("referrer", "{\"a\":1}"), ("text", "[\"a\"]"),
                               ("channel", "false"), ("name", "1.5"), ("type", "1"), ("visitor", "12"),
                               ("session", "[]"), ("site", "null1"), ("ts", "true"), ("ts", "1.7e12")] {
            let reason = Self.reason("{\(Self.base),\"\(field)\":\(value)}")
            if value == "null1" {
                #expect(reason == "invalid JSON")
            } else {
                #expect(reason == "invalid type for field: \(field)", "\(field): \(value)")
            }
        }
    }

    @Test func integerFieldsAndRanges() {
        #expect(Self.one(#","x":-5,"y":2147483647"#).map { ($0.x, $0.y) } ?? (0, 0) == (-5, 2_147_483_647))
        #expect(Self.reason("{\(Self.base),\"x\":2147483648}") == "invalid value for field: x")
        #expect(Self.reason("{\(Self.base),\"y\":-2147483649}") == "invalid value for field: y")
        #expect(Self.reason("{\(Self.base),\"x\":99999999999999999999999}") == "invalid value for field: x")
        #expect(Self.reason("{\(Self.base),\"x\":1e2}") == "invalid type for field: x")
        #expect(Self.reason("{\(Self.base),\"time_on_page\":-1}") == "invalid value for field: time_on_page")
        #expect(Self.one(#","scroll_depth":100,"time_on_page":0"#)?.scrollDepth == 100)
        #expect(Self.reason("{\(Self.base),\"scroll_depth\":-1}") == "invalid value for field: scroll_depth")
        #expect(Self.one(#","x":-0"#)?.x == 0)
    }

    @Test func numbersForValue() {
        // Expected values from Swift's own correctly rounded conversion.
        let cases: [(String, Double)] = [
            ("0", 0), ("-0.25", -0.25), ("1.5e2", 150), ("1E-2", 0.01), ("0.1", 0.1),
            ("12345678901234567890", Double("12345678901234567890")!),
            ("3.141592653589793238462643383279", 3.141592653589793), ("1e22", 1e22), ("1e23", 1e23),
            ("9007199254740993", Double("9007199254740993")!), ("4.9e-324", Double("4.9e-324")!),
            ("1.7976931348623157e308", 1.7976931348623157e308),
        ]
        for (text, expected) in cases {
            #expect(Self.one(",\"value\":\(text)")?.value == expected, "\(text)")
        }
        for bad in ["01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "--1"] {
            #expect(Self.reason("{\(Self.base),\"value\":\(bad)}") == "invalid JSON", "\(bad)")
        }
        #expect(Self.reason("{\(Self.base),\"value\":1e400}") == "invalid value for field: value")
    }

    /// Decimal strings round-trip exactly through the parser, as through Swift's own parser.
    @Test func randomDoublesMatchSwiftParsing() {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<3_000 {
            let bits = rng.next()
            var d = Double(bitPattern: bits)
            if !d.isFinite { continue }
            if rng.below(2) == 0 { d = Double(Int64(bitPattern: bits) >> Int64(rng.below(60))) / 1000 }
            let text = "\(d)".replacingOccurrences(of: "+", with: "")
            #expect(Self.one(",\"value\":\(text)")?.value == Double(text), "\(text)")
        }
    }

    @Test func escapesAndUnicode() {
        let json = #""\"\\\/\b\f\n\r\t\u00e9\u00E9\u4e2d\ud83d\ude00 raw é中😀 \u0000end""#
        let r = Self.one(",\"text\":\(json)")
        #expect(r?.text == "\"\\/\u{8}\u{c}\n\r\té\u{e9}中😀 raw é中😀 \u{0}end")
        // Escaped keys name the same fields.
        #expect(Self.one(#","p\u0061th":"/esc""#)?.path == "/esc")
        for bad in [#""\x""#, #""\u12""#, #""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, "\"tab\there\"", "\"open"] {
            #expect(Self.reason("{\(Self.base),\"text\":\(bad)}") == "invalid JSON", "\(bad)")
        }
        // Invalid UTF-8 inside a string (overlong, surrogate, beyond U+10FFFF, truncated, stray continuation).
        for bytes: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
                               [0xE4, 0xB8], [0x80], [0xE0, 0x9F, 0x80]] {
            var line = Array("{\(Self.base),\"text\":\"a".utf8)
            line += bytes + Array("b\"}".utf8)
            var builder = ColumnChunkBuilder()
            var errors: [ImportLineError] = []
            _ = NDJSONParser(siteRestriction: nil, importId: 0).parse(line, into: &builder, errors: &errors)
            #expect(errors.map(\.error) == ["invalid JSON"], "\(bytes)")
        }
    }

    /// Random records written by Foundation's JSON encoder come back unchanged.
    @Test func foundationWrittenLinesRoundTrip() throws {
        var rng = SplitMix64(seed: 5)
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "中", "😀", "\u{7f}", "{", "}"]
        func text() -> String { String((0..<rng.below(12)).map { _ in alphabet[rng.below(alphabet.count)] }) }
        var lines: [String] = []
        var expected: [EventRecord] = []
        for i in 0..<500 {
            var o: [String: Any] = ["ts": 946_684_800_000 + Int(rng.next() % 3_155_760_000_000), "site": "s\(rng.below(3))",
                                    "type": EventType.allCases[rng.below(7)].name, "visitor": "v" + text(),
                                    "session": "s" + text()]
            var e = EventRecord()
            e.ts = Int64(o["ts"] as! Int); e.site = o["site"] as! String; e.type = EventType(name: o["type"] as! String)!
            e.visitor = XXH64.hash(o["visitor"] as! String); e.session = XXH64.hash(o["session"] as! String)
            e.importId = 9
            for c in [Column.path, .utmCampaign, .device, .browser, .os, .country, .region, .name, .category, .label,
                      .element, .text] where rng.below(2) == 0 {
                let v = text()
                o[c.wireName] = v
                e.setString(c, c == .path && v.isEmpty ? "/" : v)
            }
            if rng.below(2) == 0 { let v = Int32(rng.below(5000)) - 100; o["x"] = v; e.x = v }
            if rng.below(2) == 0 { let v = Int8(rng.below(101)); o["scroll_depth"] = v; e.scrollDepth = v }
            if rng.below(2) == 0 { let v = Double(rng.below(100_000)) / 64; o["value"] = v; e.value = v }
            if i % 3 == 0 { o["nested"] = ["k": [1, "two", ["three": NSNull()]]] }
            let data = try JSONSerialization.data(withJSONObject: o, options: i % 2 == 0 ? [.sortedKeys] : [])
            lines.append(String(decoding: data, as: UTF8.self))
            expected.append(e)
        }
        let r = Self.parse(lines.joined(separator: "\n"))
        #expect(r.errors == [])
        for i in 0..<expected.count { #expect(r.record(i) == expected[i], "line \(i + 1): \(lines[i])") }
    }

    @Test func duplicateKeysLastWins() {
        #expect(Self.one(#","path":"/a","path":"/b""#)?.path == "/b")
        #expect(Self.one(#","path":"/a","path":null"#)?.path == "/")
    }

    @Test func isoAndIntegerTimestampsAgree() {
        let ms: Int64 = 1_772_368_496_789  // 2026-03-01T12:34:56.789Z
        for form in ["\"2026-03-01T12:34:56.789Z\"", "1772368496789", "\"2026-03-01T13:34:56.789+01:00\"",
                     "\"2026-03-01T07:34:56.789-05:00\"", "\"2026-03-01T13:34:56.789+0100\"", "\"2026-03-01T14:34:56.789+02\"",
                     "\"2026-03-01t12:34:56.789z\"", "\"2026-03-01 12:34:56.789Z\"", "\"2026-03-01T12:34:56.789123Z\"",
                     "\"2026-03-01T12:34:56.789\""] {
            let line = #"{"ts":\#(form),"site":"a","type":"move","visitor":"v","session":"s"}"#
            #expect(Self.parse(line).chunk.ts == [ms], "\(form)")
        }
        #expect(ImportTimestamp.parseISO8601("2026-03-01T12:34:56Z") == ms - 789)
        #expect(ImportTimestamp.parseISO8601("2026-03-01T12:34Z") == ms - 56_789)
        #expect(ImportTimestamp.parseISO8601("2026-03-01T12:34:56.7Z") == ms - 89)
        #expect(ImportTimestamp.parseISO8601("2026-03-01T12:34:56.78Z") == ms - 9)
        #expect(ImportTimestamp.parseISO8601("2028-02-29T00:00:00Z") != nil)
        for bad in ["2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z",
                    "2026-03-01T12:00:60Z", "2026-03-01T12:00:00.Z", "2026-03-01", "2026-3-1T12:00:00Z",
                    "2026-03-01T12:00:00+1", "2026-03-01T12:00:00Zjunk", "2026-03-01T12:00:00+24:00", "x026-03-01T12:00:00Z"] {
            #expect(ImportTimestamp.parseISO8601(bad) == nil, "\(bad)")
        }
    }

    @Test func timestampRangeBoundaries() {
        func ts(_ v: String) -> String? {
            Self.reason(#"{"ts":\#(v),"site":"a","type":"move","visitor":"v","session":"s"}"#)
        }
        #expect(ts("\"2000-01-01T00:00:00Z\"") == nil)
        #expect(ts("946684800000") == nil)
        #expect(ts("\"2099-12-31T23:59:59.999Z\"") == nil)
        #expect(ts("4102444799999") == nil)
        #expect(ts("\"1999-12-31T23:59:59.999Z\"") == "ts out of range")
        #expect(ts("946684799999") == "ts out of range")
        #expect(ts("\"2100-01-01T00:00:00Z\"") == "ts out of range")
        #expect(ts("\"2000-01-01T00:30:00+01:00\"") == "ts out of range")
        #expect(ts("4102444800000") == "ts out of range")
        #expect(ts("-1") == "ts out of range")
        #expect(ts("99999999999999999999") == "ts out of range")
    }

    /// ISO strings at random instants agree with Foundation's formatter.
    @Test func randomIsoTimestampsMatchFoundation() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SplitMix64(seed: 11)
        for _ in 0..<2_000 {
            let ms = ImportTimestamp.minMs + Int64(rng.next() % UInt64(ImportTimestamp.endMs - ImportTimestamp.minMs))
            let offset = (rng.below(57) - 28) * 30
            f.timeZone = TimeZone(secondsFromGMT: offset * 60)
            let s = f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            let parsed = ImportTimestamp.parseISO8601(s)
            #expect(parsed.map { abs($0 - ms) <= 1 } == true, "\(s) vs \(ms)")
        }
    }

    @Test func referrerNormalisationAndDerivedChannel() {
        let r = Self.one(#","referrer":"WWW.Google.DE""#)!
        #expect(r.referrer == "google.de")
        #expect(r.channel == "organic")
        #expect(Self.one(#","referrer":"www.reddit.com""#)?.channel == "social")
        #expect(Self.one(#","referrer":"wwwsite.com""#)?.referrer == "wwwsite.com")
        #expect(Self.one(#","referrer":"Www.example.org","utm_medium":"email""#).map { ($0.referrer, $0.channel) }
            ?? ("", "") == ("example.org", "email"))
        #expect(Self.one(#","referrer":"news.ycombinator.com","channel":"organic""#)?.channel == "organic")
        #expect(Referrer.normalized("WWW.WWW.Example.com") == "www.example.com")
        #expect(Referrer.normalized("www.") == "")
        #expect(Referrer.normalized("ÉCOLE.fr") == "École.fr", "only ASCII letters are lowered")
    }

    @Test func siteRestriction() {
        let text = [
            #"{"ts":1772368496789,"site":"site_a","type":"move","visitor":"v","session":"s"}"#,
            #"{"ts":1772368496789,"site":"site_b","type":"move","visitor":"v","session":"s"}"#,
            #"{"ts":1772368496789,"site":"site_a ","type":"move","visitor":"v","session":"s"}"#,
            #"{"ts":1772368496789,"site":"site_\u0061","type":"move","visitor":"v","session":"s"}"#,
        ].joined(separator: "\n")
        let r = Self.parse(text, site: "site_a")
        #expect(r.accepted == 2)
        #expect(r.errors == [.init(line: 2, error: "site does not match"), .init(line: 3, error: "site does not match")])
        #expect(Self.parse(text).accepted == 4)
    }

    @Test func errorLimitStillCountsEveryLine() {
        var builder = ColumnChunkBuilder()
        var errors: [ImportLineError] = []
        let text = Array(String(repeating: "nope\n", count: 50).utf8)
        let r = NDJSONParser(siteRestriction: nil, importId: 0, maxErrors: 10).parse(text, into: &builder, errors: &errors)
        #expect(r.rejected == 50)
        #expect(errors.count == 10)
    }

    @Test func deepNestingIsBoundedAndUnknownFieldsAreSkipped() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(Self.reason("{\(Self.base),\"u\":\(deep)}") == "invalid JSON")
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(Self.reason("{\(Self.base),\"u\":\(ok)}") == nil)
        for bad in ["[1,]", "{\"a\"}", "{\"a\":1,}", "[1 2]", "tru", "{1:2}", "\"\\q\""] {
            #expect(Self.reason("{\(Self.base),\"u\":\(bad)}") == "invalid JSON", "\(bad)")
        }
        #expect(Self.reason("{\(Self.base),\"import\":{\"id\":5}}") == nil)
        #expect(Self.reason(" { \"ts\" : 1772368496789 , \"site\" : \"a\" , \"type\" : \"move\" , \"visitor\" : \"v\" , \"session\" : \"s\" } ") == nil)
    }
}

extension IngestParserTests {
    /// Every field name maps to its column; near misses and `import` map to nothing.
    @Test func fieldNamesMapToColumns() {
        func lookup(_ s: String) -> Column? {
            let b = Array(s.utf8)
            return b.withUnsafeBytes { ImportLineScanner.column(forKey: $0) }
        }
        for c in Column.allCases where c != .importId {
            #expect(lookup(c.wireName) == c, "\(c.wireName)")
            #expect(lookup(c.wireName + "s") == nil)
            #expect(lookup(String(c.wireName.dropLast())) == nil || c.wireName.count == 1)
            #expect(lookup(c.wireName.uppercased()) == nil)
        }
        for other in ["import", "", "utm_sourcf", "time_on_pagf", "z", "tx", "sitf", "utm_campaign_", "visitors"] {
            #expect(lookup(other) == nil, "\(other)")
        }
    }
}
