import ZTAFormat
import ZTAQuery

/// Compiles one logical `AggregateQuery` to ClickHouse SQL that 18.16 accepts (no window
/// functions, no query parameters, no `DateTime64`) and newer servers accept unchanged.
///
/// events.md §3 by construction:
/// - **sessions** are `GROUP BY session` subqueries over *all* events of the window (or of one
///   bucket: each bucket is its own interval for sessions), so bounce (`pv_all = 1 AND
///   ev_all = 0`) and duration (`max(ts) - min(ts)`, exact ms) ignore the filters, while the kept
///   counts (`kpv`, `kev`, time on page) and visitors count only rows the event-level filters keep;
/// - the **entry** values are `argMinIf(column, (ts, path), type = pageview)` — first pageview
///   by ts, ties by the smallest path in byte order; a session without one has channel `direct`
///   and empty values (§6.1); session-level filters are a `HAVING` on them;
/// - **visitors** are exact: each session carries its kept visitors (`groupUniqArrayIf`), groups
///   count them with `uniqExactArray`;
/// - **buckets** are computed in the site's time zone (`toStartOfHour`/`toDate`/`toMonday`/
///   `toStartOfMonth` with the zone), so DST days have 23 or 25 hours;
/// - every result is the raw additive sums of `GroupAcc`; rounding and ordering stay in Swift
///   (`MetricDefinitions`, `Rounding`), shared with the embedded engine.
///
/// Statements' rows are `key, pageviews, events, visitors, sessions, bounces, dur_ms, spv,
/// eng_sum, eng_cnt` (with a group number first for `sessionGroups`): one statement for the
/// total, the session-level breakdowns and the `page` breakdown's session metrics together;
/// one for the series; one for each `page`/`event_name` breakdown's own counts, and one more
/// for `event_name`'s session metrics, merged in Swift.
struct AggregateSQL {
    let query: AggregateQuery
    let eventFilters: [Filter]
    let sessionFilters: [Filter]
    /// `site = … AND ts >= … AND ts < …`.
    let window: String
    /// The event-level filters as one condition (`1` when none).
    let kept: String

    static let pageview = "type = \(EventType.pageview.rawValue)"
    static let event = "type = \(EventType.event.rawValue)"
    static let engagement = "type = \(EventType.engagement.rawValue)"
    /// The rows that count visitors and decide a page breakdown's rows (events.md §3).
    static let pageviewOrEvent = "type IN (\(EventType.pageview.rawValue), \(EventType.event.rawValue))"

    init(_ q: AggregateQuery) {
        query = q
        eventFilters = q.filters.filter { !$0.dimension.isSessionLevel }
        sessionFilters = q.filters.filter { $0.dimension.isSessionLevel }
        window = "site = \(SQL.literal(q.site)) AND ts >= \(q.window.from) AND ts < \(q.window.to)"
        kept = eventFilters.isEmpty ? "1" : eventFilters.map { Self.condition($0, on: ClickHouseSchema.name($0.dimension.column)) }
            .joined(separator: " AND ")
    }

    // MARK: - filters

    /// `filter` on the SQL expression `expr`: `==` any pattern, `!=` none.
    static func condition(_ filter: Filter, on expr: String) -> String {
        let any = filter.patterns.map { pattern($0, on: expr) }.joined(separator: " OR ")
        return filter.negated ? "NOT (\(any))" : "(\(any))"
    }

    /// One `*` pattern, byte for byte and case-sensitive (events.md §6.15).
    static func pattern(_ p: Pattern, on expr: String) -> String {
        if p.matchesEmptyOnly { return "\(expr) = ''" }
        if p.parts.count == 1 { return "\(expr) = \(SQL.literal(bytes: p.parts[0]))" }
        var re: [UInt8] = Array("(?s)^".utf8)
        for (i, part) in p.parts.enumerated() {
            if i > 0 { re += Array(".*".utf8) }
            for c in part {
                // Escape every ASCII punctuation byte: RE2 reads `\` + punctuation as that byte.
                let punct = (0x21...0x2F).contains(c) || (0x3A...0x40).contains(c) || (0x5B...0x60).contains(c) || (0x7B...0x7E).contains(c)
                if punct { re.append(UInt8(ascii: "\\")) }
                re.append(c)
            }
        }
        re += Array("$".utf8)
        return "match(\(expr), \(SQL.literal(bytes: re)))"
    }

    /// `condition` AND the event-level filters. Without filters it is `condition` itself, so a
    /// kept count is the same expression as its unfiltered twin and ClickHouse computes it once
    /// (aggregates are deduplicated by their text).
    func and(_ condition: String) -> String {
        eventFilters.isEmpty ? condition : "\(condition) AND \(kept)"
    }

    /// ` AND <filters>` for a WHERE clause, or nothing without event-level filters.
    var keptClause: String { eventFilters.isEmpty ? "" : " AND \(kept)" }

    // MARK: - the session subquery

