public import ZTAFormat

/// What a reader asks of the store: one site's rows in a half-open time range, only some columns.
public struct ScanRequest: Sendable {
    public var site: String
    /// Half-open interval `[from, to)` in ms since the epoch, UTC.
    public var from: Int64
    public var to: Int64
    /// Columns to decode. `ts` is always decoded.
    public var columns: ColumnSet
    /// Optional block pruning: return false to skip a block that cannot hold a wanted row.
    public var blockFilter: (@Sendable (BlockPruneContext) -> Bool)?
    /// When set, `visitor` / `session` chunks stored dictionary-encoded come back as their block
    /// dictionary only (`ColumnChunk.visitorCodes` / `sessionCodes`), with the 64-bit arrays left
    /// empty — for readers that work on codes and would otherwise pay for expanding every row.
    /// Memtable chunks and other encodings still come with their values.
    public var idsAsCodes = false
    /// Late materialization: when set, each chunk holds only the rows this picks (strictly
    /// ascending indices into the chunk it is given). The chunk it sees has `columns` minus
    /// `lateColumns`; the late ones are then decoded at the picked rows alone (segment blocks) or
    /// gathered (memtable chunks). Block codes of `visitor` / `session` are not kept.
    public var rowFilter: (@Sendable (ColumnChunk) -> [Int32])?
    /// Columns decoded only at the rows `rowFilter` picks.
    public var lateColumns: ColumnSet = []
    /// With `rowFilter`: a segment block lying wholly inside `[from, to)` comes without `ts`
    /// (every row is in range), for readers that need `ts` only to filter.
    public var tsOnlyAtEdges = false

    public init(site: String, from: Int64, to: Int64, columns: ColumnSet,
                blockFilter: (@Sendable (BlockPruneContext) -> Bool)? = nil) {
        self.site = site
        self.from = from
        self.to = to
        var cols = columns
        cols.insert(.ts)
        self.columns = cols
        self.blockFilter = blockFilter
    }
}

/// What a block filter sees: the block's statistics and its segment's dictionaries.
public struct BlockPruneContext: Sendable {
    public let stats: BlockStats
    /// The segment's (sorted) dictionary of a string column, when the block comes from a segment.
    public let dictionary: @Sendable (Column) -> StringDictionary?
    public init(stats: BlockStats, dictionary: @escaping @Sendable (Column) -> StringDictionary?) {
        self.stats = stats
        self.dictionary = dictionary
    }
}

/// Counts of what the planner kept and skipped, for `explain`.
public struct ScanStats: Sendable, Equatable {
    public var partitionsTotal = 0, partitionsKept = 0
    public var segmentsTotal = 0, segmentsKept = 0
    public var blocksTotal = 0, blocksKept = 0
    public var memtableRows = 0
    public var rowsKept = 0
    public init() {}
}

/// One independently decodable unit of a scan: a segment block or a memtable snapshot.
/// Chunks may hold rows outside the requested interval; readers filter by `ts`.
public struct ChunkTask: Sendable {
    public let rowCount: Int
    public let minTs: Int64
    public let maxTs: Int64
    private let loader: @Sendable () throws -> ColumnChunk
    public init(rowCount: Int, minTs: Int64, maxTs: Int64, loader: @escaping @Sendable () throws -> ColumnChunk) {
        self.rowCount = rowCount
        self.minTs = minTs
        self.maxTs = maxTs
        self.loader = loader
    }
    /// Decodes the chunk's requested columns (may run on any thread).
    public func load() throws -> ColumnChunk { try loader() }
}

/// The tasks of a scan, ordered by `minTs`, and the pruning counts.
public struct ScanPlan: Sendable {
    public var tasks: [ChunkTask]
    public var stats: ScanStats
    public init(tasks: [ChunkTask], stats: ScanStats) {
        self.tasks = tasks
        self.stats = stats
    }
}

/// Anything a query can read events from: the database, or an in-memory set in tests.
public protocol EventSource: Sendable {
    func scanPlan(_ request: ScanRequest) throws -> ScanPlan
}

/// An `EventSource` over chunks held in memory (tests, references, small tools).
/// Prunes chunks by time only; `blockFilter` is not applied (chunks carry no block statistics).
public struct InMemoryEventSource: EventSource {
    public var chunksBySite: [String: [ColumnChunk]]
    public init(chunksBySite: [String: [ColumnChunk]]) { self.chunksBySite = chunksBySite }

    public func scanPlan(_ request: ScanRequest) throws -> ScanPlan {
        var stats = ScanStats()
        var tasks: [ChunkTask] = []
        for chunk in chunksBySite[request.site] ?? [] where chunk.count > 0 {
            stats.blocksTotal += 1
            let lo = chunk.ts.min()!, hi = chunk.ts.max()!
            if hi < request.from || lo >= request.to { continue }
            stats.blocksKept += 1
            stats.rowsKept += chunk.count
            let filter = request.rowFilter
            tasks.append(ChunkTask(rowCount: chunk.count, minTs: lo, maxTs: hi) { filter.map { chunk.gather($0(chunk)) } ?? chunk })
        }
        tasks.sort { $0.minTs < $1.minTs }
        return ScanPlan(tasks: tasks, stats: stats)
    }
}
