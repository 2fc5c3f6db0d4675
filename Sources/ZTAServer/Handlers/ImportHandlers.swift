import Foundation
import GRDB
import Hummingbird
import ZTAEngine
import ZTAQuery

/// `/api/import` (api.md §8): NDJSON event import, history, deletion of one import's events.
extension ServerCore {
    static let supportedFormats = ["ndjson"] + GAFormat.allCases.map(\.rawValue)
    static let invalidFormat = APIError.badRequest("Invalid format. Supported: ndjson, csv, json, ga4-api, ua-csv")
    static let unsupportedContentType = APIError(415, "Unsupported content type")

    /// POST /api/import: NDJSON (`application/x-ndjson`, `application/ndjson`, `text/plain`, or no
    /// type), the GA JSON form (`application/json`) or a raw GA CSV (`text/csv`).
    func importEvents(_ call: Call) async throws -> Reply.Out {
        let contentType = (call.header("Content-Type") ?? "text/plain").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let queryFormat = call.query["format"].flatMap { $0.isEmpty ? nil : $0 }
        if contentType == "application/json" && queryFormat != "ndjson" { return try await importGAJSON(call, queryFormat: queryFormat) }
        if Self.csvContentTypes.contains(contentType) { return try await importGACSV(call, queryFormat: queryFormat) }

        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("siteId is required") }
        if let f = queryFormat, f != "ndjson" {
            // A GA format sent as NDJSON's content types: those take JSON or text/csv.
            throw Self.supportedFormats.contains(f) ? Self.unsupportedContentType : Self.invalidFormat
        }
        guard ["application/x-ndjson", "application/ndjson", "text/plain"].contains(contentType) else {
            throw Self.unsupportedContentType
        }
        // The body's encoding is a parameter too: refused (415) before the site and the 409.
        _ = try Self.importGzipped(call)
        let (site, _) = try await authorizedSite(call, siteId, minRole: .admin, denied: APIError(403, "Site not found or access denied"))
        guard imports.begin(site.id) else { throw APIError(409, "An import is already running for this site") }
        defer { imports.end(site.id) }

        let spool = try await spoolImportBody(call)

