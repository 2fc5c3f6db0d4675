import ArgumentParser
import Foundation
import ZTAClickHouse

/// `ztas clickhouse init|migrate --events clickhouse://HOST:8123/DB[?cluster=NAME&shards=H1:P1,H2:P2]`:
/// creates or migrates the ClickHouse event store's schema (credentials from
/// `ZTAS_CLICKHOUSE_USER` / `ZTAS_CLICKHOUSE_PASSWORD`).
struct ClickHouseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clickhouse",
        abstract: "Create or migrate the schema of a ClickHouse event store.",
        subcommands: [Init.self, Migrate.self, Status.self])

    struct Target: ParsableArguments {
        @Option(help: "clickhouse://HOST:PORT/DATABASE[?cluster=NAME&shards=HOST:PORT,…] (default: $ZTAS_EVENTS).")
        var events: String?

        func config() throws -> ClickHouseConfig {
            let env = ProcessInfo.processInfo.environment
            guard let url = events ?? env["ZTAS_EVENTS"] else {
                throw ValidationError("--events clickhouse://HOST:PORT/DATABASE (or ZTAS_EVENTS) is required")
            }
            do { return try ClickHouseConfig.parse(url, environment: env) } catch { throw ValidationError(error.message) }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the database and tables (idempotent) and bring them to the current schema version.")
        @OptionGroup var target: Target

        func run() throws {
            let m = ClickHouseMigrator(config: try target.config())
            do { for line in try m.initialise() { print(line) } } catch { writeStderr("\(error)\n"); throw ExitCode(1) }
        }
    }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the schema migrations an initialised store lacks.")
        @OptionGroup var target: Target

        func run() throws {
            let m = ClickHouseMigrator(config: try target.config())
            do { for line in try m.migrate() { print(line) } } catch { writeStderr("\(error)\n"); throw ExitCode(1) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each server's schema version.")
        @OptionGroup var target: Target

        func run() throws {
            let m = ClickHouseMigrator(config: try target.config())
            do {
                for (e, v) in try m.versions() { print("\(e): schema version \(v) (this ztas: \(ClickHouseSchema.currentVersion))") }
            } catch { writeStderr("\(error)\n"); throw ExitCode(1) }
        }
    }
}
