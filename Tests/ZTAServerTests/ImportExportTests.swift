import Foundation
import Testing
import ZTAServer

/// api.md §8 import and §6 export.
@Suite("Import and export", .serialized)
struct ImportExportTests {
    /// Import lines of one site: `n` pageviews on 2026-03-01 plus one event.
    static func lines(site: String, n: Int) -> String {
        var s = ""
        for k in 0..<n {
            s += #"{"ts":"2026-03-01T10:\#(String(format: "%02d", k % 60)):00.000Z","site":"\#(site)","type":"pageview","visitor":"v\#(k % 3)","session":"s\#(k % 4)","path":"/p\#(k % 2)","referrer":"news.ycombinator.com"}"# + "\n"
        }
        s += #"{"ts":1772359200000,"site":"\#(site)","type":"event","visitor":"v0","session":"s0","name":"signup, \"quoted\""}"# + "\n"
        return s
    }

    static func gzip(_ text: String) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.path
        let path = dir + "/ztas-gz-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-f", path]
        try p.run()
        p.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: path + ".gz") }
        return Array(try Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
    }

    func count(_ s: TestServer, _ t: String, _ site: String) async throws -> Int {
        let r = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=custom&date_from=2026-03-01&date_to=2026-03-01&metrics=pageviews", token: t)
        return (r.json["results"] as? [[String: Any]])?.first?["pageviews"] as? Int ?? -1
    }

    @Test func importThenDelete() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("importer@example.com")
        let site = try await s.createSite(t, domain: "imports.example.com")
        var body = Self.lines(site: site, n: 10)
        body += #"{"ts":"2026-03-01T10:00:00Z","site":"site_other","type":"pageview","visitor":"x","session":"y"}"# + "\n"
        body += "not json\n\n"
        let r = try await s.call("POST", "/api/import?siteId=\(site)&format=ndjson", token: t, body: try Self.gzip(body),
                                 headers: [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip")])
        #expect(r.status == 201)
        #expect(r.json["accepted"] as? Int == 11)
        #expect(r.json["rejected"] as? Int == 2)
        let errors = r.json["errors"] as? [[String: Any]] ?? []
        #expect(errors.first?["line"] as? Int == 12)
        #expect(errors.first?["error"] as? String == "site does not match")
        #expect(errors.last?["line"] as? Int == 13)
        #expect((r.json["dateRange"] as? [String: Any])?["start"] as? String == "2026-03-01")
        let importId = try #require(r.json["importId"] as? String)
        #expect(try await count(s, t, site) == 10)

        // A second import of the same lines, then only the first one is deleted.
        let second = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(Self.lines(site: site, n: 4).utf8),
                                      headers: [("Content-Type", "text/plain")])
        #expect(second.status == 201)
        #expect(try await count(s, t, site) == 14)

        let hist = try await s.call("GET", "/api/import?siteId=\(site)", token: t)
        let imports = hist.json["imports"] as? [[String: Any]] ?? []
        #expect(imports.count == 2)
        #expect(imports.last?["id"] as? String == importId)
        #expect(imports.last?["status"] as? String == "completed")
        #expect((hist.json["pagination"] as? [String: Any])?["total"] as? Int == 2)
        #expect(try await s.call("GET", "/api/import?siteId=\(site)&limit=0", token: t).error == "Limit must be between 1 and 100")

        let del = try await s.call("DELETE", "/api/import?importId=\(importId)", token: t)
        #expect(del.status == 200)
        #expect(del.json["deletedRecords"] as? Int == 11)
        #expect(try await count(s, t, site) == 4)
        #expect(try await s.call("DELETE", "/api/import?importId=\(importId)", token: t).error == "Import not found")
        #expect(try await s.call("DELETE", "/api/import", token: t).error == "importId is required")

        let unsupported = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array("x".utf8),
                                           headers: [("Content-Type", "image/png")])
        #expect(unsupported.status == 415)
        #expect(try await s.call("POST", "/api/import", token: t, body: Array("x".utf8)).error == "siteId is required")
        try await s.stop()
    }

    @Test func importBodyLimit() async throws {
        let s = try await TestServer.start { $0.maxImportBody = 1000 }
        let t = try await s.register("limits@example.com")
        let site = try await s.createSite(t, domain: "limits.example.com")
        // Small compressed, large decoded: the decoded size counts.
        let gz = try ImportExportTests.gzip(Self.lines(site: site, n: 40))
        #expect(gz.count < 1000)
        let r = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: gz,
                                 headers: [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip")])
        #expect(r.status == 413)
        #expect(r.error == "Request body too large")
        try await s.stop()
    }

    @Test func exportFormats() async throws {
        let s = try await TestServer.start()
        let t = try await s.register("exporter@example.com")
        let site = try await s.createSite(t, domain: "exports.example.com")
        _ = try await s.call("POST", "/api/import?siteId=\(site)", token: t, body: Array(Self.lines(site: site, n: 5).utf8),
                             headers: [("Content-Type", "application/x-ndjson")])
        let range = "startDate=2026-03-01&endDate=2026-03-01"
        let csv = try await s.call("GET", "/api/export?siteId=\(site)&\(range)&format=csv&type=pageviews", token: t)
        #expect(csv.status == 200)
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        #expect(csv.header("Transfer-Encoding") == "chunked")
        #expect(csv.header("Content-Disposition")?.contains("zta-pageviews-") == true)
        let rows = csv.text.split(separator: "\r\n")
        #expect(rows.first == "timestamp,path,referrer,utm_source,utm_medium,utm_campaign,channel,device,browser,os,country,region")
        #expect(rows.count == 6)
        #expect(rows[1].hasPrefix("2026-03-01T10:00:00.000Z,/p0,news.ycombinator.com"))

        let events = try await s.call("GET", "/api/export?siteId=\(site)&\(range)&format=csv&type=events", token: t)
        #expect(events.text.contains("\"signup, \"\"quoted\"\"\""))

        let nd = try await s.call("GET", "/api/export?siteId=\(site)&\(range)&format=ndjson&type=all", token: t)
        #expect(nd.header("Content-Type") == "application/x-ndjson")
        let lines = nd.text.split(separator: "\n")
        #expect(lines.count == 6)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["site"] as? String == site)
        // Ties on ts are ordered by the following columns: `event` before `pageview`.
        #expect(first?["type"] as? String == "event")
        #expect(first?["visitor"] is String)

        let json = try await s.call("GET", "/api/export?siteId=\(site)&\(range)&type=summary", token: t)
        #expect(json.json["count"] as? Int == 1)
        #expect(json.json["truncated"] as? Bool == false)
        #expect(((json.json["data"] as? [[String: Any]])?.first)?["pageviews"] as? Int == 5)
        let limited = try await s.call("GET", "/api/export?siteId=\(site)&\(range)&type=pageviews&limit=2", token: t)
        #expect(limited.json["count"] as? Int == 2)
        #expect(limited.json["truncated"] as? Bool == true)
        try await s.stop()
    }
}

