import Foundation
import GRDB
public import Hummingbird
import HummingbirdBcrypt
public import Logging
import NIOCore
import ServiceLifecycle
import ZTAClickHouse
import ZTAEngine

/// The ztas HTTP server (api.md): Hummingbird in front of the engine's `Database` and the
/// metadata store. `run` serves until SIGTERM/SIGINT; `start` is for tests and returns once the
/// socket listens.
public enum ZTAServer {
    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight, stops the
    /// background jobs and closes the database (memtable flushed, lock released).
    public static func run(config: ServerConfig, logger: Logger = defaultLogger()) async throws {
        let (core, app) = try await build(config: config, logger: logger, onRunning: { port in
            logger.notice("ztas listening", metadata: ["address": "http://\(config.host):\(port)"])
        })
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            await core.webhooks.shutdown()
            core.ingestWriter.stop()
            core.closeEventStore()
            try? core.db.close()
            throw error
        }
        logger.notice("ztas stopping: closing the database")
        await core.webhooks.shutdown()
        core.ingestWriter.stop()
        core.closeEventStore()
        try core.db.close()
    }

    /// A `ztas` logger at `LOG_LEVEL` (default info).
    public static func defaultLogger() -> Logger {
        var logger = Logger(label: "ztas")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }

    /// Starts a server in this process (tests, benchmarks); `port` 0 picks a free one.
    public static func start(config: ServerConfig, logger: Logger = Logger(label: "ztas")) async throws -> RunningServer {
        let (portStream, portCont) = AsyncStream<Int>.makeStream()
        let (core, app) = try await build(config: config, logger: logger, onRunning: { port in
            portCont.yield(port)
            portCont.finish()
        })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var it = portStream.makeAsyncIterator()
        guard let port = await it.next() else {
            task.cancel()
            _ = await task.result
            await core.webhooks.shutdown()
            core.ingestWriter.stop()
            core.closeEventStore()
            try? core.db.close()
            throw CancellationError()
        }
        return RunningServer(port: port, group: group, task: task, core: core)
    }

    static func build(config input: ServerConfig, logger: Logger,
                      onRunning: @escaping @Sendable (Int) -> Void) async throws -> (ServerCore, some ApplicationProtocol) {
        var config = input
        // Before anything is created: a bad TRUSTED_PROXIES entry or GEOIP_DB path stops the
        // start with its reason.
        let clients = try ClientAddressResolver(trustedProxies: config.trustedProxies)
        let geoIP = try config.geoIPDatabase.map { try GeoIPResolver(path: $0) }
        if let geoIP, let path = config.geoIPDatabase {
            logger.info("GeoIP database opened", metadata: ["path": "\(path)", "type": "\(geoIP.databaseType)"])
        }
        // The ClickHouse store, before anything is opened: unreachable, or a schema `ztas
        // clickhouse init|migrate` has not brought to this version, stops the start.
        if let ch = config.events {
            do { try ClickHouseMigrator(config: ch).requireCurrentSchema() } catch { throw ServerError("\(error)") }
        }
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        config.jwtSecret = try loadSecret(config)
        var storeOptions = config.storeOptions
        // With the ingest writer's background flusher, appends leave flushing to it (see
        // `StoreOptions.flushOnAppend`): a flush on the append path made every request of
        // that group commit wait for it.
        if config.backgroundFlush { storeOptions.flushOnAppend = false }
        let db = try Database(path: config.dataDirectory, options: storeOptions, fileSystem: config.fileSystem)
        var clickHouse: ClickHouseEvents?
        if let ch = config.events {
            do {
                clickHouse = try ClickHouseEvents(config: ch, outboxDirectory: config.dataDirectory + "/clickhouse-outbox",
                                                  shipping: config.clickHouseShipping, fileSystem: config.fileSystem,
                                                  threads: config.queryThreads)
            } catch {
                try? db.close()
                throw error
            }
        }
        let meta: MetaStore
        do { meta = try MetaStore(path: config.dataDirectory + "/meta.sqlite") } catch {
            try? clickHouse?.close()
            try? db.close()
            throw error
        }
        guard let secret = config.jwtSecret else { throw ServerError("no JWT secret") }
        let tokens = await TokenService(secret: secret)
        let cost = max(config.bcryptCost, 10)
        let dummy = Bcrypt.hash(Secrets.randomHex(bytes: 16), cost: cost)
        let core = ServerCore(config: config, db: db, meta: meta, tokens: tokens, logger: logger, dummyHash: dummy,
                              clients: clients, geoIP: geoIP, events: clickHouse)
        do { try await core.webhooks.loadAll() } catch {
            await core.webhooks.shutdown()
            core.closeEventStore()
            try? db.close()
            throw error
        }
        clickHouse?.startShipping(onError: { [logger] message in
            logger.warning("shipping tracked events to ClickHouse failed; retrying", metadata: ["error": "\(message)"])
        })
        if config.demo {
            do { try await DemoSeeder(core: core).seedIfNeeded() } catch {
                logger.error("demo seeding failed", metadata: ["error": "\(error)"])
            }
        }
        let dispatcher = Dispatcher(core: core, routes: core.makeRoutes())
        let configuredPort = config.port
        let app = Application(
            responder: dispatcher,
            // Keep-alive connections with nothing in flight are closed after `idleTimeout`.
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(config.idleTimeout.components.seconds) * 1_000_000_000))),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil),
            services: [MaintenanceService(core: core), WebhookSweepService(core: core), AlertService(core: core)],
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? configuredPort) },
            logger: logger
        )
        return (core, app)
    }

    /// `JWT_SECRET`, else the secret kept in `DATA/jwt.secret` (created: 32 random bytes, hex, mode 0600).
    static func loadSecret(_ config: ServerConfig) throws -> String {
        if let s = config.jwtSecret {
            guard s.count >= 32 else { throw ServerError("JWT_SECRET must be at least 32 characters") }
            return s
        }
        let path = config.dataDirectory + "/jwt.secret"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           existing.count >= 32 {
            return existing
        }
        let secret = Secrets.randomHex(bytes: 32)
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ServerError("cannot write \(path)")
        }
        return secret
    }
}

/// A startup failure with a message for the operator.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// A server started by `ZTAServer.start`.
public final class RunningServer: Sendable {
    public let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let core: ServerCore

    init(port: Int, group: ServiceGroup, task: Task<Void, any Error>, core: ServerCore) {
        self.port = port
        self.group = group
        self.task = task
        self.core = core
    }

    /// Graceful shutdown, then the database is closed.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        _ = await task.result
        await core.webhooks.shutdown()
        core.ingestWriter.stop()
        core.closeEventStore()
        try core.db.close()
    }

    /// The data directory (tests look at its files).
    public var dataDirectory: String { core.config.dataDirectory }

    /// Runs one background maintenance pass now (flush by age, compaction, retention) and
    /// returns when it is done — what the periodic job does, for tests.
    public func runMaintenance() async {
        await core.runMaintenancePass()
    }

    /// Runs one alert evaluation round as if the clock read `nowMs` (what the 5-minute job does
    /// with the real clock) and returns the number of alerts fired — for tests walking
    /// simulated time.
    @discardableResult
    public func evaluateAlerts(at nowMs: Int64) async -> Int {
        await core.evaluateAlerts(nowMs: nowMs).count
    }
}
