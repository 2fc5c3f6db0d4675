import Dispatch
import Foundation
import ZTAFormat
package import ZTAQuery

/// The ClickHouse store's `AggregateBackend`: compiles each logical query (`AggregateSQL`),
/// runs its statements and reads the raw sums back as the same `AggregateResult` the embedded
/// engine produces — so stats-api, the dashboard, summaries and exports render identically.
package final class ClickHouseAggregates: AggregateBackend {
    let client: ClickHouseClient
    let database: String
    let settings: [(String, String)]

    package init(config: ClickHouseConfig) {
        client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        database = config.database
        // On a cluster the `IN (SELECT session …)` of filtered page/event_name breakdowns reads
        // each shard's own table: a site's sessions all live on one shard.
        settings = config.cluster != nil ? [("distributed_product_mode", "local")] : []
    }

    package func aggregate(_ q: AggregateQuery) throws -> AggregateResult {
        let sql = AggregateSQL(q)
        var r = AggregateResult()
        // The total, the session-level breakdowns and the page breakdown's session metrics come
        // from one statement (one pass grouping the window by session).
        let sessionDimensions = q.breakdowns.filter(\.isSessionLevel)
        let rowDimensions = q.breakdowns.filter { !$0.isSessionLevel }
        let pageEntries = q.breakdowns.contains(.page) && q.pageSessionMetrics
        let map = q.series.flatMap { $0.count > 0 ? BucketMap($0, timeZone: q.window.timeZone.identifier) : nil }

        // Every statement of the query, then all of them at once: the answer waits for the
        // slowest, not for their sum (ClickHouse overlaps them; on a bigger server, and over a
        // network, more so).
        var statements: [(sql: String, tagged: Bool)] = []
        let sessionStatement = q.total || !sessionDimensions.isEmpty || pageEntries ? statements.count : nil
        if sessionStatement != nil {
            statements.append((sql.sessionGroups(total: q.total, dimensions: sessionDimensions, pageEntries: pageEntries), true))
        }
        let seriesStatement = map.map { _ in statements.count }
        if let map { statements.append((sql.series(bucketKey: map.sqlKey), false)) }
        var rowStatements: [ZTAQuery.Dimension: (rows: Int, sessions: Int?)] = [:]
        for d in rowDimensions {
            let rows = statements.count
            statements.append((sql.rowGroup(d), false))
            var sessions: Int? = nil
            if d == .eventName {
                sessions = statements.count
                statements.append((sql.eventNameSessions, false))
            }
            rowStatements[d] = (rows, sessions)
        }
        let answers = try rowsConcurrently(statements)

        var groups: [Int: [Row]] = [:]
        if let k = sessionStatement {
            for row in answers[k] { groups[row.group, default: []].append(row) }
        }
        var next = 0
        if q.total {
            r.total = groups[next]?.first?.acc ?? GroupAcc()
            next += 1
        }
        for d in sessionDimensions {
            // Only values with at least one counting session (a session with kept events).
            r.breakdowns[d] = (groups[next] ?? []).filter { $0.acc.sessions > 0 }.map { row in
                let v = String(decoding: row.key, as: UTF8.self)
                return BreakdownRow(value: d == .source && v.isEmpty ? "(direct)" : v, acc: row.acc)
            }
            next += 1
        }
        let pageSessions = pageEntries ? groups[next] ?? [] : []
        if let b = q.series {
            r.series = [GroupAcc](repeating: GroupAcc(), count: b.count)
            if let map, let k = seriesStatement {
                for row in answers[k] {
                    let i = try map.index(row.key)
                    r.series[i].add(row.acc)
                }
            }
        }
        for d in rowDimensions {
            guard let at = rowStatements[d] else { continue }
            var bySession: [[UInt8]: GroupAcc] = [:]
            // Entry pages of counting sessions (the combined statement's group counts them all).
            var sessionRows: [Row] = []
            if d == .page {
                sessionRows = pageSessions.filter { $0.acc.sessions > 0 }
            } else if let k = at.sessions {
                sessionRows = answers[k]
            }
            for row in sessionRows { bySession[row.key] = row.acc }
            var out: [BreakdownRow] = []
            for row in answers[at.rows] {
                var a = row.acc
                // page: paths on a kept pageview or event; event_name: names of kept `event` rows (§6.2).
                guard d == .page ? a.pageviews + a.events > 0 : a.events > 0 else { continue }
                if let s = bySession[row.key] {
                    a.sessions = s.sessions; a.bounces = s.bounces; a.durMs = s.durMs; a.spv = s.spv
                }
                out.append(BreakdownRow(value: String(decoding: row.key, as: UTF8.self), acc: a))
            }
            r.breakdowns[d] = out
        }
        return r
    }

    /// Runs `statements` at the same time (one thread each; a query has at most a handful) and
    /// returns their rows in order; the first failure is thrown once all have ended.
    private func rowsConcurrently(_ statements: [(sql: String, tagged: Bool)]) throws -> [[Row]] {
        if statements.count <= 1 { return try statements.map { try rows($0.sql, tagged: $0.tagged) } }
        let results = ResultSlots(count: statements.count)
        let group = DispatchGroup()
        for (k, st) in statements.enumerated() {
            DispatchQueue.global().async(group: group) {
                results.set(k, Result { try self.rows(st.sql, tagged: st.tagged) })
            }
        }
        group.wait()
        return try results.all()
    }

    /// One answer row: its group number (statements with several groups), the group key's
    /// bytes and its sums.
    struct Row {
        var group = 0
        var key: [UInt8]
        var acc: GroupAcc
    }

    /// Rows of `key, sums…` — or, `tagged`, of `group number, key, sums…`.
    private func rows(_ sql: String, tagged: Bool = false) throws -> [Row] {
        let body = try client.query(sql, database: database, settings: settings)
        let o = tagged ? 1 : 0
        return try TabSeparated.parse(body).map { f throws(ClickHouseError) in
            guard f.count == 10 + o else { throw ClickHouseError("expected \(10 + o) columns, got \(f.count)") }
            var a = GroupAcc()
            a.pageviews = try TabSeparated.int64(f[o + 1])
            a.events = try TabSeparated.int64(f[o + 2])
            a.visitors = try TabSeparated.int64(f[o + 3])
            a.sessions = try TabSeparated.int64(f[o + 4])
            a.bounces = try TabSeparated.int64(f[o + 5])
            a.durMs = try TabSeparated.int64(f[o + 6])
            a.spv = try TabSeparated.int64(f[o + 7])
            a.engSum = try TabSeparated.int64(f[o + 8])
            a.engCnt = try TabSeparated.int64(f[o + 9])
            return Row(group: tagged ? Int(try TabSeparated.int64(f[0])) : 0, key: f[o], acc: a)
        }
    }
}