/// A gzip body whose content is itself gzip: inflated once (capped), never twice.
@Suite struct NestedGzipImportTests {
    /// `text` gzipped `times` times (gzip(1) through a shell pipe; bytes in, bytes out).
    static func gzip(_ text: String, times: Int) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.path + "/ztas-nested-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "cat \"$0\"" + String(repeating: " | gzip -c", count: times), path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Array(data)
    }

    @Test func aNestedGzipIsNotInflatedAgain() async throws {
        let s = try await TestServer.start { $0.maxImportBody = 64 << 10 }
        let t = try await s.register("bomb@example.com")
        let site = try await s.createSite(t, domain: "bomb.example.com")
        let headers = [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip")]
        // ~45 KB of valid lines gzipped once: inflated once, imported.
        let once = try await s.call("POST", "/api/import?siteId=\(site)&format=ndjson", token: t,
                                    body: try Self.gzip(ImportExportTests.lines(site: site, n: 200), times: 1), headers: headers)
        #expect(once.status == 201, "\(once.text)")
        #expect(once.json["accepted"] as? Int == 201)
        // ~900 KB of lines gzipped twice: the outer layer inflates to a small gzip file within
        // the 64 KiB cap; inflating the inner one too (as before) would have gone past it.
        let twice = try await s.call("POST", "/api/import?siteId=\(site)&format=ndjson", token: t,
                                     body: try Self.gzip(ImportExportTests.lines(site: site, n: 4000), times: 2), headers: headers)
        #expect(twice.json["accepted"] as? Int == 0, "\(twice.text)")
        try await s.stop()
    }
}
