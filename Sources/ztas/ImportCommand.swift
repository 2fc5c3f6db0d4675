import ArgumentParser
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
    @Argument(help: "NDJSON file, optionally gzip-compressed, or - for standard input.") var file: String

    func run() throws {
        let db = try Database(path: data.path)
        var options = ImportOptions(siteRestriction: site)
        if let threads { options.threads = max(1, threads) }
        options.batchRows = max(1, batchRows)
        let total = file == "-" ? nil : try? FileSystem.fileSize(file)
        var bar = ProgressBar(label: "import")
        let summary = try db.importNDJSON(path: file, options: options) { p in
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