/// How a series' buckets are computed in SQL and mapped back to the `Bucketing`'s indices.
///
/// Calendar buckets use ClickHouse's time-zone functions on the event's second: the local hour's
/// start (as a UTC epoch second: a repeated fall-back hour is two distinct keys, a skipped
/// spring-forward hour none), or the local day / ISO week's Monday / month's first day (as days
/// since the epoch — exactly the bucket's label). Other boundaries (`summaries`' windows and
/// fillers), and any series of at most `directLimit` buckets, are compared directly with the
/// boundaries Swift computed: `multiIf(ts < b1, 0, ts < b2, 1, …)` — a constant `0` for one
/// bucket (a month's summary) instead of a time-zone conversion of every row.
struct BucketMap {
    let bucketing: Bucketing
    let sqlKey: String
    let labels: [String: Int]
    /// Whether the key is the bucket's index (the `multiIf` form).
    let direct: Bool

    /// Up to this many buckets, comparing `ts` with the boundaries beats converting it.
    static let directLimit = 12

    init(_ b: Bucketing, timeZone tz: String) {
        bucketing = b
        let second = "toDateTime(intDiv(ts, 1000))"
        let z = SQL.literal(tz)
        direct = !b.calendar || b.count <= Self.directLimit
        if direct {
            var parts: [String] = []
            // Boundaries are count + 1 long; an empty bucketing gets no branches (never traps).
            for i in 0..<max(0, min(b.count, b.boundaries.count - 1) - 1) { parts.append("ts < \(b.boundaries[i + 1]), \(i)") }
            sqlKey = parts.isEmpty ? "0" : "multiIf(\(parts.joined(separator: ", ")), \(parts.count))"
        } else if tz == "UTC" && b.interval != .month {
            // UTC hours, days and weeks are plain arithmetic on the ms (the same keys as below:
            // epoch second of the hour, days since the epoch of the day / of its Monday — the
            // epoch was a Thursday). Converting every row with `toDateTime` cost ~10 % of a
            // series statement. ts ≥ 0 here (events.md bounds it), so `intDiv` floors.
            switch b.interval {
            case .hour: sqlKey = "toUInt32(intDiv(ts, 3600000) * 3600)"
            case .day: sqlKey = "toUInt16(intDiv(ts, 86400000))"
            default: sqlKey = "toUInt16(intDiv(ts, 86400000) - modulo(intDiv(ts, 86400000) + 3, 7))"
            }
        } else {
            switch b.interval {
            case .hour: sqlKey = "toUInt32(toStartOfHour(\(second), \(z)))"
            case .day: sqlKey = "toUInt16(toDate(\(second), \(z)))"
            case .week: sqlKey = "toUInt16(toMonday(\(second), \(z)))"
            case .month: sqlKey = "toUInt16(toStartOfMonth(\(second), \(z)))"
            }
        }
        var l: [String: Int] = [:]
        if b.calendar && b.interval != .hour {
            for (i, s) in b.labels.enumerated() { l[s] = i }
        }
        labels = l
    }

    /// The bucket index of a key from the answer.
    func index(_ key: [UInt8]) throws(ClickHouseError) -> Int {
        let k = try TabSeparated.int64(key)
        let i: Int?
        if direct {
            i = k >= 0 && k < Int64(bucketing.count) ? Int(k) : nil
        } else if bucketing.interval == .hour {
            // The bucket whose [start, end) holds the hour's start (the first may start later
            // than its hour when the window does).
            let (ms, o) = k.multipliedReportingOverflow(by: 1000)
            if o { i = nil } else {
                let bounds = bucketing.boundaries
                var lo = 0, hi = bounds.count  // first boundary > ms
                while lo < hi { let mid = (lo + hi) / 2; if bounds[mid] <= ms { lo = mid + 1 } else { hi = mid } }
                i = max(0, min(bucketing.count - 1, lo - 1))
            }
        } else {
            i = labels[CivilDate(daysSinceEpoch: k).description]
        }
        guard let i else { throw ClickHouseError("bucket key \(k) outside the series") }
        return i
    }
}

/// The answers of concurrently run statements, one slot each, behind a lock.
private final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<[ClickHouseAggregates.Row], Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ k: Int, _ r: Result<[ClickHouseAggregates.Row], Error>) {
        lock.lock(); slots[k] = r; lock.unlock()
    }

    func all() throws -> [[ClickHouseAggregates.Row]] {
        lock.lock(); defer { lock.unlock() }
        return try slots.map { slot in
            guard let slot else { throw ClickHouseError("a statement did not finish") }
            return try slot.get()
        }
    }
}
