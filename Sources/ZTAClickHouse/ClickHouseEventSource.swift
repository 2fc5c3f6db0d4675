public import ZTAFormat
public import ZTAStorage

/// The ClickHouse store as an `EventSource`: the rows of a scan fetched by SQL and handed, as
/// column chunks, to the same operators the embedded scan feeds. Goals, funnels and row exports
/// run on it, so their answers are the embedded store's by construction (the operators are
/// one code; only where the rows come from differs).
///
/// Memory is bounded per task: a first query counts the site's rows per UTC day of the window,
/// and consecutive days are grouped into tasks of at most `rowsPerTask` rows (a day above that
/// is a task of its own); each task then selects its slice `ORDER BY ts`. Tasks load lazily, as
/// the query threads take them, like segment blocks.
public final class ClickHouseEventSource: EventSource {
    let client: ClickHouseClient
    let database: String
    let rowsPerTask: Int

    public init(config: ClickHouseConfig, rowsPerTask: Int = 131_072) {
        client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        database = config.database
        self.rowsPerTask = max(1, rowsPerTask)
    }

    static let day: Int64 = 86_400_000

    public func scanPlan(_ request: ScanRequest) throws -> ScanPlan {
        guard request.from < request.to else { return ScanPlan(tasks: [], stats: ScanStats()) }
        let site = SQL.literal(request.site)
        let counts = try TabSeparated.parse(try client.query("""
            SELECT intDiv(ts, \(Self.day)) AS d, count(), min(ts), max(ts) FROM events
            WHERE site = \(site) AND ts >= \(request.from) AND ts < \(request.to)
            GROUP BY d ORDER BY d FORMAT TabSeparated
            """, database: database))
        var slices: [(from: Int64, to: Int64, rows: Int, minTs: Int64, maxTs: Int64)] = []
        for f in counts {
            guard f.count == 4 else { throw ClickHouseError("rows per day: expected 4 columns, got \(f.count)") }
            let d = try TabSeparated.int64(f[0]), n = Int(try TabSeparated.int64(f[1]))
            let lo = try TabSeparated.int64(f[2]), hi = try TabSeparated.int64(f[3])
            // A day number from the server; checked, not trusted (no overflow trap on a bad answer).
            let (dayStart, o1) = d.multipliedReportingOverflow(by: Self.day)
            let (dayEnd, o2) = dayStart.addingReportingOverflow(Self.day)
            guard !o1, !o2, n >= 0 else { throw ClickHouseError("rows per day: day \(d) or count \(n) out of range") }
            let (start, end) = (max(request.from, dayStart), min(request.to, dayEnd))
            if var last = slices.last, n <= rowsPerTask - last.rows {
                (last.to, last.rows, last.maxTs) = (end, last.rows + n, hi)
                slices[slices.count - 1] = last
            } else {
                slices.append((start, end, n, lo, hi))
            }
        }
        let columns = ColumnSet(rawValue: request.columns.rawValue | request.lateColumns.rawValue | ColumnSet([.ts]).rawValue)
        var stats = ScanStats()
        stats.rowsKept = slices.reduce(0) { $0 &+ $1.rows }
        let tasks = slices.map { s in
            ChunkTask(rowCount: s.rows, minTs: s.minTs, maxTs: s.maxTs) { [client, database, request] in
                let chunk = try Self.rows(client, database, site: request.site, from: s.from, to: s.to, columns: columns)
                guard let filter = request.rowFilter else { return chunk }
                let picked = filter(chunk)
                return picked.count == chunk.count ? chunk : chunk.gather(picked)
            }
        }
        return ScanPlan(tasks: tasks, stats: stats)
    }

    /// The SQL of one task: `columns` of the site's rows in `[from, to)`, in `ts` order, each
    /// cast to the width `RowBinaryReader` reads.
    static func rowsSQL(site: String, from: Int64, to: Int64, columns: ColumnSet) -> String {
        """
        SELECT \(columns.columns.map { RowBinary.cast(ClickHouseSchema.name($0), $0.kind) }.joined(separator: ", ")) FROM events
        WHERE site = \(SQL.literal(site)) AND ts >= \(from) AND ts < \(to)
        ORDER BY ts FORMAT RowBinary
        """
    }

    static func rows(_ client: ClickHouseClient, _ database: String, site: String, from: Int64, to: Int64,
                     columns: ColumnSet) throws -> ColumnChunk {
        let body = try client.query(rowsSQL(site: site, from: from, to: to, columns: columns), database: database)
        return try chunk(body, columns: columns)
    }

    /// A chunk of `columns` from `RowBinary` rows holding those columns in `Column` order.
    /// String columns are interned per chunk by their bytes (a dictionary in first-seen order,
    /// as memtable chunks have).
    static func chunk(_ body: [UInt8], columns: ColumnSet) throws(ClickHouseError) -> ColumnChunk {
        let wanted = columns.columns
        var r = RowBinaryReader(body)
        var c = ColumnChunk(count: 0)
        var strings: [Int: RowBinaryStrings] = [:]
        for col in wanted where col.kind == .string { strings[Int(col.rawValue)] = RowBinaryStrings(capacity: 1024) }
        var n = 0
        while !r.atEnd {
            for col in wanted {
                switch col {
                case .ts: c.ts.append(try r.int(Int64.self))
                case .type: c.type.append(try r.int(UInt8.self))
                case .visitor: c.visitor.append(try r.int(UInt64.self))
                case .session: c.session.append(try r.int(UInt64.self))
                case .value: c.value.append(try r.double())
                case .timeOnPage: c.timeOnPage.append(try r.int(Int32.self))
                case .x: c.x.append(try r.int(Int32.self))
                case .y: c.y.append(try r.int(Int32.self))
                case .scrollDepth: c.scrollDepth.append(try r.int(Int8.self))
                case .importId: c.importId.append(try r.int(UInt32.self))
                default:
                    let key = Int(col.rawValue)
                    let range = try r.string()
                    guard var t = strings[key] else { throw ClickHouseError("rows: unexpected column \(col.wireName)") }
                    strings[key] = nil  // keeps the arrays uniquely referenced while they grow
                    t.append(range, in: body)
                    strings[key] = t
                }
            }
            n += 1
        }
        c.count = n
        for col in wanted where col.kind == .string {
            guard let t = strings[Int(col.rawValue)] else { continue }
            c.setString(col, t.column)
        }
        return c
    }
}
