import Foundation
import ZTAFormat
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
    /// Rows a parser thread buffers before it writes and publishes them (atomically) as segments.
    /// Memory is ~240 bytes a row per thread at the peak (the builder's columns plus their copy
    /// split by partition), so 500 k rows keep two threads near 300 MB; larger batches were not
    /// faster (the builder's hash tables and columns fall out of cache) and only make fewer,
    /// bigger segments, which compaction gives anyway.
    public var batchRows = 500_000
    /// Worker threads, each parsing, encoding and publishing its own batches (one per core).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
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
    /// segments, bypassing the WAL. Every event gets this run's import id. See `ImportRun` for how
    /// the work is split; each published batch is wholly visible or absent after a crash.
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
        let run = ImportRun(input: input, store: store, options: options, importId: importId, progress: progress)
        DispatchQueue.concurrentPerform(iterations: max(1, options.threads)) { _ in run.work() }
        var summary = try run.finish()
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}
