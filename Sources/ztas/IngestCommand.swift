import ArgumentParser
import Foundation
import ZTAEngine
import ZTAFormat
import ZTAStorage

/// Durable trickle ingest through the WAL: what `/api/track` does, from NDJSON. Prints one
/// `ack <lines>` line on stdout after each batch is fsync'd, which crash tests and benchmarks read.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Append NDJSON events through the write-ahead log (durable, acknowledged per batch).")

    @OptionGroup var data: DataOption
    @Option(help: "Events per acknowledged batch.") var batch = 100
    @Option(help: "Concurrent writers (group commit merges their fsyncs).") var writers = 1
    @Flag(help: "Print an `ack` line after every batch.") var acks = false
    @Option(help: "Flush the memtable to segments every N rows (default 1,000,000).") var flushRows: Int?
    @Argument(help: "NDJSON file or - for standard input.") var file: String

    func run() throws {
        var options = StoreOptions()
        if let flushRows { options.flushRows = max(1, flushRows) }
        let db = try Database(path: data.path, options: options)
        let input = try ImportInput(path: file)
        let parser = NDJSONParser(siteRestriction: nil, importId: 0)
        var records: [EventRecord] = []
        var errors: [ImportLineError] = []
        while let block = try input.nextBlock() {
            var b = ColumnChunkBuilder()
            _ = parser.parse(block.bytes, firstLine: block.firstLine, into: &b, errors: &errors)
            let chunk = b.build()
            for i in 0..<chunk.count {
                var r = chunk.record(at: i)
                r.importId = 0
                records.append(r)
            }
        }
        let batches = stride(from: 0, to: records.count, by: max(1, batch)).map { Array(records[$0..<min($0 + max(1, batch), records.count)]) }
        let start = monotonicSeconds()
        let next = Counter()
        let ackLock = NSLock()
        let nWriters = max(1, writers)
        let failure = FailureBox()
        // Real threads, not concurrentPerform: its pool is as wide as the cores, and writers
        // spend their time blocked on fsync, which is exactly when others should be queueing.
        let done = DispatchGroup()
        for _ in 0..<nWriters {
            done.enter()
            Thread {
                defer { done.leave() }
                while let i = next.take(limit: batches.count) {
                    do {
                        try db.ingest(batches[i])
                    } catch {
                        failure.set(error)
                        return
                    }
                    if acks {
                        ackLock.lock()
                        writeStdout("ack \(i) \(batches[i].count)\n")
                        ackLock.unlock()
                    }
                }
            }.start()
        }
        done.wait()
        if let e = failure.error { throw e }
        let secs = monotonicSeconds() - start
        try db.close()
        writeStdout("{\"events\":\(records.count),\"rejected\":\(errors.count),\"batches\":\(batches.count),\"writers\":\(nWriters),\"seconds\":\(secs),\"eventsPerSecond\":\(Int(Double(records.count) / max(secs, 1e-9)))}\n")
    }
}

/// A shared work index handed out to writer threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// The first error any writer thread hit.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?
    func set(_ e: Error) {
        lock.lock()
        if first == nil { first = e }
        lock.unlock()
    }
    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }
}
