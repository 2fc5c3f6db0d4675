import ZTAFormat
import ZTAStorage

/// How an `AggregateQuery` runs: which filters are evaluated per event (dictionary lookup tables)
/// and which per session (by entry value), which session tables are built, which columns are
/// decoded, and whether rows need a second pass (row-level groups under session-level filters).
struct AggregatePlan {
    let query: AggregateQuery
    /// `page` / `event_name` filters: a per-dictionary-entry lookup table, then one load per row.
    let eventFilters: [Filter]
    /// Session-level filters, applied to whole sessions by their entry value.
    let sessionFilters: [Filter]
    /// Entry values kept per session (query-global ids); `.path` first whenever non-empty, since
    /// entry ties are broken by the smallest path.
    let entryColumns: [Column]
    /// Breakdowns grouped by a session's entry value.
    let sessionGroups: [Dimension]
    /// Breakdowns grouped by each event's own value (`page`, `event_name`).
    let rowGroups: [Dimension]
    /// The whole-window session table (totals and breakdowns).
    let needWindowTable: Bool
    /// The per-bucket session table (series with session metrics or session filters).
    let needBucketTable: Bool
    /// A series computed from rows alone (counts, and distinct (bucket, visitor) pairs).
    let bucketRows: Bool
    /// Row-level groups whose rows must wait for the session filters' verdict.
    let needSecondPass: Bool
    let columns: ColumnSet

    init(_ q: AggregateQuery) {
        query = q
        eventFilters = q.filters.filter { !$0.dimension.isSessionLevel }
        sessionFilters = q.filters.filter { $0.dimension.isSessionLevel }
        sessionGroups = q.breakdowns.filter { $0.isSessionLevel }
        rowGroups = q.breakdowns.filter { !$0.isSessionLevel }
        var entry: [Column] = []
        func add(_ c: Column) { if !entry.contains(c) { entry.append(c) } }
        for f in sessionFilters { add(f.dimension.column) }
        for d in sessionGroups { add(d.column) }
        if rowGroups.contains(.page) { add(.path) }
        if !entry.isEmpty {
            entry.removeAll { $0 == .path }
            entry.insert(.path, at: 0)
        }
        entryColumns = entry
        needWindowTable = q.total || !q.breakdowns.isEmpty
        needBucketTable = q.series != nil && (q.seriesSessions || !sessionFilters.isEmpty)
        bucketRows = q.series != nil && !needBucketTable
        needSecondPass = !sessionFilters.isEmpty && !rowGroups.isEmpty
        var cols = ColumnSet([.ts, .type, .session, .visitor])
        if q.timeOnPage || !rowGroups.isEmpty { cols.insert(.timeOnPage) }
        for c in entry { cols.insert(c) }
        for f in eventFilters { cols.insert(f.dimension.column) }
        for d in rowGroups { cols.insert(d.column) }
        columns = cols
    }

    /// Index of a column among the entry columns.
    func entryIndex(_ c: Column) -> Int { entryColumns.firstIndex(of: c)! }

    var scanRequest: ScanRequest {
        // No block pruning beyond time: session metrics need every event of a session, whatever
        // the filters, so a block can only be skipped by its ts range (done by the store).
        var r = ScanRequest(site: query.site, from: query.window.from, to: query.window.to, columns: columns)
        // The session fold reads visitor/session as block dictionary codes; only the row-level
        // group passes read the 64-bit values.
        r.idsAsCodes = rowGroups.isEmpty
        return r
    }

    /// The operator tree, one line per operator (indentation = nesting).
    func explainLines(outputs: [String]) -> [String] {
        var l: [String] = []
        l.append("Output: " + outputs.joined(separator: "; "))
        if needSecondPass {
            l.append("  RowGroupPass2 [\(rowGroups.map(\.rawValue).joined(separator: ", "))]: re-reads kept rows, session verdict by hash lookup, (group, visitor) hash set")
        }
        var groupLines: [String] = []
        if query.total { groupLines.append("Total: sum over kept sessions; distinct visitors via (0, visitor) hash set") }
        if let s = query.series {
            groupLines.append(needBucketTable
                ? "Series: \(s.count) \(s.interval.rawValue) buckets, sessions per (session, bucket); distinct visitors per bucket"
                : "Series: \(s.count) \(s.interval.rawValue) buckets from rows (no session metrics): counts; distinct (bucket, visitor) per block, then a hash set")
        }
        for d in sessionGroups {
            groupLines.append("SessionGroup \(d.rawValue): group = entry \(d.column.wireName) (global id), dense arrays; visitors per (group, visitor)")
        }
        for d in rowGroups {
            let s = d == .page ? "session metrics by entry path" : "session metrics by (name, session) pairs"
            groupLines.append("RowGroup \(d.rawValue): dictionary code → global id per entry, dense arrays; \(s)")
        }
        for g in groupLines { l.append("  " + g) }
        if !sessionFilters.isEmpty {
            l.append("  SessionFilter [\(sessionFilters.map(\.raw).joined(separator: "; "))]: per session on entry values (lookup table per global id)")
        }
        var tables: [String] = []
        if needWindowTable { tables.append("window") }
        if needBucketTable { tables.append("per-bucket") }
        let entry = entryColumns.isEmpty ? "no entry" : "entry [\(entryColumns.map(\.wireName).joined(separator: ", "))]"
        l.append("    SessionAggregate (\(tables.joined(separator: " + ")) tables; rows folded per block into local states by block dictionary code, then one open-addressing probe per (session, bucket) per block; min/max ts, pageview/event counts, \(entry))")
        if !eventFilters.isEmpty {
            l.append("      EventFilter [\(eventFilters.map(\.raw).joined(separator: "; "))]: lookup table per dictionary entry, one load per row")
        }
        l.append("        Scan site=\(query.site) [\(query.window.from), \(query.window.to)) columns=\(columns.columns.map(\.wireName).joined(separator: ","))")
        return l
    }
}
