import Foundation
public import ZTAFormat
import ZTAStorage

/// The outcome of one import run (the JSON object `ztas import` prints and `/api/import` returns).
public struct ImportSummary: Sendable {
    public var importId: UInt32
    public var accepted = 0
    public var rejected = 0
    /// The first `ImportOptions.maxErrors` rejected lines, by line number.
    public var errors: [ImportLineError] = []
    public var errorsTruncated: Bool { rejected > errors.count }
    /// Smallest and largest accepted `ts` (ms), when anything was accepted.
    public var minTs: Int64?
    public var maxTs: Int64?
    public var seconds = 0.0
}

/// Knobs of an import run.
public struct ImportOptions: Sendable {
    /// Lines of another site are rejected with `site does not match`.
    public var siteRestriction: String?
    /// Rows buffered before a batch is written and published (atomically) as segments.
    public var batchRows = 2_000_000
    /// Parser threads.
    public var threads = 2
    /// Errors kept in the summary.
    public var maxErrors = 1000
    public init(siteRestriction: String? = nil) { self.siteRestriction = siteRestriction }
}

/// Progress of a running import, for a progress bar.
public struct ImportProgress: Sendable {
    public var inputBytes: Int
    public var lines: Int
    public var accepted: Int
}

extension Database {
    /// Imports NDJSON (`events.md` §2, gzip detected) from a file or `-` (stdin) straight into
    /// segments, bypassing the WAL. Lines are parsed on `options.threads` cores; every
    /// `batchRows` rows are split by partition, sorted and published with one manifest swap, so
    /// after a crash a batch is wholly visible or absent. Every event gets this run's import id.
    public func importNDJSON(path: String, options: ImportOptions = ImportOptions(),
                             progress: ((ImportProgress) -> Void)? = nil) throws -> ImportSummary {
        let input: ImportInput
        do { input = try ImportInput(path: path) } catch {
            throw StorageError(.io, "\(error)", file: path)
        }
        return try importNDJSON(input: input, options: options, progress: progress)
    }

    /// Imports from an open `ImportInput` (file, stdin or an in-memory body).
    public func importNDJSON(input: ImportInput, options: ImportOptions = ImportOptions(),
                             progress: ((ImportProgress) -> Void)? = nil) throws -> ImportSummary {
        let start = Date()
        let importId = try store.allocateImportId()
        var summary = ImportSummary(importId: importId)
        let parser = NDJSONParser(siteRestriction: options.siteRestriction, importId: importId)
        let threads = max(1, options.threads)
        let builders = BuilderSet(count: threads)
        var lines = 0
        // Publishing (split, sort, encode, write, manifest swap) of one batch overlaps with the
        // parsing of the next; at most one batch waits, which bounds memory.
        let publisher = BatchPublisher(store: store)
        func publish() throws {
            let chunks = builders.drain()
            for c in chunks where c.count > 0 {
                c.ts.withUnsafeBufferPointer { ts in
                    var lo = summary.minTs ?? .max, hi = summary.maxTs ?? .min
                    for t in ts {
                        lo = min(lo, t)
                        hi = max(hi, t)
                    }
                    summary.minTs = lo
                    summary.maxTs = hi
                }
            }
            try publisher.submit(chunks)
        }
        while true {
            let block: ImportBlock?
            do { block = try input.nextBlock() } catch { throw StorageError(.io, "\(error)") }
            guard let block else { break }
            let results = block.bytes.withUnsafeBytes { raw -> [(Int, Int, [ImportLineError])] in
                let buf = UncheckedSendable(raw)
                let parts = LineRanges.split(raw, parts: threads)
                let out = ResultSlots<(Int, Int, [ImportLineError])>(count: parts.count, initial: (0, 0, []))
                DispatchQueue.concurrentPerform(iterations: parts.count) { k in
                    let part = parts[k]
                    var errs: [ImportLineError] = []
                    let r = builders.withBuilder(k) { b in
                        parser.parse(UnsafeRawBufferPointer(rebasing: buf.value[part.bytes]),
                                     firstLine: block.firstLine + part.lineOffset, into: &b, errors: &errs)
                    }
                    out[k] = (r.accepted, r.rejected, errs)
                }
                return out.values
            }
            for (a, r, errs) in results {
                summary.accepted += a
                summary.rejected += r
                for e in errs where summary.errors.count < options.maxErrors { summary.errors.append(e) }
            }
            lines += block.lineCount
            if builders.rows >= options.batchRows { try publish() }
            progress?(ImportProgress(inputBytes: input.inputBytes, lines: lines, accepted: summary.accepted))
        }
        try publish()
        try publisher.finish()
        summary.errors.sort { $0.line < $1.line }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}

/// Publishes import batches on a background thread, one at a time, in submission order.
private final class BatchPublisher: @unchecked Sendable {
    private let store: EventStore
    private let queue = DispatchQueue(label: "ztas.import.publish")
    private let slot = DispatchSemaphore(value: 1)
    private let lock = NSLock()
    private var failure: Error?

    init(store: EventStore) { self.store = store }

    /// Waits for the previous batch to finish publishing, then starts this one.
    func submit(_ chunks: [ColumnChunk]) throws {
        slot.wait()
        if let e = takeFailure() {
            slot.signal()
            throw e
        }
        queue.async { [self] in
            do { try store.importBatch(chunks) } catch {
                lock.lock()
                failure = error
                lock.unlock()
            }
            slot.signal()
        }
    }

    /// Waits for the last batch; rethrows the first failure.
    func finish() throws {
        slot.wait()
        slot.signal()
        if let e = takeFailure() { throw e }
    }

    private func takeFailure() -> Error? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }
}

/// One builder per parser thread; each thread touches only its own slot (raw storage, so
/// concurrent slots are not an exclusivity conflict on one array).
private final class BuilderSet: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<ColumnChunkBuilder>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: ColumnChunkBuilder(), count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func withBuilder<R>(_ k: Int, _ body: (inout ColumnChunkBuilder) -> R) -> R { body(&slots[k]) }

    var rows: Int { (0..<count).reduce(0) { $0 + slots[$1].count } }

    func drain() -> [ColumnChunk] {
        (0..<count).map { k in
            defer { slots[k] = ColumnChunkBuilder() }
            return slots[k].build()
        }
    }
}

/// Wraps a value that is shared read-only across `concurrentPerform` iterations.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// One result slot per parallel iteration; each iteration writes only its own slot.
private final class ResultSlots<T>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int, initial: T) {
        self.count = count
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: initial, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    subscript(k: Int) -> T {
        get { slots[k] }
        set { slots[k] = newValue }
    }

    var values: [T] { (0..<count).map { slots[$0] } }
}
