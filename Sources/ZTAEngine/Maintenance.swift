public import Foundation
public import ZTAStorage

/// When a partition deserves compaction: too many segments, or several small ones. Trickle
/// ingest (a flush every few minutes) and imports leave many small segments; each costs a
/// footer read and per-segment dictionary work on every query.
public struct CompactionPolicy: Sendable {
    /// Compact a partition holding more segments than this …
    public var maxSegments = 8
    /// … or at least `minSmallSegments` segments below `smallSegmentRows` rows.
    public var smallSegmentRows = 262_144
    public var minSmallSegments = 4
    public init() {}

    func wants(_ segments: [SegmentMeta]) -> Bool {
        if segments.count > maxSegments { return true }
        return segments.filter { $0.rows < smallSegmentRows }.count >= minSmallSegments
    }
}

/// What a compaction pass did.
public struct CompactionSummary: Sendable {
    public var partitions = 0
    public var segmentsBefore = 0
    public var segmentsAfter = 0
    public var bytesBefore = 0
    public var bytesAfter = 0
    public var rows = 0
    public var seconds = 0.0
}

extension Database {
    /// Compacts every partition the policy selects (all with ≥ 2 segments when `policy` is nil),
    /// one at a time: each partition is one manifest swap, so a crash leaves it before or after.
    public func compact(site: String? = nil, policy: CompactionPolicy? = nil,
                        progress: ((Int, Int) -> Void)? = nil) throws -> CompactionSummary {
        let start = Date()
        var summary = CompactionSummary()
        let chosen = compactionPlan(site: site, policy: policy)
        for (i, (key, members)) in chosen.enumerated() {
            // A merge takes at most 8 segments (its memory is a block per input): repeat until
            // the partition is one segment (no policy) or the policy is content. A merge that
            // changed nothing (a deletion raced it) ends the partition's turn.
            summary.partitions += 1
            summary.segmentsBefore += members.count
            summary.bytesBefore += members.reduce(0) { $0 + $1.bytes }
            summary.rows += members.reduce(0) { $0 + $1.rows }
            var live = members
            while live.count >= 2 && (policy?.wants(live) ?? true) {
                let r = try store.compact(key)
                let next = store.segmentList.filter { $0.partition == key }
                if r.segments < 2 || next.count >= live.count { break }
                live = next
            }
            summary.segmentsAfter += live.count
            summary.bytesAfter += live.reduce(0) { $0 + $1.bytes }
            progress?(i + 1, chosen.count)
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    /// Segments and bytes per partition that `compact` would merge (a dry run).
    public func compactionPlan(site: String? = nil, policy: CompactionPolicy? = nil) -> [(PartitionKey, [SegmentMeta])] {
        var byPartition: [PartitionKey: [SegmentMeta]] = [:]
        for m in store.segmentList where site == nil || m.partition.site == site { byPartition[m.partition, default: []].append(m) }
        return byPartition.filter { $0.value.count >= 2 && (policy?.wants($0.value) ?? true) }.sorted { $0.key < $1.key }
    }
}

/// Counters of the background maintenance, for `/metrics`.
public struct MaintenanceStats: Sendable {
    public var compactions = 0
    public var segmentsMerged = 0
    public var bytesRewritten = 0
    public var retentionDeleted = 0
    public var flushes = 0
    public var errors = 0
    public var lastError: String?
}

/// A background thread that keeps a serving database tidy: flushes the memtable by age,
/// compacts partitions by policy, and applies each site's retention once a day. It runs at
/// background priority and one partition at a time, so ingest and queries keep their latency
/// (appends never wait for it; queries read the old segments until the manifest swap).
public final class MaintenanceScheduler: @unchecked Sendable {
    private let db: Database
    private let policy: CompactionPolicy
    private let interval: TimeInterval
    /// Retention in days per site id (sites without an entry keep everything).
    private let retentionDays: @Sendable () -> [String: Int]
    /// Where retention deletes: the store that holds the events (`db` itself unless the server
    /// runs on another, e.g. ClickHouse, where `db` only flushes and compacts).
    private let events: any EventBackend
    private let lock = NSCondition()
    private var stopped = false
    private var thread: Thread?
    private var lastRetentionDay: Int64 = -1
    private var current = MaintenanceStats()
    /// Runs after a pass that flushed or compacted (the server returns the freed heap to the
    /// kernel: a merge's blocks are tens of MB that glibc would otherwise keep).
    private let afterWork: @Sendable () -> Void

    public init(database: Database, policy: CompactionPolicy = CompactionPolicy(), interval: TimeInterval = 30,
                retentionDays: @escaping @Sendable () -> [String: Int] = { [:] },
                events: (any EventBackend)? = nil,
                afterWork: @escaping @Sendable () -> Void = {}) {
        self.afterWork = afterWork
        self.db = database
        self.events = events ?? database
        self.policy = policy
        self.interval = interval
        self.retentionDays = retentionDays
    }

    public var stats: MaintenanceStats {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func start() {
        let t = Thread { [weak self] in self?.loop() }
        t.qualityOfService = .background
        t.name = "ztas-maintenance"
        thread = t
        t.start()
    }

    /// Stops after the current step (a compaction in progress finishes: it is one manifest swap).
    public func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        lock.unlock()
    }

    private func loop() {
        while true {
            lock.lock()
            if !stopped { _ = lock.wait(until: Date().addingTimeInterval(interval)) }
            let done = stopped
            lock.unlock()
            if done { return }
            runOnce()
        }
    }

    /// One maintenance pass (also callable directly, e.g. from tests).
    public func runOnce(now: Date = Date()) {
        do {
            let before = db.store.memtableRows
            try db.store.flushIfNeeded()
            let flushed = before > 0 && db.store.memtableRows < before
            if flushed { record { $0.flushes += 1 } }
            let s = try db.compact(policy: policy)
            if flushed || s.partitions > 0 { afterWork() }
            record {
                $0.compactions += s.partitions
                $0.segmentsMerged += s.segmentsBefore
                $0.bytesRewritten += s.bytesAfter
            }
            let day = Int64(now.timeIntervalSince1970 / 86_400)
            if day != lastRetentionDay {
                lastRetentionDay = day
                let nowMs = Int64(now.timeIntervalSince1970 * 1000)
                for (site, days) in retentionDays() where days > 0 {
                    let removed = try events.applyRetention(site: site, cutoff: nowMs - Int64(days) * 86_400_000)
                    record { $0.retentionDeleted += removed }
                }
            }
        } catch {
            record {
                $0.errors += 1
                $0.lastError = "\(error)"
            }
        }
    }

    private func record(_ f: (inout MaintenanceStats) -> Void) {
        lock.lock()
        f(&current)
        lock.unlock()
    }
}
