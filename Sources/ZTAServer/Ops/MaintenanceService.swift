import Foundation
import GRDB
import Logging
import ServiceLifecycle
import ZTAEngine

/// Background maintenance of the event store while serving: every `maintenanceInterval`
/// seconds one `MaintenanceScheduler` pass — memtable flush by age, compaction by policy, and
/// once a (UTC) day each site's `settings.dataRetention` (api.md §7.1).
///
/// The passes are driven from this service rather than the scheduler's own thread because
/// `MaintenanceScheduler.stop()` does not wait for a pass in progress: awaiting the pass here
/// lets graceful shutdown (SIGTERM) finish it before the database is closed.
struct MaintenanceService: Service {
    let core: ServerCore

    func run() async throws {
        let interval = core.config.maintenanceInterval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                await core.runMaintenancePass()
            }
        }
        // Nothing else may start one; a pass in progress has finished (it was awaited).
        core.maintenance.stop()
    }
}

extension ServerCore {
    /// One maintenance pass on a GCD thread (it does file I/O and fsyncs), logged when it fails,
    /// then the activity log's retention as of `nowMs` (tests pass a simulated clock).
    func runMaintenancePass(nowMs: Int64 = Clock.nowMs()) async {
        let m = maintenance
        let errorsBefore = m.stats.errors
        _ = try? await Blocking.run { m.runOnce() }
        let after = m.stats
        if after.errors > errorsBefore {
            logger.error("maintenance failed", metadata: ["error": "\(after.lastError ?? "?")"])
        }
        await pruneActivityLog(nowMs: nowMs)
    }

    /// Retention in days per site from `settings.dataRetention` (absent or 0: keep forever).
    static func retentionDays(_ meta: MetaStore) -> [String: Int] {
        let rows = try? meta.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, data_retention FROM sites WHERE data_retention > 0")
        }
        var out: [String: Int] = [:]
        for row in rows ?? [] {
            let id: String = row["id"]
            let days: Int = row["data_retention"]
            out[id] = days
        }
        return out
    }
}
