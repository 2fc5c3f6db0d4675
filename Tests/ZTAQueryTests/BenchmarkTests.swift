import ZTAWorkloads
import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
@testable import ZTAQuery

/// Timings over a large synthetic site (prints, never asserts a time). Runs only with
/// `ZTAS_BENCH=1` (rows via `ZTAS_BENCH_ROWS`, default 2.4 M):
/// `ZTAS_BENCH=1 swift test -c release --filter BenchmarkTests`
final class BenchmarkTests: XCTestCase {
    struct Vocab {
        static func sorted(_ v: [String]) -> StringDictionary {
            StringDictionary(values: Array(Set(v)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, isSorted: true)
        }
    }

    /// Generates `rows` events of one site over March 2026 (UTC) as 64k-row blocks of 1M-row
    /// "segments" that share sorted dictionaries, like the store's segment blocks.
    static func generate(rows target: Int, seed: UInt64) -> [ColumnChunk] {
        var rng = SplitMix64(seed: seed)
        let start = Periods_parse("2026-03-01T00:00:00Z"), span: Int64 = 31 * 86_400_000
        var paths = ["/", "/pricing", "/docs", "/blog", "/about", "/cart", "/signup"]
        for i in 0..<1500 { paths.append("/blog/post-\(i)") }
        for i in 0..<500 { paths.append("/docs/section-\(i % 20)/page-\(i)") }
        let dicts: [Column: StringDictionary] = [
            .site: Vocab.sorted(["site_big"]),
            .path: Vocab.sorted(paths),
            .referrer: Vocab.sorted(["", "google.com", "bing.com", "news.ycombinator.com", "github.com", "t.co", "reddit.com"] + (0..<300).map { "ref\($0).example.com" }),
            .utmSource: Vocab.sorted(["", "newsletter", "google", "twitter"]),
            .utmMedium: Vocab.sorted(["", "cpc", "email", "social"]),
            .utmCampaign: Vocab.sorted(["", "brand", "spring", "launch"]),
            .channel: Vocab.sorted(["direct", "organic", "referral", "social", "paid", "email"]),
            .device: Vocab.sorted(["desktop", "mobile", "tablet"]),
            .browser: Vocab.sorted(["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera"]),
            .os: Vocab.sorted(["Windows", "macOS", "iOS", "Android", "Linux"]),
            .country: Vocab.sorted(["", "US", "DE", "GB", "FR", "IN", "JP", "BR", "CA", "AU", "NL", "SE", "ES", "IT", "PL"]),
            .region: Vocab.sorted([""] + (0..<60).map { "R-\($0)" }),
            .name: Vocab.sorted(["", "Signup", "Add to Cart", "Outbound Link: Click", "Download", "Play"]),
            .category: Vocab.sorted(["", "cta", "media"]),
            .label: Vocab.sorted(["", "hero", "footer"]),
            .element: Vocab.sorted(["", "a#nav-pricing", "button#signup", "div.card", "img.hero", "p", "a.logo", "button#buy"]),
            .text: Vocab.sorted(["", "Pricing", "Sign up", "Learn more", "Buy now"]),
        ]
        func code(_ c: Column, _ v: String) -> UInt32 {
            let d = dicts[c]!
            var lo = 0, hi = d.count
            while lo < hi { let m = (lo + hi) / 2; if d.values[m].utf8.lexicographicallyPrecedes(v.utf8) { lo = m + 1 } else { hi = m } }
            return UInt32(lo)
        }
        func randCode(_ c: Column, _ rng: inout SplitMix64) -> UInt32 { UInt32(rng.next() % UInt64(dicts[c]!.count)) }
        // Skewed path choice: a few pages take most traffic.
        let hot = ["/", "/pricing", "/docs", "/blog", "/cart"].map { code(.path, $0) }
        func pathCode(_ rng: inout SplitMix64) -> UInt32 { rng.next() % 2 == 0 ? hot[Int(rng.next() % 5)] : randCode(.path, &rng) }

        struct Row { var ts: Int64; var type: UInt8; var visitor: UInt64; var session: UInt64; var top: Int32; var x: Int32; var y: Int32; var depth: Int8; var s: [UInt32] }
        let sessionLength = UInt64(Int(ProcessInfo.processInfo.environment["ZTAS_BENCH_SESSLEN"] ?? "") ?? 20)
        var rowsOut: [Row] = []
        rowsOut.reserveCapacity(target + 64)
        let visitors = (0..<(target / 16)).map { _ in rng.next() }
        let strCols = StringColumns.all
        let directCode = code(.channel, "direct"), emptyRef = code(.referrer, "")
        while rowsOut.count < target {
            let sid = rng.next(), vis = visitors[Int(rng.next() % UInt64(visitors.count))]
            var t = start + Int64(rng.next() % UInt64(span))
            let n = 1 + Int(rng.next() % sessionLength)
            let device = randCode(.device, &rng), browser = randCode(.browser, &rng), os = randCode(.os, &rng)
            let country = randCode(.country, &rng), region = randCode(.region, &rng)
            var first = true
            var path = pathCode(&rng)
            for _ in 0..<n {
                let roll = rng.next() % 100
                let type: UInt8 = roll < 25 ? 0 : roll < 28 ? 1 : roll < 45 ? 2 : roll < 63 ? 3 : roll < 78 ? 4 : roll < 93 ? 5 : 6
                if type == 0 && rng.next() % 3 == 0 { path = pathCode(&rng) }
                var s = [UInt32](repeating: 0, count: strCols.count)
                for (k, c) in strCols.enumerated() {
                    switch c {
                    case .site: s[k] = 0
                    case .path: s[k] = path
                    case .device: s[k] = device
                    case .browser: s[k] = browser
                    case .os: s[k] = os
                    case .country: s[k] = country
                    case .region: s[k] = region
                    case .channel: s[k] = directCode
                    case .referrer: s[k] = emptyRef
                    case .name, .category, .label: s[k] = type == 1 ? randCode(c, &rng) : 0
                    case .element, .text: s[k] = type == 4 ? randCode(c, &rng) : 0
                    default: s[k] = 0
                    }
                }
                if type == 0 && first {
                    s[Column.referrer.stringIndex!] = randCode(.referrer, &rng)
                    s[Column.channel.stringIndex!] = randCode(.channel, &rng)
                    s[Column.utmSource.stringIndex!] = randCode(.utmSource, &rng)
                    first = false
                }
                rowsOut.append(Row(ts: t, type: type, visitor: vis, session: sid, top: type == 2 ? Int32(rng.next() % 200) : 0,
                                   x: Int32(rng.next() % 1280), y: Int32(rng.next() % 3000), depth: type == 5 ? Int8(rng.next() % 101) : 0, s: s))
                t += Int64(rng.next() % 120_000)
            }
        }
        rowsOut.sort { $0.ts < $1.ts }
        var chunks: [ColumnChunk] = []
        let block = 65_536
        var i = 0
        while i < rowsOut.count {
            let slice = rowsOut[i..<min(i + block, rowsOut.count)]
            var c = ColumnChunk(count: slice.count)
            c.ts = slice.map(\.ts); c.type = slice.map(\.type); c.visitor = slice.map(\.visitor); c.session = slice.map(\.session)
            c.timeOnPage = slice.map(\.top); c.x = slice.map(\.x); c.y = slice.map(\.y); c.scrollDepth = slice.map(\.depth)
            c.value = [Double](repeating: 0, count: slice.count); c.importId = [UInt32](repeating: 0, count: slice.count)
            for (k, col) in strCols.enumerated() {
                c.setString(col, StringColumnData(codes: slice.map { $0.s[k] }, dictionary: dicts[col]!))
            }
            chunks.append(c)
            i += block
        }
        return chunks
    }

