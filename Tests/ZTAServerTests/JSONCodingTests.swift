import Foundation
import Testing
import ZTAServer
import ZTAWorkloads

/// The request-body JSON parser and writer.
@Suite("JSON coding")
struct JSONCodingTests {
    static func randomString(_ g: inout SplitMix64) -> String {
        let pool: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "é", "漢", "😀", "\u{01}", ",", "{", "]"]
        return String((0..<Int.random(in: 0...12, using: &g)).map { _ in pool.randomElement(using: &g)! })
    }

    static func randomValue(_ g: inout SplitMix64, depth: Int) -> JSONValue {
        switch Int.random(in: 0...(depth > 3 ? 4 : 6), using: &g) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &g))
        case 2: return .int(Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &g))
        case 3: return .double(Double(Int.random(in: -100_000...100_000, using: &g)) / 64 + 0.5)
        case 4: return .string(randomString(&g))
        case 5: return .array((0..<Int.random(in: 0...4, using: &g)).map { _ in randomValue(&g, depth: depth + 1) })
        default:
            return .object((0..<Int.random(in: 0...4, using: &g)).map { k in ("k\(k)" + randomString(&g), randomValue(&g, depth: depth + 1)) })
        }
    }

    @Test func roundTripProperty() throws {
        var g = SplitMix64(seed: 0x5EED_2026)
        for _ in 0..<2000 {
            let v = Self.randomValue(&g, depth: 0)
            let bytes = JSONCoding.write(v)
            let back = try #require(JSONCoding.parse(bytes), "\(String(decoding: bytes, as: UTF8.self))")
            #expect(back == v)
            // Foundation agrees that it is JSON.
            #expect((try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil)
        }
    }

    @Test func rejectsInvalidJSON() {
        for text in ["", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\u{01}\"", "nul", "{} {}", "\"\\x\"", "[1 2]"] {
            let parsed: JSONValue? = JSONCoding.parse(Array(text.utf8))
            #expect(parsed.map { "\($0)" } == Optional<String>.none, "input: \(Array(text.utf8))")
        }
    }

    @Test func parsesEscapesAndNumbers() throws {
        let v = try #require(JSONCoding.parse(Array(#" {"s":"a\u00e9\ud83d\ude00\n","i":-12,"d":1.5e2,"b":[true,false,null]} "#.utf8)))
        #expect(v["s"]?.stringValue == "aé😀\n")
        #expect(v["i"] == .int(-12))
        #expect(v["d"]?.doubleValue == 150)
        #expect(v["d"]?.intValue == 150)
        #expect(v["b"]?.arrayValue?.count == 3)
        // A repeated key: the last one wins.
        #expect(JSONCoding.parse(Array(#"{"a":1,"a":2}"#.utf8))?["a"] == .int(2))
    }
}
