import ArgumentParser
import Foundation
import ZTAClickHouse
import ZTAEngine

/// `ztas migrate --to clickhouse://HOST:8123/DB [--data DIR]`: copies every event of an
/// embedded store into a ClickHouse store (schema created or migrated first), then checks the
/// row counts per site. Run it with the server stopped (the data directory is locked).
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy an embedded store's events into a ClickHouse event store.")

    @OptionGroup var data: DataOption
    @Option(help: "clickhouse://HOST:PORT/DATABASE[?cluster=NAME&shards=HOST:PORT,…]")
    var to: String
    @Option(help: "Only these sites (comma-separated; default: every site).") var sites: String?

    func run() throws {
        let config: ClickHouseConfig
        do { config = try ClickHouseConfig.parse(to, environment: ProcessInfo.processInfo.environment) } catch {
            throw ValidationError(error.message)
        }
        let db = try Database(path: data.path)
        defer { try? db.close() }
        let all = db.store.sites()
        let chosen = sites.map { $0.split(separator: ",").map(String.init) } ?? all
        for line in try ClickHouseMigrator(config: config).initialise() { writeStderr(line + "\n") }
        let start = Date()
        var total = 0
        let writer = ClickHouseEventWriter(config: config)
        let client = ClickHouseClient(endpoint: config.endpoint, user: config.user, password: config.password)
        for site in chosen {
            let before = try Self.count(client, config, site)
            if before > 0 {
                throw ValidationError("\(site) already has \(before) events in \(config.database): delete them first (a copy is not merged into existing rows)")
            }
            let n = try writer.copy(from: db.store, sites: [site])
            let after = try Self.count(client, config, site)
            guard after == Int64(n) else {
                throw ValidationError("\(site): copied \(n) rows but ClickHouse holds \(after)")
            }
            total += n
            writeStderr("\(site): \(n) events\n")
        }
        let seconds = Date().timeIntervalSince(start)
        writeStdout("{\"sites\":\(chosen.count),\"events\":\(total),\"seconds\":\(String(format: "%.1f", seconds))}\n")
    }

    static func count(_ c: ClickHouseClient, _ config: ClickHouseConfig, _ site: String) throws -> Int64 {
        let rows = try TabSeparated.parse(try c.query("SELECT count() FROM events WHERE site = \(SQL.literal(site)) FORMAT TabSeparated",
                                                      database: config.database))
        guard let f = rows.first?.first else { return 0 }
        return try TabSeparated.int64(f)
    }
}