    static func Periods_parse(_ s: String) -> Int64 {
        let f = ISO8601DateFormatter()
        return Int64(f.date(from: s)!.timeIntervalSince1970 * 1000)
    }

    func time(_ label: String, runs: Int = 7, _ body: () throws -> [UInt8]) rethrows {
        if let only = ProcessInfo.processInfo.environment["ZTAS_BENCH_ONLY"], !label.contains(only) { return }
        let runs = Int(ProcessInfo.processInfo.environment["ZTAS_BENCH_RUNS"] ?? "") ?? runs
        var best = Double.infinity, total = 0.0, bestCPU = Double.infinity
        var size = 0
        func cpu() -> Double {
            var u = rusage()
            getrusage(RUSAGE_SELF.rawValue, &u)
            return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3
        }
        for _ in 0..<runs {
            let c0 = cpu()
            let t0 = DispatchTime.now().uptimeNanoseconds
            size = try body().count
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            best = min(best, dt); total += dt
            bestCPU = min(bestCPU, cpu() - c0)
        }
        print(String(format: "BENCH %-58@ best %8.2f ms  mean %8.2f ms  cpu %8.2f ms  (%d bytes)", label as NSString, best, total / Double(runs), bestCPU, size))
    }

    func testTimings() throws {
        guard ProcessInfo.processInfo.environment["ZTAS_BENCH"] == "1" else { throw XCTSkip("set ZTAS_BENCH=1 to run") }
        let rows = Int(ProcessInfo.processInfo.environment["ZTAS_BENCH_ROWS"] ?? "") ?? 2_400_000
        let t0 = Date()
        let chunks = Self.generate(rows: rows, seed: 7)
        print("BENCH generated \(chunks.reduce(0) { $0 + $1.count }) rows in \(chunks.count) chunks (\(String(format: "%.1f", Date().timeIntervalSince(t0))) s)")
        let source = InMemoryEventSource(chunksBySite: ["site_big": chunks])
        let march = ["site_id": "site_big", "period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-31"]
        let all = "visitors,pageviews,sessions,bounces,bounce_rate,visit_duration,views_per_visit,events,avg_time_on_page"
        for threads in [1, 2] {
            let e = QueryEngine(source: source, threads: threads)
            func api(_ extra: [String: String]) throws -> StatsAPIRequest {
                try StatsAPIRequest.parse(march.merging(extra) { $1 }, timezone: "UTC", now: 0)
            }
            let summary = try api(["interval": "month", "metrics": "visitors,pageviews,sessions,bounce_rate,visit_duration"])
            try time("[\(threads)t] summary 31 d (month bucket, 5 metrics)") { try e.statsAPI(summary) }
            let summaryAll = try api(["interval": "month", "metrics": all])
            try time("[\(threads)t] summary 31 d, all 9 metrics") { try e.statsAPI(summaryAll) }
            let days = try api(["interval": "day", "metrics": all])
            try time("[\(threads)t] day series 31 buckets, all metrics") { try e.statsAPI(days) }
            let hours = try api(["interval": "hour", "metrics": "visitors,pageviews,sessions"])
            try time("[\(threads)t] hour series 744 buckets") { try e.statsAPI(hours) }
            let pages = try api(["property": "page", "metrics": all, "limit": "50"])
            try time("[\(threads)t] breakdown page, all metrics") { try e.statsAPI(pages) }
            let sources = try api(["property": "source", "metrics": "visitors,sessions,pageviews,bounce_rate"])
            try time("[\(threads)t] breakdown source") { try e.statsAPI(sources) }
            let countryFiltered = try api(["property": "country", "metrics": "visitors,sessions", "filters": "page==/blog/*;device!=tablet"])
            try time("[\(threads)t] breakdown country, page==/blog/*;device!=tablet") { try e.statsAPI(countryFiltered) }
            let pass2 = try api(["property": "page", "metrics": "pageviews,visitors,sessions", "filters": "country==US|DE;channel!=direct"])
            try time("[\(threads)t] breakdown page under session filters (2 passes)") { try e.statsAPI(pass2) }
            let events = try api(["property": "event_name", "metrics": "events,visitors,sessions"])
            try time("[\(threads)t] breakdown event_name") { try e.statsAPI(events) }
            let dash = try DashboardRequest.parse(["siteId": "site_big", "startDate": "2026-03-01", "endDate": "2026-03-31"], timezone: "UTC", now: 0)
            try time("[\(threads)t] dashboard /api/stats (8 panels)") { try e.dashboard(dash) }
            let dashF = try DashboardRequest.parse(["siteId": "site_big", "startDate": "2026-03-01", "endDate": "2026-03-31", "filters": "country==US"], timezone: "UTC", now: 0)
            try time("[\(threads)t] dashboard /api/stats, country==US") { try e.dashboard(dashF) }
            let click = try HeatmapRequest.parse(["siteId": "site_big", "startDate": "2026-03-01", "endDate": "2026-03-31", "path": "/pricing", "type": "click"],
                                                 kind: .heatmap, timezone: "UTC", now: 0)
            try time("[\(threads)t] heatmap click /pricing") { try e.heatmap(click) }
            let scroll = try HeatmapRequest.parse(["siteId": "site_big", "startDate": "2026-03-01", "endDate": "2026-03-31", "path": "/pricing", "type": "scroll"],
                                                  kind: .heatmap, timezone: "UTC", now: 0)
            try time("[\(threads)t] heatmap scroll /pricing") { try e.heatmap(scroll) }
            let export = try ExportRequest.parse(["siteId": "site_big", "startDate": "2026-03-10", "endDate": "2026-03-10", "type": "pageviews"], timezone: "UTC", now: 0)
            try time("[\(threads)t] export pageviews 1 day, limit 10000", runs: 3) { try e.export(export) }
        }
        if ProcessInfo.processInfo.environment["ZTAS_BENCH_CALIBRATE"] != nil {
            // Machine calibration: a plain pass over the columns a summary reads, and the same with
            // a random 64 KiB table access per row.
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                var acc: UInt64 = 0
                for c in chunks {
                    c.ts.withUnsafeBufferPointer { ts in c.session.withUnsafeBufferPointer { s in c.type.withUnsafeBufferPointer { ty in
                        for i in 0..<c.count { acc &+= UInt64(bitPattern: ts[i]) ^ s[i] &+ UInt64(ty[i]) }
                    }}}
                }
                let t1 = DispatchTime.now().uptimeNanoseconds
                var table = [UInt64](repeating: 0, count: 8192)
                table.withUnsafeMutableBufferPointer { tb in
                    for c in chunks {
                        c.session.withUnsafeBufferPointer { s in
                            for i in 0..<c.count { tb[Int(truncatingIfNeeded: (s[i] &* 0x9E3779B97F4A7C15) >> 51)] &+= 1 }
                        }
                    }
                }
                let t2 = DispatchTime.now().uptimeNanoseconds
                print("CALIBRATE scan \(Double(t1 - t0) / 1e6) ms, scan+64KiB random update \(Double(t2 - t1) / 1e6) ms", acc & 1, table[0] & 1)
            }
        }
        if let only = ProcessInfo.processInfo.environment["ZTAS_BENCH_PHASES"] {
            let r = try StatsAPIRequest.parse(march.merging(["interval": "month", "metrics": "visitors,pageviews,sessions", "property": only]) { $1 }, timezone: "UTC", now: 0)
            for _ in 0..<(Int(ProcessInfo.processInfo.environment["ZTAS_BENCH_RUNS"] ?? "") ?? 8) {
                let ex = AggregateExecutor(plan: AggregatePlan(r.aggregateQuery), threads: 1)
                _ = try ex.run(source: source)
                print("PHASES", ex.phaseTimes.map { "\($0.0)=\(String(format: "%.1f", $0.1))" }.joined(separator: " "))
            }
        }
        print(try QueryEngine(source: source).explain(try StatsAPIRequest.parse(march.merging(["property": "page", "filters": "country==US;page==/blog/*"]) { $1 }, timezone: "UTC", now: 0)))
    }
}