    /// The entry value of `c` for a session (alias `e_<column>`).
    static func entry(_ c: Column) -> String {
        let n = ClickHouseSchema.name(c)
        let first = "argMinIf(\(n), (ts, path), \(pageview))"
        // A session without an entry pageview has channel `direct` (events.md §6.1); argMinIf's
        // default for the other columns is already the empty string.
        return c == .channel ? "if(pv_all > 0, \(first), 'direct')" : first
    }

    static func entryAlias(_ c: Column) -> String { "e_" + ClickHouseSchema.name(c) }

    /// Sessions of the window (or of `(session, bucket)` with `bucket`), with the kept counts,
    /// the unfiltered bounce/duration inputs, the kept visitors, the entry values of `entries`
    /// and — for `event_name` — the names of kept `event` rows; only sessions passing the
    /// session-level filters.
    func sessions(bucket: String? = nil, entries: [Column] = [], names: Bool = false, visitors: Bool = true) -> String {
        var cols: [Column] = []
        for c in sessionFilters.map(\.dimension.column) + entries where !cols.contains(c) { cols.append(c) }
        var select = ["session"]
        if let bucket { select.append("\(bucket) AS b") }
        select += [
            "countIf(\(and(Self.pageview))) AS kpv",
            "countIf(\(and(Self.event))) AS kev",
            "countIf(\(Self.pageview)) AS pv_all",
            "countIf(\(Self.event)) AS ev_all",
            "max(ts) - min(ts) AS dur",
        ]
        // Time on page only when asked for (the embedded engine then reads it as 0 too).
        if query.timeOnPage {
            select += [
                "sumIf(toInt64(time_on_page), \(and("\(Self.engagement) AND time_on_page > 0"))) AS eng_sum",
                "countIf(\(and("\(Self.engagement) AND time_on_page > 0"))) AS eng_cnt",
            ]
        }
        // Each session's kept visitors, for exact distinct counts over sessions: the costliest
        // column, left out when no group counts visitors (the page breakdown's entry sessions).
        if visitors {
            select.append("groupUniqArrayIf(visitor, \(and(Self.pageviewOrEvent))) AS vis")
        }
        for c in cols { select.append("\(Self.entry(c)) AS \(Self.entryAlias(c))") }
        if names { select.append("groupUniqArrayIf(name, \(and(Self.event))) AS names") }
        var sql = "SELECT \(select.joined(separator: ", ")) FROM events WHERE \(window) GROUP BY session"
        if bucket != nil { sql += ", b" }
        if !sessionFilters.isEmpty {
            sql += " HAVING " + sessionFilters.map { Self.condition($0, on: Self.entryAlias($0.dimension.column)) }
                .joined(separator: " AND ")
        }
        return sql
    }

    /// The sums of `GroupAcc` over sessions (the columns after the key); time on page as `0`
    /// unless the query asks for it, visitors as `0` without `visitors` (the session subquery
    /// then has no such columns).
    func sessionSums(visitors: Bool = true) -> String {
        sessionSumList(visitors: visitors).joined(separator: ", ")
    }

    func sessionSumList(visitors: Bool) -> [String] {
        [
            "sum(kpv)", "sum(kev)", visitors ? "uniqExactArray(vis)" : "0",
            "countIf(kpv + kev > 0)", "countIf(kpv + kev > 0 AND pv_all = 1 AND ev_all = 0)",
            "sumIf(dur, kpv + kev > 0)", "sumIf(kpv, kpv + kev > 0)",
        ] + (query.timeOnPage ? ["sum(eng_sum)", "sum(eng_cnt)"] : ["0", "0"])
    }

    /// The sums of `GroupAcc` over kept rows (row-level counts; no session metrics); time on
    /// page as `0` unless the query asks for it.
    var rowSums: String {
        ([
            "countIf(\(Self.pageview))", "countIf(\(Self.event))",
            "uniqExactIf(visitor, \(Self.pageviewOrEvent))",
            "0", "0", "0", "0",
        ] + (query.timeOnPage && query.timeOnPageInGroups ? [
            "sumIf(toInt64(time_on_page), \(Self.engagement) AND time_on_page > 0)",
            "countIf(\(Self.engagement) AND time_on_page > 0)",
        ] : ["0", "0"])).joined(separator: ", ")
    }

    // MARK: - statements

