import ArgumentParser
import Foundation
import ZTAClickHouse
import ZTAServer

/// `ztas serve`: the HTTP API (api.md) over a data directory.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP server (api.md) over a data directory.",
        discussion: """
        Environment: PUBLIC_URL, JWT_SECRET (≥ 32 chars; generated into DATA/jwt.secret when absent), \
        ALLOW_REGISTRATION (default true), TRUSTED_PROXIES (comma-separated addresses or CIDR ranges), \
        METRICS_TOKEN, GEOIP_DB (a MaxMind .mmdb file, e.g. GeoLite2-City: country and region of tracked events; empty without it), \
        RATE_LIMIT_TRACK_PER_MINUTE (1000), RATE_LIMIT_USER_PER_MINUTE (100), RATE_LIMIT_USER_PER_HOUR (1000), \
        RATE_LIMIT_MULTIPLIER (1: every rate limit, login and register included, times this; for fuzzing and load tests), \
        MAINTENANCE_INTERVAL_SECONDS (60: background memtable flush, compaction and daily data retention), \
        MEMTABLE_FLUSH_ROWS (250000: tracked events held in memory before they are written as segments), \
        ZTAS_EVENTS (as --events), ZTAS_CLICKHOUSE_USER / ZTAS_CLICKHOUSE_PASSWORD (ClickHouse credentials). \
        Metadata lives in DATA/meta.sqlite. SIGTERM/SIGINT: graceful shutdown, then the database is closed.
        """)

    @OptionGroup var data: DataOption
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 = any free port).") var port = 8080
    @Flag(help: "Create a demo user and a site filled with generated traffic (once).") var demo = false
    @Option(help: "Events generated for the demo site.") var demoRows = 1_000_000
    @Option(name: .customLong("geoip-db"),
            help: "MaxMind DB file (.mmdb) for the country and region of tracked events (overrides GEOIP_DB).")
    var geoIPDatabase: String?
    @Option(help: ArgumentHelp(
        "Keep the events in ClickHouse: clickhouse://HOST:PORT/DATABASE[?cluster=NAME&shards=HOST:PORT,…] (default: $ZTAS_EVENTS; without either, the embedded store in --data).",
        discussion: "Run `ztas clickhouse init --events …` first. Tracked events are acknowledged once fsync'd in DATA/clickhouse-outbox and shipped in the background."))
    var events: String?
    @Flag(name: .customLong("dev-mail-log"),
          help: "Write password-reset links to the log (no SMTP here; for development only: a link is a credential).")
    var devMailLog = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var config = ServerConfig(dataDirectory: data.path)
        if let url = events ?? env["ZTAS_EVENTS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do { config.events = try ClickHouseConfig.parse(url, environment: env) } catch { throw ValidationError(error.message) }
        }
        config.host = host
        config.port = port
        config.publicURL = "http://\(host):\(port)"
        config.apply(environment: env)
        if let geoIPDatabase { config.geoIPDatabase = geoIPDatabase }
        if devMailLog { config.logResetLinks = true }
        config.demo = demo
        config.demoRows = demoRows
        try await ZTAServer.run(config: config)
    }
}