/// 1, 2 and 3 workers must give identical bodies on a larger generated set.
final class ThreadConsistencyTests: XCTestCase {
    func testWorkersAgreeOnLargerSet() throws {
        let rows = Int(ProcessInfo.processInfo.environment["ZTAS_CONSISTENCY_ROWS"] ?? "") ?? 200_000
        let chunks = BenchmarkTests.generate(rows: rows, seed: 11)
        let source = InMemoryEventSource(chunksBySite: ["site_big": chunks])
        let base = ["site_id": "site_big", "period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-31"]
        let all = "visitors,pageviews,sessions,bounces,bounce_rate,visit_duration,views_per_visit,events,avg_time_on_page"
        let variants: [[String: String]] = [
            ["interval": "day", "metrics": all],
            ["property": "page", "metrics": all, "limit": "1000"],
            ["property": "source", "metrics": all, "limit": "1000"],
            ["property": "event_name", "metrics": all],
            ["property": "page", "metrics": all, "filters": "country==US|DE", "limit": "1000"],
        ]
        let engines = [1, 2, 3].map { QueryEngine(source: source, threads: $0) }
        for v in variants {
            let r = try StatsAPIRequest.parse(base.merging(v) { $1 }, timezone: "UTC", now: 0)
            let bodies = try engines.map { String(decoding: try $0.statsAPI(r), as: UTF8.self) }
            for k in 1..<bodies.count where bodies[k] != bodies[0] {
                let a = bodies[0].components(separatedBy: "},{"), b = bodies[k].components(separatedBy: "},{")
                let firstDiff = zip(a, b).first { $0 != $1 }
                XCTFail("\(v): \(k + 1) workers differ from 1 (rows \(a.count) vs \(b.count)); first difference:\n  \(firstDiff?.0 ?? "-")\n  \(firstDiff?.1 ?? "-")")
            }
        }
    }
}
