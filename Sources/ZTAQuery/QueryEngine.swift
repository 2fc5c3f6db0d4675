public import ZTAStorage
#if canImport(Glibc)
import Glibc
#endif

/// The query layer's entry point: runs parsed requests against an `EventSource` and returns the
/// exact JSON bodies of api.md §6.
public final class QueryEngine: Sendable {
    /// The rows that heatmaps, exports, realtime and conversions scan.
    let source: any EventSource
    /// Where the logical aggregate queries (stats, stats-api, dashboard, summaries) run.
    let aggregates: any AggregateBackend
    /// Where the heatmap endpoints read one page's rows (and the pages list its counts).
    let heatmaps: any HeatmapBackend
    /// Where realtime gathers its accumulators.
    let realtimeBackend: any RealtimeBackend
    let threads: Int

    /// `threads` workers scan chunks and aggregate in parallel (sessions and visitors are split
    /// between them by id).
    public init(source: any EventSource, threads: Int = 2) {
        self.source = source
        self.threads = max(1, threads)
        self.aggregates = EmbeddedAggregates(source: source, threads: threads)
        self.heatmaps = EmbeddedHeatmaps(source: source, threads: max(1, threads))
        self.realtimeBackend = EmbeddedRealtime(source: source)
        _ = QueryEngine.mallocTuned
    }

    /// A query engine whose aggregate, heatmap and realtime queries run on another store
    /// (e.g. ClickHouse's SQL; nil `heatmaps` / `realtime`: scan `source`); the queries not yet
    /// compiled for it (exports, goals, funnels) scan `source`.
    package init(source: any EventSource, aggregates: any AggregateBackend, heatmaps: (any HeatmapBackend)? = nil,
                 realtime: (any RealtimeBackend)? = nil, threads: Int = 2) {
        self.source = source
        self.threads = max(1, threads)
        self.aggregates = aggregates
        self.heatmaps = heatmaps ?? EmbeddedHeatmaps(source: source, threads: max(1, threads))
        self.realtimeBackend = realtime ?? EmbeddedRealtime(source: source)
        _ = QueryEngine.mallocTuned
    }

    /// Scans decode every block into fresh column arrays of a few hundred KiB. With glibc's
    /// defaults those are mmap'd or trimmed back to the kernel after each query, so every query
    /// paid page faults and kernel page zeroing for the same memory again; keep it in the heap.
    private static let mallocTuned: Bool = {
        #if canImport(Glibc)
        // mallopt lives in <malloc.h>, which the Glibc module does not export: look it up.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
            let mallopt = unsafeBitCast(sym, to: Mallopt.self)
            _ = mallopt(-3, 32 << 20)   // M_MMAP_THRESHOLD (also stops glibc's dynamic adjustment)
            _ = mallopt(-1, 256 << 20)  // M_TRIM_THRESHOLD
        }
        #endif
        return true
    }()

    /// Frees the tables kept for reuse by the next query (up to 512 MiB of hash tables and
    /// session arrays). For an idle server: the next query pays fresh page faults instead.
    public static func releaseCachedMemory() {
        LargeAlloc.releasePool()
    }

    /// Body of `GET /api/stats-api`: `{ results: [...], query: {...} }`.
    public func statsAPI(_ r: StatsAPIRequest) throws -> [UInt8] {
        renderStatsAPI(r, try aggregates.aggregate(r.aggregateQuery))
    }

    /// Body of `GET /api/stats` (the dashboard): all panels from one scan.
    public func dashboard(_ r: DashboardRequest) throws -> [UInt8] {
        renderDashboard(r, try dashboardResult(r))
    }

    /// The plan of a stats-api request: the operator tree and the store's pruning counts
    /// (partitions / segments / blocks kept and skipped), without running the aggregation.
    public func explain(_ r: StatsAPIRequest) throws -> String {
        let plan = AggregatePlan(r.aggregateQuery)
        let sp = try source.scanPlan(plan.scanRequest)
        var outputs: [String] = []
        if let p = r.property {
            outputs.append("breakdown by \(p.rawValue), order by \(r.metrics.first?.rawValue ?? "visitors") desc then value asc, offset \(r.offset) limit \(r.limit)")
        } else if let b = r.buckets {
            outputs.append("series of \(b.count) \(b.interval.rawValue) buckets")
        } else {
            outputs.append("one row (realtime)")
        }
        outputs.append("metrics \(r.metrics.map(\.rawValue).joined(separator: ","))")
        var lines = plan.explainLines(outputs: outputs)
        let s = sp.stats
        lines.append("          partitions: \(s.partitionsKept) kept, \(s.partitionsTotal - s.partitionsKept) skipped of \(s.partitionsTotal)")
        lines.append("          segments:   \(s.segmentsKept) kept, \(s.segmentsTotal - s.segmentsKept) skipped of \(s.segmentsTotal)")
        lines.append("          blocks:     \(s.blocksKept) kept, \(s.blocksTotal - s.blocksKept) skipped of \(s.blocksTotal)")
        lines.append("          memtable rows: \(s.memtableRows); rows to read: \(s.rowsKept); chunk tasks: \(sp.tasks.count)")
        lines.append("Execution: \(threads) worker(s); sessions split by id between workers; waves of ≤ 2M rows")
        return lines.joined(separator: "\n") + "\n"
    }
}
