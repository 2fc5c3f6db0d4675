public import ZTAFormat
public import ZTAStorage

/// Writes events into the ClickHouse `events` table in large `TabSeparated` batches: rows of
/// columnar chunks (an embedded store's segments — `ztas migrate --to`, imports) or tracked
/// records. On a cluster the insert goes through the `Distributed` table synchronously
/// (`insert_distributed_sync`), so a batch is on its shard when the call returns.
public struct ClickHouseEventWriter: Sendable {
    let client: ClickHouseClient
    let database: String
    let settings: [(String, String)]
    /// Rows per INSERT.
    public var batchRows = 200_000

    public init(config: ClickHouseConfig) {
        client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        database = config.database
        settings = config.cluster != nil ? [("insert_distributed_sync", "1")] : []
    }

    static let insertStatement = "INSERT INTO events (\(Column.allCases.map(ClickHouseSchema.name).joined(separator: ", "))) FORMAT TabSeparated"
    /// The same with `batch_id` last: tracked events shipped from an outbox. Imports and
    /// migrations leave the column out, so their rows get its default, 0.
    static let insertWithBatchStatement =
        "INSERT INTO events (\(Column.allCases.map(ClickHouseSchema.name).joined(separator: ", ")), \(ClickHouseSchema.batchIdColumn)) FORMAT TabSeparated"

    /// Inserts tracked or imported records (one INSERT per `batchRows`).
    public func insert(_ records: [EventRecord]) throws(ClickHouseError) {
        var start = 0
        while start < records.count {
            let end = min(records.count, start + batchRows)
            try insert(ColumnChunk.from(records: Array(records[start..<end])))
            start = end
        }
    }

    /// Inserts an outbox batch in one INSERT, every row tagged with `batchId` (its `batch_id`,
    /// by which a batch whose fate is unknown is found again: `ClickHouseBatchLedger`).
    public func insert(_ records: [EventRecord], batchId: UInt64, timeoutSeconds: Int64 = 300) throws(ClickHouseError) {
        guard !records.isEmpty else { return }
        var data: [UInt8] = []
        Self.appendTabSeparated(ColumnChunk.from(records: records), to: &data, batchId: batchId)
        try client.insert(Self.insertWithBatchStatement, data: data, database: database, settings: settings,
                          timeoutSeconds: timeoutSeconds)
    }

    /// Inserts every row of `chunk`, which must hold every column (a scan with `ColumnSet.all`).
    public func insert(_ chunk: ColumnChunk) throws(ClickHouseError) {
        guard chunk.count > 0 else { return }
        _ = try client.insert(Self.insertStatement, data: Self.tabSeparated(chunk), database: database, settings: settings)
    }

    /// Copies every event of `sites` from `source` (all of time), one INSERT per `batchRows`
    /// accumulated rows, with `importId` in place of the rows' own when given. Returns the
    /// number of rows copied.
    @discardableResult
    public func copy(from source: any EventSource, sites: [String], importId: UInt32? = nil) throws -> Int {
        var copied = 0
        var pending: [UInt8] = []
        var pendingRows = 0
        func flush() throws {
            guard pendingRows > 0 else { return }
            try client.insert(Self.insertStatement, data: pending, database: database, settings: settings)
            copied += pendingRows
            pending.removeAll(keepingCapacity: true)
            pendingRows = 0
        }
        for site in sites {
            let plan = try source.scanPlan(ScanRequest(site: site, from: .min, to: .max, columns: .all))
            for task in plan.tasks {
                var chunk = try task.load()
                if let importId { chunk.importId = [UInt32](repeating: importId, count: chunk.count) }
                Self.appendTabSeparated(chunk, to: &pending)
                pendingRows += chunk.count
                if pendingRows >= batchRows { try flush() }
            }
        }
        try flush()
        return copied
    }

    static func tabSeparated(_ c: ColumnChunk) -> [UInt8] {
        var out: [UInt8] = []
        appendTabSeparated(c, to: &out)
        return out
    }

    /// Rows in `Column` order (then `batchId`, when given); each dictionary string escaped once
    /// per chunk, not per row.
    static func appendTabSeparated(_ c: ColumnChunk, to out: inout [UInt8], batchId: UInt64? = nil) {
        let escaped: [[[UInt8]]] = StringColumns.all.map { col in
            guard let s = c.string(col) else { return [] }
            return s.dictionary.values.map { v in var b: [UInt8] = []; TabSeparated.appendField(v, to: &b); return b }
        }
        out.reserveCapacity(out.count + c.count * 160)
        for i in 0..<c.count {
            for (k, col) in Column.allCases.enumerated() {
                if k > 0 { out.append(9) }
                switch col {
                case .ts: TabSeparated.appendInt(c.ts.isEmpty ? 0 : c.ts[i], to: &out)
                case .type: TabSeparated.appendInt(c.type.isEmpty ? 0 : c.type[i], to: &out)
                case .visitor: TabSeparated.appendInt(c.visitor.isEmpty ? 0 : c.visitor[i], to: &out)
                case .session: TabSeparated.appendInt(c.session.isEmpty ? 0 : c.session[i], to: &out)
                case .value: out.append(contentsOf: (c.value.isEmpty ? 0 : c.value[i]).description.utf8)
                case .timeOnPage: TabSeparated.appendInt(c.timeOnPage.isEmpty ? 0 : c.timeOnPage[i], to: &out)
                case .x: TabSeparated.appendInt(c.x.isEmpty ? 0 : c.x[i], to: &out)
                case .y: TabSeparated.appendInt(c.y.isEmpty ? 0 : c.y[i], to: &out)
                case .scrollDepth: TabSeparated.appendInt(c.scrollDepth.isEmpty ? 0 : c.scrollDepth[i], to: &out)
                case .importId: TabSeparated.appendInt(c.importId.isEmpty ? 0 : c.importId[i], to: &out)
                default:
                    if let si = col.stringIndex, let s = c.string(col), i < s.codes.count {
                        let code = Int(s.codes[i])
                        if code < escaped[si].count { out.append(contentsOf: escaped[si][code]) }
                    } else if col == .path {
                        out.append(UInt8(ascii: "/"))
                    } else if col == .channel {
                        out.append(contentsOf: "direct".utf8)
                    }
                }
            }
            if let batchId {
                out.append(9)
                TabSeparated.appendInt(batchId, to: &out)
            }
            out.append(10)
        }
    }
}
