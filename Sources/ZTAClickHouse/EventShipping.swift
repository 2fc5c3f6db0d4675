public import ZTAFormat
public import ZTAStorage

/// Writes events into the ClickHouse `events` table in large `RowBinary` batches: rows of
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

    /// `RowBinary`, not text: ClickHouse 18.16 parses text floats with a fast parser that is not
    /// correctly rounded (`5.714285714285714` came back as `5.7142857142857135`, one ulp off), so
    /// `value` would not survive the trip; in binary every column arrives bit for bit.
    static let insertStatement = "INSERT INTO events (\(Column.allCases.map(ClickHouseSchema.name).joined(separator: ", "))) FORMAT RowBinary"
    /// The same with `batch_id` last: tracked events shipped from an outbox. Imports and
    /// migrations leave the column out, so their rows get its default, 0.
    static let insertWithBatchStatement =
        "INSERT INTO events (\(Column.allCases.map(ClickHouseSchema.name).joined(separator: ", ")), \(ClickHouseSchema.batchIdColumn)) FORMAT RowBinary"

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
        Self.appendRowBinary(ColumnChunk.from(records: records), to: &data, batchId: batchId)
        try client.insert(Self.insertWithBatchStatement, data: data, database: database, settings: settings,
                          timeoutSeconds: timeoutSeconds)
    }

    /// Inserts every row of `chunk`, which must hold every column (a scan with `ColumnSet.all`).
    public func insert(_ chunk: ColumnChunk) throws(ClickHouseError) {
        guard chunk.count > 0 else { return }
        _ = try client.insert(Self.insertStatement, data: Self.rowBinary(chunk), database: database, settings: settings)
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
                Self.appendRowBinary(chunk, to: &pending)
                pendingRows += chunk.count
                if pendingRows >= batchRows { try flush() }
            }
        }
        try flush()
        return copied
    }

    static func rowBinary(_ c: ColumnChunk) -> [UInt8] {
        var out: [UInt8] = []
        appendRowBinary(c, to: &out)
        return out
    }

    /// Rows in `Column` order (then `batchId`, when given) in ClickHouse's `RowBinary`: numbers
    /// little-endian at the column type's width, `Float64` as its bit pattern, strings (also
    /// `LowCardinality` ones) as a LEB128 length and the bytes. Each dictionary string is
    /// encoded once per chunk, not per row. A column missing from the chunk is written as its
    /// events.md default (0, `/` for path, `direct` for channel, empty strings).
    static func appendRowBinary(_ c: ColumnChunk, to out: inout [UInt8], batchId: UInt64? = nil) {
        func string(_ v: String) -> [UInt8] {
            var b: [UInt8] = []
            var n = UInt64(v.utf8.count)
            repeat {
                b.append(UInt8(n & 0x7F) | (n > 0x7F ? 0x80 : 0))
                n >>= 7
            } while n > 0
            b.append(contentsOf: v.utf8)
            return b
        }
        func int<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        let encoded: [[[UInt8]]] = StringColumns.all.map { col in
            c.string(col)?.dictionary.values.map(string) ?? []
        }
        let defaults: [[UInt8]] = StringColumns.all.map { col in
            string(col == .path ? "/" : col == .channel ? "direct" : "")
        }
        out.reserveCapacity(out.count + c.count * 120)
        for i in 0..<c.count {
            for col in Column.allCases {
                switch col {
                case .ts: int(c.ts.isEmpty ? 0 : c.ts[i])
                case .type: int(c.type.isEmpty ? 0 : c.type[i])
                case .visitor: int(c.visitor.isEmpty ? 0 : c.visitor[i])
                case .session: int(c.session.isEmpty ? 0 : c.session[i])
                case .value: int((c.value.isEmpty ? 0 : c.value[i]).bitPattern)
                case .timeOnPage: int(c.timeOnPage.isEmpty ? 0 : c.timeOnPage[i])
                case .x: int(c.x.isEmpty ? 0 : c.x[i])
                case .y: int(c.y.isEmpty ? 0 : c.y[i])
                case .scrollDepth: int(c.scrollDepth.isEmpty ? 0 : c.scrollDepth[i])
                case .importId: int(c.importId.isEmpty ? 0 : c.importId[i])
                default:
                    guard let si = col.stringIndex else { continue }
                    if let s = c.string(col), i < s.codes.count, Int(s.codes[i]) < encoded[si].count {
                        out.append(contentsOf: encoded[si][Int(s.codes[i])])
                    } else {
                        out.append(contentsOf: defaults[si])
                    }
                }
            }
            if let batchId { int(batchId) }
        }
    }
}
