import Foundation
import Prometheus
import Synchronization
import ZTAClickHouse
import ZTAEngine
import ZTAStorage

/// The `/metrics` registry (api.md §9). Label values are bounded: route templates, methods,
/// status codes, event types, reasons — never site or user ids or paths.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Ingests waiting for their WAL group commit.
    let ingestQueueDepth = Atomic<Int>(0)

    static let eventTypes = ["pageview", "event", "engagement", "heartbeat", "click", "scroll", "move"]
    static let dropReasons = ["bot", "origin", "excluded_path", "invalid", "rate_limited"]

    /// The fixed-label counters, made once: the registry validates names and labels and takes
    /// its lock on every `make…` call, too much for once per tracked event.
    private let ingestedByKey: [String: Counter]
    private let droppedByReason: [String: Counter]
    private let webhookResults: [String: Counter]
    private let webhookDroppedTotal: Counter

    /// Request series by (method, route, status) and histograms by (method, route), made on
    /// first use (route templates and statuses are few).
    private struct SeriesKey: Hashable { var method: String; var route: String; var status: Int }
    private let requestCounters = Mutex<[SeriesKey: Counter]>([:])
    private let requestDurations = Mutex<[SeriesKey: DurationHistogram]>([:])

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var ingested: [String: Counter] = [:]
        for t in Self.eventTypes {
            for s in ["track", "import"] {
                ingested[t + "|" + s] = registry.makeCounter(descriptor: Self.name("zta_events_ingested_total", "Events stored"),
                                                             labels: [("type", t), ("source", s)])
            }
        }
        ingestedByKey = ingested
        var dropped: [String: Counter] = [:]
        for r in Self.dropReasons {
            dropped[r] = registry.makeCounter(descriptor: Self.name("zta_events_dropped_total", "Tracked events not stored"),
                                              labels: [("reason", r)])
        }
        droppedByReason = dropped
        var results: [String: Counter] = [:]
        for r in Self.webhookResultLabels {
            results[r] = registry.makeCounter(descriptor: Self.name("zta_webhook_deliveries_total", "Webhook deliveries"), labels: [("result", r)])
        }
        webhookResults = results
        webhookDroppedTotal = registry.makeCounter(descriptor: Self.name("zta_webhook_dropped_total",
                                                                         "Pending webhook deliveries dropped (queue full, webhook removed)"))
        for r in ["accepted", "rejected"] { _ = importLines(r) }
    }

    /// api.md §9: a delivery ends `success` or `failed` (all attempts used, or refused); a
    /// pending one thrown away is `dropped`.
    static let webhookResultLabels = ["success", "failed", "dropped"]

    func webhookDelivery(_ result: String) {
        webhookResults[result]?.increment()
    }

    /// Pending deliveries thrown away: counted under `result="dropped"` and in `zta_webhook_dropped_total`.
    func webhookDropped(_ n: Int) {
        guard n > 0 else { return }
        webhookResults["dropped"]?.increment(by: Int64(n))
        webhookDroppedTotal.increment(by: Int64(n))
    }

    static func name(_ n: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: n, unitName: "", helpText: help)
    }

    func request(method: String, route: String, status: Int, seconds: Double) {
        let key = SeriesKey(method: method, route: route, status: status)
        let counter = requestCounters.withLock { c in
            if let existing = c[key] { return existing }
            let made = registry.makeCounter(descriptor: Self.name("zta_http_requests_total", "HTTP requests by route template and status"),
                                            labels: [("method", method), ("route", route), ("status", String(status))])
            c[key] = made
            return made
        }
        counter.increment()
        let hkey = SeriesKey(method: method, route: route, status: 0)
        let histogram = requestDurations.withLock { h in
            if let existing = h[hkey] { return existing }
            let made = registry.makeDurationHistogram(
                descriptor: Self.name("zta_http_request_duration_seconds", "HTTP request duration"),
                labels: [("method", method), ("route", route)],
                buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                          .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
                          .seconds(5), .seconds(10)])
            h[hkey] = made
            return made
        }
        histogram.record(.nanoseconds(Int64(seconds * 1e9)))
    }

    private func ingestedCounter(_ type: String, _ source: String) -> Counter {
        ingestedByKey[type + "|" + source] ?? registry.makeCounter(descriptor: Self.name("zta_events_ingested_total", "Events stored"),
                                                                    labels: [("type", type), ("source", source)])
    }

    private func droppedCounter(_ reason: String) -> Counter {
        droppedByReason[reason] ?? registry.makeCounter(descriptor: Self.name("zta_events_dropped_total", "Tracked events not stored"),
                                                         labels: [("reason", reason)])
    }

    private func importLines(_ result: String) -> Counter {
        registry.makeCounter(descriptor: Self.name("zta_import_lines_total", "Import lines by result"),
                             labels: [("result", result)])
    }

    func ingested(type: String, source: String, count: Int = 1) {
        if count > 0 { ingestedCounter(type, source).increment(by: Int64(count)) }
    }

    func dropped(_ reason: String, count: Int = 1) {
        if count > 0 { droppedCounter(reason).increment(by: Int64(count)) }
    }

    func importLines(accepted: Int, rejected: Int) {
        importLines("accepted").increment(by: Int64(accepted))
        importLines("rejected").increment(by: Int64(rejected))
    }

    /// A handler returned without the role/scope step while a key's scope was too weak (a bug;
    /// the answer was turned into a 403).
    func scopeCheckSkipped() {
        registry.makeCounter(descriptor: Self.name("zta_scope_check_skipped_total", "Handlers that skipped the key scope check"),
                             labels: []).increment()
    }

    func rateLimited(bucket: String) {
        registry.makeCounter(descriptor: Self.name("zta_rate_limited_total", "Requests refused by a rate limit"),
                             labels: [("bucket", bucket)]).increment()
    }

    /// The exposition text, with the gauges read now.
    func render(storedEvents: Int, segments: Int, memtableRows: Int, maintenance: MaintenanceStats,
                writes: WriteTimings = WriteTimings()) -> [UInt8] {
        registry.makeGauge(descriptor: Self.name("zta_ingest_queue_depth", "Tracked batches waiting for the WAL"))
            .set(Double(ingestQueueDepth.load(ordering: .relaxed)))
        registry.makeGauge(descriptor: Self.name("zta_stored_events", "Events in the store")).set(Double(storedEvents))
        registry.makeGauge(descriptor: Self.name("zta_segments", "Live segments in the store")).set(Double(segments))
        registry.makeGauge(descriptor: Self.name("zta_memtable_rows", "Rows in the memtable (not yet in segments)"))
            .set(Double(memtableRows))
        let p = ProcessStats.read()
        registry.makeGauge(descriptor: Self.name("process_resident_memory_bytes", "Resident memory")).set(p.rss)
        registry.makeGauge(descriptor: Self.name("process_virtual_memory_bytes", "Virtual memory")).set(p.vsize)
        registry.makeGauge(descriptor: Self.name("process_cpu_seconds_total", "User and system CPU time")).set(p.cpuSeconds)
        registry.makeGauge(descriptor: Self.name("process_open_fds", "Open file descriptors")).set(p.openFDs)
        registry.makeGauge(descriptor: Self.name("process_start_time_seconds", "Process start, Unix seconds")).set(ProcessStats.startTime)
        var out = registry.emitToBuffer()
        out.append(contentsOf: Self.maintenanceText(maintenance).utf8)
        out.append(contentsOf: Self.writeTimingsText(writes).utf8)
        return out
    }

    /// The engine's commit and flush latency histograms (Prometheus text, cumulative buckets).
    static func writeTimingsText(_ w: WriteTimings) -> String {
        var s = ""
        for (name, help, h) in [("zta_wal_commit_seconds", "Group commits: WAL write and fsync", w.commits),
                                ("zta_memtable_flush_seconds", "Memtable flushes to segments", w.flushes)] {
            s += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            var cumulative = 0
            for (b, bound) in WriteTimings.bounds.enumerated() {
                cumulative += h.counts[b]
                s += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
            }
            s += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sumSeconds)\n\(name)_count \(h.count)\n"
        }
        s += "# HELP zta_memtable_inline_flushes_total Flushes that ran on the tracking path (its requests waited)\n"
        s += "# TYPE zta_memtable_inline_flushes_total counter\nzta_memtable_inline_flushes_total \(w.inlineFlushes)\n"
        return s
    }

    /// The ClickHouse shipper's figures (only with `--events clickhouse://…`): what the outbox
    /// holds unshipped, and running totals kept by the shipper.
    static func clickHouseShippingText(outboxRows: Int, stats: OutboxShipper.Stats) -> String {
        let series: [(String, String, String, Int)] = [
            ("zta_clickhouse_outbox_rows", "gauge", "Tracked events acknowledged and not yet shipped to ClickHouse", outboxRows),
            ("zta_clickhouse_shipped_total", "counter", "Tracked events inserted into ClickHouse by the shipper", stats.shippedRows),
            ("zta_clickhouse_ship_errors_total", "counter", "Failed shipping rounds (each retried)", stats.errors),
            ("zta_clickhouse_duplicate_batches_total", "counter",
             "Resumed batches found already stored in ClickHouse (not sent again)", stats.duplicateBatchesSkipped),
        ]
        var s = ""
        for (name, type, help, v) in series {
            s += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(v)\n"
        }
        return s
    }

    /// The maintenance counters. The scheduler keeps running totals, so they are written as
    /// they are rather than through the registry's increment-only counters.
    static func maintenanceText(_ m: MaintenanceStats) -> String {
        let counters: [(String, String, Int)] = [
            ("zta_compactions_total", "Partitions compacted", m.compactions),
            ("zta_compaction_segments_merged_total", "Segments merged away by compaction", m.segmentsMerged),
            ("zta_retention_deleted_events_total", "Events deleted by data retention", m.retentionDeleted),
            ("zta_memtable_flushes_total", "Memtable flushes by the maintenance job", m.flushes),
            ("zta_maintenance_errors_total", "Failed maintenance passes", m.errors),
        ]
        var s = ""
        for (name, help, v) in counters {
            s += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(v)\n"
        }
        return s
    }
}

/// Process figures from /proc (Linux); zeros elsewhere.
enum ProcessStats {
    static let startTime = Date().timeIntervalSince1970

    struct Sample { var rss = 0.0, vsize = 0.0, cpuSeconds = 0.0, openFDs = 0.0 }

    static func read() -> Sample {
        var s = Sample()
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return s }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command: state is index 0, utime 11, stime 12, vsize 20, rss 21 (pages).
        if fields.count > 21 {
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            s.cpuSeconds = ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / max(ticks, 1)
            s.vsize = Double(fields[20]) ?? 0
            s.rss = (Double(fields[21]) ?? 0) * Double(sysconf(Int32(_SC_PAGESIZE)))
        }
        s.openFDs = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        return s
    }
}
