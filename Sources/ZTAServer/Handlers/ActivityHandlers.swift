import HTTPTypes
import Hummingbird
import NIOCore
import ZTAQuery

/// `GET /api/activity-log` and its CSV export (api.md §7.10). With `siteId`: the site's entries,
/// for its admins and owner (an API key needs the `admin` scope); without: the caller's own
/// actions, JWT only (§3). Checks in §1's order: parameters, site visibility, role/scope.
extension ServerCore {
    /// Rows of one export at most (newest first); the file is streamed in pages of
    /// `activityExportPage`, so memory stays at one page whatever the cap.
    static let activityExportCap = 100_000
    static let activityExportPage = 1000

    /// The filter of a request, authorized. `extraParams` validates the parameters that follow
    /// the filters (limit, offset) before the site is looked up.
    private func activityFilter(_ call: Call, extraParams: () throws(APIError) -> Void = {}) async throws -> ActivityFilter {
        let uid = try call.user.id
        guard let utc = SiteTimeZone("UTC") else { throw APIError.internalError }
        // Parameters first (validity does not depend on the time zone), then visibility.
        let parsed = try ActivityFilter.parse(call.query, tz: utc, nowMs: call.nowMs, ownerId: uid)
        try extraParams()
        guard let siteId = parsed.siteId else {
            if call.principal?.apiKey != nil { throw APIError.jwtOnly }
            return parsed
        }
        let (site, role) = try await authorizedSite(call, siteId)
        guard role >= .admin else { throw APIError(403, "Insufficient permissions") }
        if let key = call.principal?.apiKey, key.scope != KeyScope.admin.rawValue {
            throw APIError(403, "API key does not allow this operation")
        }
        // Periods are the site's calendar days (api.md §4).
        guard let tz = SiteTimeZone(site.timezone) else { return parsed }
        return try ActivityFilter.parse(call.query, tz: tz, nowMs: call.nowMs, ownerId: uid)
    }

    func listActivity(_ call: Call) async throws -> Reply.Out {
        var limit = 50, offset = 0
        let filter = try await activityFilter(call) { () throws(APIError) in
            limit = try pageParam(call.query["limit"], default: 50, range: 1...100)
            offset = try pageParam(call.query["offset"], default: 0, range: 0...Int(Int32.max), name: "offset")
        }
        let (total, rows) = try await meta.activities(filter, limit: limit, offset: offset)
        return .json(.object([
            ("activities", .array(rows.map(\.json))),
            ("pagination", .object([("total", .int(total)), ("limit", .int(limit)), ("offset", .int(offset)),
                                    ("hasMore", .bool(offset + rows.count < total))])),
        ]))
    }

    func exportActivity(_ call: Call) async throws -> Reply.Out {
        let filter = try await activityFilter(call)
        let meta = self.meta
        let (cap, page) = (Self.activityExportCap, Self.activityExportPage)
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentDisposition] = "attachment; filename=\"zta-activity-log-\(Clock.utcDate(call.nowMs)).csv\""
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ActivityCSV.header))
            var cursor: ActivityCursor? = nil
            var written = 0
            while written < cap {
                let want = min(page, cap - written)
                let (rows, next) = try await meta.activityPage(filter, after: cursor, limit: want)
                if !rows.isEmpty {
                    var chunk = ""
                    for e in rows { chunk += ActivityCSV.row(e) }
                    try await writer.write(ByteBuffer(string: chunk))
                }
                written += rows.count
                cursor = next
                if rows.count < want { break }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