    /// The series: one row per bucket key with data. Session metrics per (session, bucket)
    /// when the query needs them or session filters apply; otherwise counts from rows.
    func series(bucketKey: String) -> String {
        if !sessionFilters.isEmpty {
            return "SELECT b, \(sessionSums()) FROM (\(sessions(bucket: bucketKey))) GROUP BY b FORMAT TabSeparated"
        }
        if query.seriesSessions {
            // Without session filters a bucket's visitors are simply the distinct visitors of its
            // kept rows: a second, row-level grouping joined on the bucket beats carrying every
            // (session, bucket)'s visitor array into the outer grouping (~1.2× on 10 M events,
            // more on a cluster, where the per-bucket distinct states merge cheaply). A bucket
            // with sessions but no kept row has no visitors (the join's default 0).
            let s = sessionSumList(visitors: false)
            let names = ["kpv_s", "kev_s", "vis_s", "ses_s", "bou_s", "dur_s", "spv_s", "eng_s", "engc_s"]
            var inner: [String] = []
            for (k, expr) in s.enumerated() where k != 2 { inner.append("\(expr) AS \(names[k])") }
            let outer = names.enumerated().map { $0.offset == 2 ? "v" : $0.element }.joined(separator: ", ")
            return "SELECT b, \(outer) FROM (SELECT b, \(inner.joined(separator: ", ")) FROM (\(sessions(bucket: bucketKey, visitors: false))) GROUP BY b)"
                + " ANY LEFT JOIN (SELECT \(bucketKey) AS b, uniqExact(visitor) AS v FROM events WHERE \(window) AND \(Self.pageviewOrEvent)\(keptClause) GROUP BY b)"
                + " USING b FORMAT TabSeparated"
        }
        return "SELECT \(bucketKey) AS b, \(rowSums) FROM events WHERE \(window)\(keptClause) GROUP BY b FORMAT TabSeparated"
    }

    /// The whole-window session groups in one statement over one session subquery: the total
    /// (when `total`), each session-level breakdown of `dimensions` by its entry value, and —
    /// with `pageEntries` — sessions by entry page (the session metrics of the `page`
    /// breakdown). Each session row is repeated once per group by a parallel `ARRAY JOIN` of
    /// group numbers and keys, so the window is read and grouped by session once instead of
    /// once per panel (the dashboard's 7 session statements were ~3× a hand-written version).
    /// Rows: `group number, key, sums…`; group numbers count from 0 in the order above.
    func sessionGroups(total: Bool, dimensions: [Dimension], pageEntries: Bool) -> String {
        var keys: [String] = total ? ["''"] : []
        var columns: [Column] = dimensions.map(\.column)
        keys += columns.map { "CAST(\(Self.entryAlias($0)) AS String)" }
        if pageEntries {
            keys.append("CAST(\(Self.entryAlias(.path)) AS String)")
            if !columns.contains(.path) { columns.append(.path) }
        }
        // The page breakdown's visitors come from its rows (`rowGroup`), so entry pages alone
        // need no visitor arrays.
        let visitors = total || !dimensions.isEmpty
        let from = "FROM (\(sessions(entries: columns, visitors: visitors)))"
        let sums = sessionSums(visitors: visitors)
        if keys.count == 1 {
            // One group (a single panel): grouped by its key directly; repeating each session
            // row through an ARRAY JOIN of one element cost ~20 % here.
            return "SELECT 0, \(keys[0]) AS gv, \(sums) \(from) GROUP BY gv FORMAT TabSeparated"
        }
        let numbers = (0..<keys.count).map(String.init).joined(separator: ", ")
        return "SELECT gi, gv, \(sums) \(from)"
            + " ARRAY JOIN [\(numbers)] AS gi, [\(keys.joined(separator: ", "))] AS gv GROUP BY gi, gv FORMAT TabSeparated"
    }

    /// A `page` / `event_name` breakdown's own counts: kept rows of passing sessions by value.
    func rowGroup(_ d: Dimension) -> String {
        let col = ClickHouseSchema.name(d.column)
        var sql = "SELECT \(col), \(rowSums) FROM events WHERE \(window)\(keptClause)"
        if !sessionFilters.isEmpty {
            // Sharded by site, so the subquery is shard-local (distributed_product_mode=local).
            sql += " AND session IN (SELECT session FROM (\(sessions(visitors: false))))"
        }
        // The rows the breakdown keeps (page: on a kept pageview or event; event_name: named
        // by a kept `event`), so that a LIMIT counts only those.
        sql += d == .page ? " GROUP BY \(col) HAVING countIf(\(Self.pageviewOrEvent)) > 0"
            : " GROUP BY \(col) HAVING countIf(\(Self.event)) > 0"
        if let n = query.rowBreakdownTopByPageviews {
            // `ordered(by: .pageviews)`: pageviews descending, then the value's bytes ascending
            // (ClickHouse compares strings as bytes).
            sql += " ORDER BY countIf(\(Self.pageview)) DESC, \(col) ASC LIMIT \(max(0, n))"
        }
        return sql + " FORMAT TabSeparated"
    }

    /// The `event_name` breakdown's session metrics (events.md §3, §6.3): counting sessions by
    /// each name of their kept events. (The `page` breakdown's, by entry page, come with
    /// `sessionGroups`.)
    var eventNameSessions: String {
        let sums = "0, 0, 0, count(), countIf(pv_all = 1 AND ev_all = 0), sum(dur), sum(kpv), 0, 0"
        return "SELECT nm, \(sums) FROM (\(sessions(names: true, visitors: false))) ARRAY JOIN names AS nm WHERE kpv + kev > 0 GROUP BY nm FORMAT TabSeparated"
    }
}