        let uid = try call.user.id, now = call.nowMs, sid = site.id
        let rowId = try await meta.pool.write { db -> Int64 in
            try db.execute(sql: """
                INSERT INTO imports (site_id, source, format, status, imported_at, imported_by) VALUES (?, 'ndjson', 'ndjson', 'running', ?, ?)
                """, arguments: [sid, now, uid])
            return db.lastInsertedRowID
        }
        let events = self.events
        let path = spool.path
        // The spool holds the body decoded once (capped); it is read as it is, never inflated
        // again, so a gzip nested inside the upload can't expand past the limit.
        let limits = ImportInput.Limits(gunzip: false, maxDecodedBytes: config.maxImportBody)
        let summary: ImportSummary
        do {
            summary = try await Blocking.run {
                var options = ImportOptions(siteRestriction: sid)
                options.threads = 2
                // Smaller batches than the CLI's: a 10 M-line import peaks at ~390 MB instead of
                // ~1.1 GB, at the same speed; background compaction merges the extra segments.
                options.batchRows = 500_000
                return try events.importNDJSON(input: try ImportInput(path: path, limits: limits), options: options)
            }
        } catch {
            try? await meta.pool.write { db in
                try db.execute(sql: "UPDATE imports SET status = 'failed' WHERE id = ?", arguments: [rowId])
            }
            logger.error("import failed", metadata: ["error": "\(error)"])
            throw APIError.internalError
        }
        withExtendedLifetime(spool) {}
        metrics.importLines(accepted: summary.accepted, rejected: summary.rejected)
        return try await completeImport(call, rowId: rowId, siteId: sid, format: "ndjson", engine: summary, timeZone: site.timezone,
                                        accepted: summary.accepted, rejected: summary.rejected, errors: summary.errors,
                                        message: "Imported \(summary.accepted) events (\(summary.rejected) rejected)")
    }

    /// Marks import `rowId` completed with its counts and dates, records `import.completed`,
    /// and answers §8's 201 body (`extra` follows `message`: the GA imports' record counts).
    /// `accepted`/`rejected`/`errors` are lines (NDJSON) or data rows (GA).
    func completeImport(_ call: Call, rowId: Int64, siteId: String, format: String, engine: ImportSummary, timeZone: String,
                        accepted: Int, rejected: Int, errors: [ImportLineError], message: String,
                        extra: [(String, JSONValue)] = []) async throws -> Reply.Out {
        let range = Self.importDateRange(engine, timeZone: timeZone)
        let engineId = Int64(engine.importId)
        try await meta.pool.write { db in
            try db.execute(sql: """
                UPDATE imports SET engine_id = ?, status = 'completed', accepted = ?, rejected = ?, date_start = ?, date_end = ?, days = ?
                WHERE id = ?
                """, arguments: [engineId, accepted, rejected, range?.0, range?.1, range?.2, rowId])
        }
        await recordActivity(call, .importCompleted, target: ActivityTarget(type: "import", id: ImportIds.external(rowId)),
                             siteId: siteId, metadata: [("format", .string(format)), ("accepted", .int(accepted)),
                                                        ("rejected", .int(rejected))])
        var out: [(String, JSONValue)] = [
            ("success", true), ("importId", .string(ImportIds.external(rowId))), ("accepted", .int(accepted)),
            ("rejected", .int(rejected)),
            ("errors", .array(errors.map { .object([("line", .int($0.line)), ("error", .string($0.error))]) })),
            ("errorsTruncated", .bool(rejected > errors.count)),
        ]
        if let r = range { out.append(("dateRange", .object([("start", .string(r.0)), ("end", .string(r.1)), ("days", .int(r.2))]))) }
        out.append(("message", .string(message)))
        out += extra
        return .json(.object(out), status: .created)
    }

    /// The request body, spooled to a temporary file: gunzipped when `Content-Encoding: gzip`,
    /// refused past `maxImportBody` decoded bytes (413).
    func spoolImportBody(_ call: Call) async throws -> BodySpool {
        let spool = try BodySpool(directory: config.dataDirectory + "/tmp", limit: config.maxImportBody, gzip: try Self.importGzipped(call))
        do {
            for try await chunk in call.request.body {
                try chunk.withUnsafeReadableBytes { try spool.append($0) }
            }
            try spool.finish()
        } catch BodySpool.Failure.tooLarge {
            throw APIError.tooLarge
        } catch BodySpool.Failure.badGzip(let m) {
            throw APIError.badRequest("Failed to parse data", details: ["gzip: \(m)"])
        }
        return spool
    }

    /// Whether the body is gzip (`Content-Encoding`); 415 for an encoding other than gzip/identity.
    static func importGzipped(_ call: Call) throws(APIError) -> Bool {
        let encoding = call.header("Content-Encoding")?.lowercased().trimmingCharacters(in: .whitespaces) ?? ""
        guard encoding.isEmpty || encoding == "identity" || encoding == "gzip" else { throw unsupportedContentType }
        return encoding == "gzip"
    }

    /// Site-local first and last day of an import's events, and the days between (inclusive).
    static func importDateRange(_ summary: ImportSummary, timeZone: String) -> (String, String, Int)? {
        guard let lo = summary.minTs, let hi = summary.maxTs, let tz = SiteTimeZone(timeZone) else { return nil }
        let a = tz.date(at: lo), b = tz.date(at: hi)
        return (a.description, b.description, Int(b.daysSinceEpoch - a.daysSinceEpoch) + 1)
    }

    func listImports(_ call: Call) async throws -> Reply.Out {
        let limit = try pageParam(call.query["limit"], default: 50, range: 1...100)
        let offset = try pageParam(call.query["offset"], default: 0, range: 0...Int(Int32.max), name: "offset")
        var siteIds: [String]
        if let s = call.query["siteId"], !s.isEmpty {
            let (site, _) = try await authorizedSite(call, s, minRole: .admin)
            siteIds = [site.id]
        } else {
            try call.authorizeScope()
            siteIds = try await visibleSites(call).filter { $0.1 >= .admin }.map(\.0.id)
        }
        if siteIds.isEmpty { siteIds = [""] }
        let marks = Array(repeating: "?", count: siteIds.count).joined(separator: ",")
        let ids = siteIds
        let (total, rows) = try await meta.pool.read { db -> (Int, [ImportRecord]) in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM imports WHERE site_id IN (\(marks))",
                                         arguments: StatementArguments(ids)) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM imports WHERE site_id IN (\(marks)) ORDER BY imported_at DESC, id DESC LIMIT ? OFFSET ?",
                                        arguments: StatementArguments(ids) + [limit, offset]).map(ImportRecord.init(row:))
            return (total, rows)
        }
        return .json(.object([
            ("imports", .array(rows.map(\.json))),
            ("supportedFormats", .array(Self.supportedFormats.map { .string($0) })),
            ("pagination", .object([("total", .int(total)), ("limit", .int(limit)), ("offset", .int(offset)),
                                    ("hasMore", .bool(offset + rows.count < total))])),
        ]))
    }

    func deleteImport(_ call: Call) async throws -> Reply.Out {
        guard let raw = call.query["importId"], !raw.isEmpty else { throw APIError.badRequest("importId is required") }
        guard let id = ImportIds.parse(raw),
              let rec = try await meta.pool.read({ db in
                  try Row.fetchOne(db, sql: "SELECT * FROM imports WHERE id = ?", arguments: [id]).map(ImportRecord.init(row:))
              }) else { throw APIError(404, "Import not found") }
        _ = try await authorizedSite(call, rec.siteId, minRole: .admin, denied: APIError(404, "Import not found"))
        if rec.status == "running" || imports.isRunning(rec.siteId) { throw APIError(409, "Import is still running") }
        var deleted = 0
        if let engineId = rec.engineId {
            let events = self.events
            let site = rec.siteId
            deleted = try await Blocking.run { try events.deleteImport(site: site, importId: UInt32(engineId)) }
        }
        try await meta.pool.write { db in try db.execute(sql: "DELETE FROM imports WHERE id = ?", arguments: [id]) }
        await recordActivity(call, .importDeleted, target: ActivityTarget(type: "import", id: ImportIds.external(id)),
                             siteId: rec.siteId, metadata: [("format", .string(rec.format)), ("deletedRecords", .int(deleted))])
        return .json(.object([("success", true), ("deletedRecords", .int(deleted)),
                              ("message", .string("Import deleted: \(deleted) events removed"))]))
    }

    /// Pagination parameters (api.md §1).
    func pageParam(_ s: String?, default d: Int, range: ClosedRange<Int>, name: String = "limit") throws(APIError) -> Int {
        guard let s, !s.isEmpty else { return d }
        guard let v = Int(s), range.contains(v) else {
            throw name == "limit" ? APIError.badRequest("Limit must be between 1 and 100") : APIError.invalid(name)
        }
        return v
    }
}
