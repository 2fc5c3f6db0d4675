import GRDB
import ZTAQuery

/// The filters of `GET /api/activity-log` and its export (api.md §7.10), parsed.
struct ActivityFilter: Sendable {
    /// A site's entries; nil: the caller's own actions.
    var siteId: String?
    /// Half-open `[from, to)`, ms.
    var from: Int64
    var to: Int64
    var type: String?
    var action: String?
    /// The actor (only with `siteId`).
    var userId: String?
    /// The caller, whose own actions are listed when `siteId` is nil.
    var ownerId: String

    static let periods = ["24h", "7d", "30d", "90d", "365d"]

    /// Parses the query parameters in api.md's order: period, startDate/endDate, type, action,
    /// userId. Windows are those of api.md §4 in `tz` (the site's, UTC for the own log).
    static func parse(_ q: [String: String], tz: SiteTimeZone, nowMs: Int64, ownerId: String) throws(APIError) -> ActivityFilter {
        // A parameter given empty is given, and invalid (only `userId` may be blank): the
        // filters narrow an audit trail, and a blank one silently widening it would mislead.
        func value(_ k: String) -> String? { q[k] }
        let period = value("period") ?? "7d"
        guard periods.contains(period) else { throw APIError.badRequest("Invalid time period") }
        let (from, to) = try window(period: period, start: value("startDate"), end: value("endDate"), tz: tz, nowMs: nowMs)
        let type = value("type")
        if let type, !ActivityAction.types.contains(type) { throw APIError.badRequest("Invalid activity type") }
        let action = value("action")
        if let action, ActivityAction(rawValue: action) == nil { throw APIError.invalid("action") }
        let site = value("siteId")
        return ActivityFilter(siteId: site, from: from, to: to, type: type, action: action,
                              userId: site == nil ? nil : value("userId").flatMap { $0.isEmpty ? nil : $0 }, ownerId: ownerId)
    }

    /// `startDate`/`endDate` (both inclusive, both or neither) override `period` (api.md §4).
    static func window(period: String, start: String?, end: String?, tz: SiteTimeZone, nowMs: Int64) throws(APIError) -> (Int64, Int64) {
        if start != nil || end != nil {
            guard let start, let end else { throw APIError.badRequest("Both startDate and endDate are required") }
            guard let a = CivilDate.parse(start), let b = CivilDate.parse(end), (2000...2099).contains(a.year),
                  (2000...2099).contains(b.year) else {
                throw APIError.badRequest("Invalid date format. Use YYYY-MM-DD")
            }
            guard a <= b else { throw APIError.badRequest("startDate must not be after endDate") }
            return (tz.startOfDay(a), tz.startOfDay(b.adding(days: 1)))
        }
        let today = tz.date(at: nowMs)
        if period == "24h" {
            // [H − 23 h, H + 1 h), H = start of now's clock hour in the time zone.
            let hour: Int64 = 3_600_000
            let local = tz.local(nowMs)
            let h = nowMs - (local - (local >= 0 ? local / hour : (local - hour + 1) / hour) * hour)
            return (h - 23 * hour, h + hour)
        }
        let n = Int(period.dropLast()) ?? 7
        return (tz.startOfDay(today.adding(days: -(n - 1))), tz.startOfDay(today.adding(days: 1)))
    }

    /// The WHERE clause and its arguments.
    var sql: (String, StatementArguments) {
        var clauses = ["timestamp >= ?", "timestamp < ?"]
        var args: StatementArguments = [from, to]
        if let siteId {
            clauses.append("site_id = ?"); args += [siteId]
            if let userId { clauses.append("actor_id = ?"); args += [userId] }
        } else {
            clauses.append("actor_id = ?"); args += [ownerId]
        }
        if let type { clauses.append("type = ?"); args += [type] }
        if let action { clauses.append("action = ?"); args += [action] }
        return (clauses.joined(separator: " AND "), args)
    }
}

/// Where a page of entries starts: after this (timestamp, rowid), newest first.
struct ActivityCursor: Sendable {
    var timestamp: Int64
    var rowid: Int64
}

extension MetaStore {
    /// The total of entries matching `f` and one page of them, newest first.
    func activities(_ f: ActivityFilter, limit: Int, offset: Int) async throws -> (Int, [ActivityEntry]) {
        let (whereSQL, args) = f.sql
        return try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM activity_log WHERE \(whereSQL)", arguments: args) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM activity_log WHERE \(whereSQL) ORDER BY timestamp DESC, rowid DESC LIMIT ? OFFSET ?
                """, arguments: args + [limit, offset]).map(ActivityEntry.init(row:))
            return (total, rows)
        }
    }

    /// Up to `limit` entries matching `f` that come after `cursor`, newest first, with the
    /// cursor of the last one (keyset paging: each page is one short read).
    func activityPage(_ f: ActivityFilter, after cursor: ActivityCursor?, limit: Int) async throws -> ([ActivityEntry], ActivityCursor?) {
        var (whereSQL, args) = f.sql
        if let cursor {
            whereSQL += " AND (timestamp < ? OR (timestamp = ? AND rowid < ?))"
            args += [cursor.timestamp, cursor.timestamp, cursor.rowid]
        }
        let sql = whereSQL, arguments = args
        return try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT rowid AS row_id, * FROM activity_log WHERE \(sql) ORDER BY timestamp DESC, rowid DESC LIMIT ?
                """, arguments: arguments + [limit])
            let next = rows.last.map { ActivityCursor(timestamp: $0["timestamp"], rowid: $0["row_id"]) }
            return (rows.map(ActivityEntry.init(row:)), next)
        }
    }

    /// A user's own entries, newest first (`GET /api/user/export`: the newest 1000).
    func ownActivities(userId: String, limit: Int) async throws -> [ActivityEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM activity_log WHERE actor_id = ? ORDER BY timestamp DESC, rowid DESC LIMIT ?
                """, arguments: [userId, limit]).map(ActivityEntry.init(row:))
        }
    }

    /// Deletes entries older than `cutoffMs`, `batch` rows per transaction so that a large
    /// backlog never holds the write lock for long. Returns the number deleted.
    func pruneActivities(before cutoffMs: Int64, batch: Int = 5000) async throws -> Int {
        var total = 0
        while true {
            let n = try await pool.write { db -> Int in
                try db.execute(sql: """
                    DELETE FROM activity_log WHERE rowid IN (SELECT rowid FROM activity_log WHERE timestamp < ? LIMIT ?)
                    """, arguments: [cutoffMs, batch])
                return db.changesCount
            }
            total += n
            if n < batch { return total }
        }
    }

    /// A deleted user's personal entries (those without a site); entries of sites stay for the
    /// other members, with the actor snapshot (see docs/architecture.md, activity log).
    static func deletePersonalActivities(_ db: GRDB.Database, userId: String) throws {
        try db.execute(sql: "DELETE FROM activity_log WHERE actor_id = ? AND site_id IS NULL", arguments: [userId])
    }
}

extension ServerCore {
    /// Entries are kept 365 days (api.md §7.10).
    static let activityRetentionMs: Int64 = 365 * 86_400_000

    /// Retention of the activity log, run by the maintenance loop.
    func pruneActivityLog(nowMs: Int64) async {
        do {
            let n = try await meta.pruneActivities(before: nowMs - Self.activityRetentionMs)
            if n > 0 { logger.info("activity log retention", metadata: ["deleted": "\(n)"]) }
        } catch {
            logger.error("activity log retention failed", metadata: ["error": "\(error)"])
        }
    }
}
