import Foundation
import ZTAWorkloads
@testable import ZTAFormat


/// FNV-1a 64 of a string's UTF-8 bytes: the fixed visitor/session hash of the test loaders.
func fnv1a64(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

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

/// The conformance data set (/work/shared/conformance/events.ndjson.gz) as one chunk per site,
/// sorted by ts. Visitor/session strings are hashed with FNV-1a 64; channel is derived when absent.
enum ConformanceData {
    static let path = "/work/shared/conformance/events.ndjson.gz"

    static var available: Bool { FileManager.default.fileExists(atPath: path) }

    /// Parsed once per test process (parsing 200k JSON lines takes seconds in debug builds).
    nonisolated(unsafe) private static var cache: [(site: String, chunk: ColumnChunk)]?
    private static let cacheLock = NSLock()

    static func cachedChunksBySite() throws -> [(site: String, chunk: ColumnChunk)] {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let c = cache { return c }
        let c = try chunksBySite()
        cache = c
        return c
    }

    static func chunksBySite() throws -> [(site: String, chunk: ColumnChunk)] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var bySite: [String: [EventRecord]] = [:]
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            if end > start {
                let obj = try JSONSerialization.jsonObject(with: data[start..<end]) as! [String: Any]
                let r = record(obj)
                bySite[r.site, default: []].append(r)
            }
            start = end + 1
        }
        return bySite.keys.sorted().map { site in
            (site, ColumnChunk.from(records: bySite[site]!).sortedByTimestamp())
        }
    }

    static func record(_ o: [String: Any]) -> EventRecord {
        var r = EventRecord()
        if let s = o["ts"] as? String { r.ts = parseISO(s) } else { r.ts = (o["ts"] as! NSNumber).int64Value }
        r.site = o["site"] as! String
        r.type = EventType(name: o["type"] as! String)!
        r.visitor = fnv1a64(o["visitor"] as! String)
        r.session = fnv1a64(o["session"] as! String)
        for c in StringColumns.all where c != .site && c != .channel {
            if let v = o[c.wireName] as? String { r.setString(c, v) }
        }
        if r.path.isEmpty { r.path = "/" }
        r.channel = (o["channel"] as? String) ?? deriveChannel(r)
        r.value = (o["value"] as? NSNumber)?.doubleValue ?? 0
        r.timeOnPage = (o["time_on_page"] as? NSNumber)?.int32Value ?? 0
        r.x = (o["x"] as? NSNumber)?.int32Value ?? 0
        r.y = (o["y"] as? NSNumber)?.int32Value ?? 0
        r.scrollDepth = (o["scroll_depth"] as? NSNumber)?.int8Value ?? 0
        r.importId = 1
        return r
    }

    /// events.md §4.
    static func deriveChannel(_ r: EventRecord) -> String {
        let medium = r.utmMedium.lowercased(), source = r.utmSource.lowercased(), ref = r.referrer
        if ["cpc", "ppc", "paid", "paidsearch", "display", "cpm"].contains(medium) { return "paid" }
        if medium == "email" || ["newsletter", "email"].contains(source) { return "email" }
        let search = ["bing.com", "duckduckgo.com", "yahoo.com", "baidu.com", "ecosia.org", "search.brave.com"]
        if ref.hasPrefix("google.") || ref.hasPrefix("yandex.") || search.contains(ref) { return "organic" }
        let social = ["facebook.com", "t.co", "twitter.com", "x.com", "linkedin.com", "reddit.com", "instagram.com",
                      "youtube.com", "pinterest.com", "tiktok.com", "news.ycombinator.com", "mastodon.social"]
        if social.contains(ref) { return "social" }
        return ref.isEmpty ? "direct" : "referral"
    }

    /// `YYYY-MM-DDTHH:MM:SS(.fff)Z` → ms since the epoch.
    static func parseISO(_ s: String) -> Int64 {
        let b = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int64 { b[from..<(from + len)].reduce(0) { $0 * 10 + Int64($1 - 48) } }
        let y = num(0, 4), m = num(5, 2), d = num(8, 2)
        var ms: Int64 = 0
        if b.count > 20 && b[19] == UInt8(ascii: ".") {
            var k = 20, scale: Int64 = 100
            while k < b.count && b[k] >= 48 && b[k] <= 57 { ms += Int64(b[k] - 48) * scale; scale /= 10; k += 1 }
        }
        // Days from civil (Howard Hinnant).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return ((days * 24 + num(11, 2)) * 60 + num(14, 2)) * 60_000 + num(17, 2) * 1000 + ms
    }
}

/// Runs `body` over the bytes of `image` as the storage layer would hand them over.
func withReader<R>(_ image: [UInt8], file: String = "test.zseg", _ body: (SegmentReader) throws -> R) throws -> R {
    try image.withUnsafeBytes { try body(try SegmentReader(bytes: $0, file: file)) }
}
