import Foundation
import GRDB
import ZTAEngine
import ZTAWorkloads

#if canImport(Glibc)
import Glibc
#endif

/// `ztas serve --demo`: once per data directory, a demo user and a site filled with generated
/// traffic (the workload generator's big site, ending today), imported through the importer, so
/// a newcomer sees numbers at once. The credentials are printed on every start.
struct DemoSeeder {
    let core: ServerCore
    static let email = "demo@ztas.local"
    static let domain = "demo.ztas.local"

    func seedIfNeeded() async throws {
        let secretPath = core.config.dataDirectory + "/demo.credentials"
        if let existing = try? String(contentsOfFile: secretPath, encoding: .utf8) {
            announce("demo account: \(existing.trimmingCharacters(in: .whitespacesAndNewlines))")
            return
        }
        let password = "Demo-" + Secrets.randomHex(bytes: 6) + "!Zt"
        let hash = try await core.hashPassword(password)
        let now = Clock.nowMs()
        let userId = Secrets.id("usr"), siteId = Secrets.id("site")
        try await core.meta.pool.write { db in
            try db.execute(sql: "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, 'Demo', ?, ?)",
                           arguments: [userId, Self.email, hash, now])
            try db.execute(sql: """
                INSERT INTO sites (id, owner_id, domain, name, timezone, public, exclude_paths, created_at, updated_at)
                VALUES (?, ?, ?, 'Demo site', 'UTC', 0, '[]', ?, ?)
                """, arguments: [siteId, userId, Self.domain, now, now])
        }
        let rows = core.config.demoRows
        let started = Date()
        let summary = try await Blocking.run { try Self.fill(core: core, siteId: siteId, rows: rows, endMs: now) }
        try await core.meta.pool.write { db in
            try db.execute(sql: """
                INSERT INTO imports (engine_id, site_id, source, format, status, accepted, rejected, imported_at, imported_by)
                VALUES (?, ?, 'demo', 'ndjson', 'completed', ?, ?, ?, ?)
                """, arguments: [Int64(summary.importId), siteId, summary.accepted, summary.rejected, now, userId])
        }
        let creds = "\(Self.email) / \(password) (site \(Self.domain), \(siteId))"
        try creds.write(toFile: secretPath, atomically: true, encoding: .utf8)
        chmod(secretPath, 0o600)
        announce("demo account created: \(creds); \(summary.accepted) events in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// Standard output (flushed: it is often a file or a pipe) and the log.
    private func announce(_ line: String) {
        print(line)
        fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
        core.logger.notice("\(line)")
    }

    /// Generates one site's lines (ids rewritten to the demo site) into a temporary file, then imports it.
    static func fill(core: ServerCore, siteId: String, rows: Int, endMs: Int64) throws -> ImportSummary {
        let gen = WorkloadGenerator(rows: rows, seed: 20_260_415, sites: 1, days: 90, endMs: endMs)
        let from = Array("\"site\":\"\(gen.siteIds[0])\"".utf8), to = Array("\"site\":\"\(siteId)\"".utf8)
        let dir = core.config.dataDirectory + "/tmp"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/demo-\(Secrets.randomHex(bytes: 4)).ndjson"
        guard let out = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { throw ServerError("cannot write \(path)") }
        defer { try? FileManager.default.removeItem(atPath: path) }
        try gen.write { buf in
            out.write(Data(replacing(Array(buf), from, with: to)))
        }
        try out.close()
        return try core.db.importNDJSON(path: path, options: ImportOptions(siteRestriction: siteId))
    }

    static func replacing(_ bytes: [UInt8], _ pattern: [UInt8], with repl: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 16)
        var i = 0
        let n = pattern.count
        while i < bytes.count {
            if bytes[i] == pattern[0], i + n <= bytes.count, bytes[i..<(i + n)].elementsEqual(pattern) {
                out.append(contentsOf: repl)
                i += n
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
