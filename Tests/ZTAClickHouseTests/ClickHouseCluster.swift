import Foundation
import XCTest
import ZTAClickHouse
import ZTATestSupport

/// The two local `clickhouse-server` shards the ClickHouse store's tests run against: the shared
/// runner (`ClickHouseLocalCluster`) in a directory of their own, started on first use (or given
/// by `ZTAS_CH_SHARD1`/`ZTAS_CH_SHARD2` when an outer script started them). Without the Debian
/// package the tests skip loudly; with `CI=true` a missing server is a failure.
enum ClickHouseTestCluster {
    static let local = ClickHouseLocalCluster(name: "ztas-clickhouse-tests")
    typealias Shards = ClickHouseLocalCluster.Shards

    nonisolated(unsafe) private static var cached: Result<Shards, Error>?
    private static let lock = NSLock()

    /// The running shards, starting them on first use.
    static func shards() throws -> Shards {
        lock.lock(); defer { lock.unlock() }
        if let cached { return try cached.get() }
        let r = Result { () throws -> Shards in
            let env = ProcessInfo.processInfo.environment
            if let a = env["ZTAS_CH_SHARD1"], let b = env["ZTAS_CH_SHARD2"] {
                return Shards(shard1: try ClickHouseLocalCluster.endpoint(a), shard2: try ClickHouseLocalCluster.endpoint(b),
                              cluster: env["ZTAS_CH_CLUSTER"] ?? "ztas", startedHere: false)
            }
            return try local.start()
        }
        cached = r
        return try r.get()
    }

    /// Stops the servers if these tests started them.
    static func stopIfStarted() {
        lock.lock(); defer { lock.unlock() }
        guard case .success(let s)? = cached, s.startedHere else { return }
        local.stop()
        cached = nil
    }

    /// Whether these tests can take the servers down and up again: they run from their own
    /// directory (started here or by an earlier run), not at addresses an outer script gave.
    static var controllable: Bool {
        ProcessInfo.processInfo.environment["ZTAS_CH_SHARD1"] == nil && local.isRunningHere
    }

    /// Kills both servers with SIGKILL; `revive` brings them back on the same ports, so the
    /// cached `Shards` stay right for the tests that follow.
    static func kill() throws { try local.kill() }
    static func revive() throws { try local.revive() }

    /// The shards, or a skip (developers) / failure (CI) when clickhouse-server is not installed.
    static func require() throws -> Shards {
        do {
            return try shards()
        } catch let m as ClickHouseLocalCluster.Missing {
            let msg = "clickhouse-server is not installed: the ClickHouse store's tests did not run "
                + "(apt-get install -y clickhouse-server clickhouse-client). \(m.description)"
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("CI: " + msg)
                throw m
            }
            print("SKIP ************************************************************\n"
                  + "SKIP \(msg)\n"
                  + "SKIP ************************************************************")
            throw XCTSkip(msg)
        }
    }
}
