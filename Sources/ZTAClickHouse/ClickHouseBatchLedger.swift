/// Finds and removes the rows of one outbox batch by their `batch_id` — the deduplication of
/// the shipper's retries.
///
/// ClickHouse 18.16 deduplicates retried inserts only on `Replicated*MergeTree` tables (by the
/// block's checksum, through ZooKeeper); the plain `MergeTree` tables ztas creates store a
/// retried batch twice. So a batch whose insert may or may not have landed (the shipper crashed
/// or the insert failed after it was sent) is looked up by its id first: all of its rows there →
/// it is not sent again; none → it is sent; some (a `Distributed` insert that reached one shard
/// and not the other, or was cut short) → they are deleted and the batch is sent again.
struct ClickHouseBatchLedger: Sendable {
    let config: ClickHouseConfig

    /// The condition selecting a batch's rows; the batch's `ts` range lets the server skip the
    /// partitions (months) the batch cannot be in.
    static func condition(batchId: UInt64, tsFrom: Int64, tsTo: Int64) -> String {
        "\(ClickHouseSchema.batchIdColumn) = \(batchId) AND ts >= \(tsFrom) AND ts <= \(tsTo)"
    }

    /// Rows stored under `batchId`. Every shard must answer, or this throws (ztas never sets
    /// `skip_unavailable_shards`): a shard that is down must not read as "nothing there".
    func rows(batchId: UInt64, tsFrom: Int64, tsTo: Int64) throws(ClickHouseError) -> Int {
        let client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        let sql = "SELECT count() FROM events WHERE \(Self.condition(batchId: batchId, tsFrom: tsFrom, tsTo: tsTo)) FORMAT TabSeparated"
        let rows = try TabSeparated.parse(try client.query(sql, database: config.database))
        guard let f = rows.first?.first else { throw ClickHouseError("no answer to the batch count") }
        return Int(truncatingIfNeeded: try TabSeparated.int64(f))
    }

    /// Deletes the batch's rows on every shard and waits until they are gone.
    func remove(batchId: UInt64, tsFrom: Int64, tsTo: Int64) throws(ClickHouseError) {
        try ClickHouseDeletion(config: config).delete(where: Self.condition(batchId: batchId, tsFrom: tsFrom, tsTo: tsTo))
    }
}
