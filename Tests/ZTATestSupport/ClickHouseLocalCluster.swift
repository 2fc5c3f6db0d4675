import Foundation
import ZTAClickHouse

/// Two local `clickhouse-server` processes as the shards of cluster `ztas`, run by
/// `scripts/clickhouse-cluster` in a directory of their own (loopback ports, own config and
/// data; no system service). Every test target that needs ClickHouse goes through this one
/// runner; each uses its own directory so their servers do not meet.
public struct ClickHouseLocalCluster: Sendable {
    /// Where the servers' config, data, logs and `env` file live.
    public let directory: String

    public struct Shards: Sendable {
        public var shard1: ClickHouseEndpoint
        public var shard2: ClickHouseEndpoint
        public var cluster: String
        /// Whether this start launched the servers (and so the caller stops them).
        public var startedHere: Bool

        public init(shard1: ClickHouseEndpoint, shard2: ClickHouseEndpoint, cluster: String, startedHere: Bool) {
            self.shard1 = shard1
            self.shard2 = shard2
            self.cluster = cluster
            self.startedHere = startedHere
        }
    }

    /// `clickhouse-server` is not installed (the script's exit status 3).
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// `name` under the system's temporary directory (`$TMPDIR` or /tmp).
    public init(name: String) {
        directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/" + name
    }

    /// Whether the Debian package's server binary is here.
    public static var installed: Bool {
        ["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts both servers (or finds them running) and returns their endpoints from `DIR/env`.
    public func start() throws -> Shards {
        let text = try script("start")
        let vars = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        var kv: [String: String] = [:]
        for line in vars.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { kv[String(parts[0])] = String(parts[1]) }
        }
        guard let a = kv["ZTAS_CH_SHARD1"], let b = kv["ZTAS_CH_SHARD2"] else {
            throw ClickHouseError("no shards in \(directory)/env")
        }
        return Shards(shard1: try Self.endpoint(a), shard2: try Self.endpoint(b), cluster: kv["ZTAS_CH_CLUSTER"] ?? "ztas",
                      startedHere: !text.contains("already running"))
    }

    /// Stops both servers (their data stays for the next start).
    public func stop() { _ = try? script("stop") }

    /// Kills both servers with SIGKILL: an outage as abrupt as a crash.
    public func kill() throws { _ = try script("kill") }

    /// Starts the killed servers again on the same ports and waits until they answer.
    public func revive() throws { _ = try script("revive") }

    /// Whether servers were started from this directory (and so can be killed and revived).
    public var isRunningHere: Bool { FileManager.default.fileExists(atPath: directory + "/shard1/server.pid") }

    /// An endpoint from `HOST:PORT`.
    public static func endpoint(_ hostPort: String) throws -> ClickHouseEndpoint {
        try ClickHouseConfig.parse("clickhouse://\(hostPort)/x").endpoint
    }

    /// Runs `scripts/clickhouse-cluster COMMAND DIR`; its output, or an error with it.
    private func script(_ command: String) throws -> String {
        let (status, text) = try runProcess(TestPaths.root.appendingPathComponent("scripts/clickhouse-cluster"), [command, directory])
        if status == 3 { throw Missing(description: text) }
        guard status == 0 else { throw ClickHouseError("clickhouse-cluster \(command) failed:\n\(text)") }
        return text
    }
}
