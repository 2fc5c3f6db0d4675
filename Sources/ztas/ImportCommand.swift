import ArgumentParser
import Foundation
import ZTAClickHouse
import ZTAEngine
import ZTAStorage

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bulk-import NDJSON events (events.md §2; .gz allowed) straight into segments.",
        discussion: """
        Prints {"importId":N,"accepted":N,"rejected":N,"errors":[{"line":L,"error":"..."}]} (first 1000 \
        errors). Exit status 0 when the import ran, even with rejected lines; non-zero on a fatal error.
        """)

    @OptionGroup var data: DataOption
    @Option(help: "Reject lines of any other site (`site does not match`).") var site: String?
    @Option(help: "Worker threads, each parsing and encoding its own batches (default: one per core).")
    var threads: Int?
    @Option(help: "Rows a worker buffers before it writes them as segments (memory ~ workers × this).")
    var batchRows = ImportOptions().batchRows
    @Option(help: ArgumentHelp(
        "Import into a ClickHouse event store: clickhouse://HOST:PORT/DATABASE[?cluster=NAME&shards=HOST:PORT,…] (default: $ZTAS_EVENTS; without either, the embedded store in --data).",
        discussion: "The lines are parsed and checked exactly as for the embedded store, then inserted in large batches under a new import id."))
    var events: String?
    @Argument(help: "NDJSON file, optionally gzip-compressed, or - for standard input.") var file: String

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let db: EventBackend
        if let url = events ?? env["ZTAS_EVENTS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let config: ClickHouseConfig
            do { config = try ClickHouseConfig.parse(url, environment: env) } catch { throw ValidationError(error.message) }
            do { try ClickHouseMigrator(config: config).requireCurrentSchema() } catch { throw ValidationError(error.message) }
            db = ClickHouseEvents(config: config)
        } else {
            db = try Database(path: data.path)
        }
        var options = ImportOptions(siteRestriction: site)
        if let threads { options.threads = max(1, threads) }
        options.batchRows = max(1, batchRows)
        let total = file == "-" ? nil : try? FileSystem.fileSize(file)
        var bar = ProgressBar(label: "import")
        let input: ImportInput
        do { input = try ImportInput(path: file) } catch { throw ValidationError("\(file): \(error)") }
        let summary = try db.importNDJSON(input: input, options: options) { p in
            bar.update(done: p.lines, total: nil, unit: "lines")
            _ = total
        }
        bar.finish()
        try db.close()
        var out = "{\"importId\":\(summary.importId),\"accepted\":\(summary.accepted),\"rejected\":\(summary.rejected),\"errors\":["
        out += summary.errors.map { "{\"line\":\($0.line),\"error\":\(jsonString($0.error))}" }.joined(separator: ",")
        out += "]}\n"
        writeStdout(out)
        if stderrIsTerminal {
            writeStderr("imported \(summary.accepted) events in \(Int(summary.seconds * 1000)) ms (\(Int(Double(summary.accepted) / max(summary.seconds, 1e-9))) events/s)\n")
        }
    }
}
