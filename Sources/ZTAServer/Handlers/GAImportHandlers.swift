import Foundation
import GRDB
import ZTAEngine
import ZTAQuery

/// `POST /api/import` in its Google Analytics forms (api.md §8): the JSON form
/// `{ siteId, format, data, source? }` and a raw `text/csv` body with `siteId`/`format` in the
/// query. Rows become synthetic pageviews (`GAExpansion`) stored through the NDJSON import path.
///
/// Counts in the answer: `accepted`/`rejected` are data rows (a row of 0 pageviews is accepted
/// and stores nothing), `recordsProcessed` = rows read (accepted + rejected), `recordsStored` =
/// synthetic pageview events stored; `errors[].line` is the 1-based data-row number.
extension ServerCore {
    static let csvContentTypes: Set<String> = ["text/csv", "application/csv"]

    /// The JSON form.
    func importGAJSON(_ call: Call, queryFormat: String?) async throws -> Reply.Out {
        let spool = try await spoolImportBody(call)
        let bytes = try Self.readSpool(spool)
        guard let body = JSONCoding.parse(bytes), body.isObject else { throw APIError.invalidJSON }
        guard let siteId = body["siteId"]?.stringValue ?? call.query["siteId"], !siteId.isEmpty else {
            throw APIError.required("siteId")
        }
        guard let formatName = body["format"]?.stringValue ?? queryFormat else { throw APIError.required("format") }
        guard let format = GAFormat(rawValue: formatName) else { throw Self.invalidFormat }
        guard let data = body["data"], !data.isNull, data != .string("") else { throw APIError.required("data") }
        let source = try Self.importSource(body["source"] ?? call.query["source"].map { .string($0) })
        let rows: any GARowSource
        do throws(GAParseError) {
            switch format {
            case .csv, .uaCSV:
                guard let text = data.stringValue else { throw GAParseError("\(format.rawValue) data must be a string (the CSV text)") }
                rows = try GACSVSource(text: text, uaExport: format == .uaCSV)
            case .json: rows = try GAJSONRowsSource(data)
            case .ga4API: rows = try GA4ReportSource(data)
            }
        } catch {
            throw APIError.badRequest("Failed to parse data", details: error.details)
        }
        return try await runGAImport(call, siteId: siteId, format: format, source: source, rows: rows)
    }

    /// A raw CSV body (`text/csv`); `format` is `csv` (the default) or `ua-csv`.
    func importGACSV(_ call: Call, queryFormat: String?) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.required("siteId") }
        let format = GAFormat(rawValue: queryFormat ?? "csv")
        guard queryFormat == nil || Self.supportedFormats.contains(queryFormat ?? "") else { throw Self.invalidFormat }
        guard let format, format == .csv || format == .uaCSV else { throw Self.unsupportedContentType }
        let source = try Self.importSource(call.query["source"].map { .string($0) })
        let spool = try await spoolImportBody(call)
        let text = String(decoding: try Self.readSpool(spool), as: UTF8.self)
        let rows: any GARowSource
        do throws(GAParseError) {
            rows = try GACSVSource(text: text, uaExport: format == .uaCSV)
        } catch {
            throw APIError.badRequest("Failed to parse data", details: error.details)
        }
        return try await runGAImport(call, siteId: siteId, format: format, source: source, rows: rows)
    }

    /// `source` (optional, default `google-analytics`): a string of at most 100 characters.
    static func importSource(_ v: JSONValue?) throws(APIError) -> String {
        guard let v, !v.isNull else { return "google-analytics" }
        guard let s = v.stringValue else { throw APIError.invalid("source") }
        if s.isEmpty { return "google-analytics" }
        guard s.count <= 100 else { throw APIError.badRequest("source must be at most 100 characters") }
        return s
    }

    static func readSpool(_ spool: BodySpool) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: spool.path) else { throw APIError.internalError }
        return Array(data)
    }

    /// Authorises, reserves the site (409 while another import runs), records the import and
    /// runs it; the answer of api.md §8.
    func runGAImport(_ call: Call, siteId: String, format: GAFormat, source: String, rows: any GARowSource) async throws -> Reply.Out {
        let (site, _) = try await authorizedSite(call, siteId, minRole: .admin, denied: APIError(403, "Site not found or access denied"))
        guard imports.begin(site.id) else { throw APIError(409, "An import is already running for this site") }
        defer { imports.end(site.id) }

        let uid = try call.user.id, now = call.nowMs, sid = site.id
        let rowId = try await meta.pool.write { db -> Int64 in
            try db.execute(sql: """
                INSERT INTO imports (site_id, source, format, status, imported_at, imported_by) VALUES (?, ?, ?, 'running', ?, ?)
                """, arguments: [sid, source, format.rawValue, now, uid])
            return db.lastInsertedRowID
        }
        guard let expansion = GAExpansion(importId: ImportIds.external(rowId), siteId: sid, timeZone: site.timezone)
            ?? GAExpansion(importId: ImportIds.external(rowId), siteId: sid, timeZone: "UTC") else { throw APIError.internalError }
        let limits = GAImportLimits(maxPageviewsPerRow: config.gaMaxPageviewsPerRow, maxEventsPerImport: config.gaMaxEventsPerImport)
        let events = self.events
        let job = UncheckedBox(rows)
        let outcome: GAImportOutcome
        do {
            outcome = try await Blocking.run {
                var options = ImportOptions(siteRestriction: sid)
                options.threads = 2
                options.batchRows = 500_000  // as NDJSON imports (see importEvents)
                return try GAImporter.run(job.value, expansion: expansion, uaExport: format == .uaCSV, limits: limits,
                                          events: events, options: options)
            }
        } catch {
            try? await meta.pool.write { db in
                try db.execute(sql: "UPDATE imports SET status = 'failed' WHERE id = ?", arguments: [rowId])
            }
            logger.error("GA import failed", metadata: ["error": "\(error)"])
            throw APIError.internalError
        }
        if outcome.engine.rejected > 0 {
            // Generated lines are valid by construction; a rejection here is a bug, not bad input.
            logger.error("GA import: engine rejected synthetic events", metadata: [
                "rejected": "\(outcome.engine.rejected)", "first": "\(outcome.engine.errors.first?.error ?? "")"])
        }
        metrics.importLines(accepted: outcome.acceptedRows, rejected: outcome.rejectedRows)
        let stored = outcome.engine.accepted
        return try await completeImport(
            call, rowId: rowId, siteId: sid, format: format.rawValue, engine: outcome.engine, timeZone: site.timezone,
            accepted: outcome.acceptedRows, rejected: outcome.rejectedRows, errors: outcome.errors,
            message: "Imported \(outcome.acceptedRows) rows as \(stored) pageviews (\(outcome.rejectedRows) rows rejected)",
            extra: [("recordsProcessed", .int(outcome.rowsProcessed)), ("recordsStored", .int(stored))])
    }
}

/// Hands a value the caller no longer touches to another thread.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
