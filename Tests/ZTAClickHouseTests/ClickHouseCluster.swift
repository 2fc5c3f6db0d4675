import Foundation
import XCTest
import ZTAClickHouse

/// The two local `clickhouse-server` shards the tests run against, started by
/// `scripts/clickhouse-cluster` (or given by `ZTAS_CH_SHARD1`/`ZTAS_CH_SHARD2` when an outer
/// script started them). Without the Debian package the tests skip loudly; with `CI=true`
/// a missing server is a failure.
enum ClickHouseTestCluster {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let dir = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/ztas-clickhouse-tests"

    struct Shards: Sendable {
        var shard1: ClickHouseEndpoint
        var shard2: ClickHouseEndpoint
        var cluster: String
        /// Whether these tests started the servers (and so stop them).
        var startedHere: Bool
    }

    nonisolated(unsafe) private static var cached: Result<Shards, Error>?
    private static let lock = NSLock()

    /// The running shards, starting them on first use.
    static func shards() throws -> Shards {
        lock.lock(); defer { lock.unlock() }
        if let cached { return try cached.get() }
        let r = Result { try start() }
        cached = r
        return try r.get()
    }

    private static func start() throws -> Shards {
        let env = ProcessInfo.processInfo.environment
        if let a = env["ZTAS_CH_SHARD1"], let b = env["ZTAS_CH_SHARD2"] {
            return Shards(shard1: try endpoint(a), shard2: try endpoint(b), cluster: env["ZTAS_CH_CLUSTER"] ?? "ztas", startedHere: false)
        }
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/clickhouse-cluster")
        p.arguments = ["start", dir]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 3 {
            throw Missing(message: text)
        }
        guard p.terminationStatus == 0 else { throw ClickHouseError("clickhouse-cluster start failed:\n\(text)") }
        let vars = try String(contentsOfFile: dir + "/env", encoding: .utf8)
        var kv: [String: String] = [:]
        for line in vars.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { kv[String(parts[0])] = String(parts[1]) }
        }
        guard let a = kv["ZTAS_CH_SHARD1"], let b = kv["ZTAS_CH_SHARD2"] else { throw ClickHouseError("no shards in \(dir)/env") }
        return Shards(shard1: try endpoint(a), shard2: try endpoint(b), cluster: kv["ZTAS_CH_CLUSTER"] ?? "ztas",
                      startedHere: !text.contains("already running"))
    }

    private static func endpoint(_ s: String) throws -> ClickHouseEndpoint {
        try ClickHouseConfig.parse("clickhouse://\(s)/x").endpoint
    }

    /// Stops the servers if these tests started them.
    static func stopIfStarted() {
        lock.lock(); defer { lock.unlock() }
        guard case .success(let s)? = cached, s.startedHere else { return }
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/clickhouse-cluster")
        p.arguments = ["stop", dir]
        try? p.run()
        p.waitUntilExit()
        cached = nil
    }

    struct Missing: Error { var message: String }

    /// Whether these tests can take the servers down and up again: they run from `dir` (started
    /// here or by an earlier run), not at addresses an outer script gave.
    static var controllable: Bool {
        ProcessInfo.processInfo.environment["ZTAS_CH_SHARD1"] == nil && FileManager.default.fileExists(atPath: dir + "/shard1/server.pid")
    }

    /// Kills both servers with SIGKILL (an outage as abrupt as a crash); `revive` brings them
    /// back on the same ports, so the cached `Shards` stay right for the tests that follow.
    static func kill() throws { try script("kill") }

    /// Starts the killed servers again from their configuration and waits until they answer.
    static func revive() throws { try script("revive") }

    private static func script(_ command: String) throws {
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/clickhouse-cluster")
        p.arguments = [command, dir]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ClickHouseError("clickhouse-cluster \(command) failed:\n\(text)") }
    }

    /// The shards, or a skip (developers) / failure (CI) when clickhouse-server is not installed.
    static func require() throws -> Shards {
        do {
            return try shards()
        } catch let m as Missing {
            let msg = "clickhouse-server is not installed: the ClickHouse store's tests did not run "
                + "(apt-get install -y clickhouse-server clickhouse-client). \(m.message)"
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
