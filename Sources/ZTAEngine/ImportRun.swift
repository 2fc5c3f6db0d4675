import Foundation
import ZTAFormat
import ZTAStorage

/// One bulk import in flight, shared by its worker threads.
///
/// Each worker loops: take the next piece of the input (a view into the mapped file, or a block
/// read from a stream), parse it into the worker's own column builder, and once that builder
/// holds `batchRows` rows, sort, encode and publish it as segments itself. No worker ever waits
/// for another except to take a piece, so both cores stay busy — parsing on one while the
/// other encodes — with no barrier per block. Lines are numbered after the fact: a rejected
/// line is recorded by (piece, line within the piece), and each piece's line count turns that
/// into the 1-based line number once every piece is parsed.
final class ImportRun: @unchecked Sendable {
    private let input: ImportInput
    private let store: EventStore
    private let options: ImportOptions
    private let parser: NDJSONParser
    private let progress: ((ImportProgress) -> Void)?

    private let lock = NSLock()
    private var failure: Error?
    private var accepted = 0
    private var rejected = 0
    private var linesSeen = 0
    /// Physical lines of each piece, by `seq`.
    private var pieceLines: [Int] = []
    /// Rejected lines as (piece, line within the piece), at most `2 × maxErrors` between trims.
    private var errors: [(seq: Int, error: ImportLineError)] = []
    private var minTs = Int64.max
    private var maxTs = Int64.min

    init(input: ImportInput, store: EventStore, options: ImportOptions, importId: UInt32,
         progress: ((ImportProgress) -> Void)?) {
        self.input = input
        self.store = store
        self.options = options
        self.progress = progress
        parser = NDJSONParser(siteRestriction: options.siteRestriction, importId: importId, maxErrors: options.maxErrors)
    }

    /// A worker's loop; returns at the end of the input or after any failure.
    func work() {
        var builder = ColumnChunkBuilder()
        while let piece = takePiece() {
            var errs: [ImportLineError] = []
            let r = piece.withBytes { bytes in
                parser.parse(bytes, firstLine: 1, byteOrderMark: false, into: &builder, errors: &errs)
            }
            input.release(piece)
            record(piece.seq, r, errs)
            if builder.count >= options.batchRows {
                publish(builder.build())
                // The chunk is gone once `publish` returns, so the builder's buffers are unique
                // again and are reused: a fresh builder would fault in (and regrow) ~100 bytes a
                // row of new memory for every batch.
                builder.removeAll(keepingCapacity: true)
            }
        }
        if builder.count > 0 && !failed { publish(builder.build()) }
    }

    /// The summary once every worker has returned; rethrows the first failure.
    func finish() throws -> ImportSummary {
        if let failure { throw failure }
        var summary = ImportSummary(importId: parser.importId)
        summary.accepted = accepted
        summary.rejected = rejected
        if minTs <= maxTs {
            summary.minTs = minTs
            summary.maxTs = maxTs
        }
        var before = [Int](repeating: 0, count: pieceLines.count)
        var total = 0
        for (k, n) in pieceLines.enumerated() {
            before[k] = total
            total += n
        }
        trimErrors()
        summary.errors = errors.map { ImportLineError(line: before[$0.seq] + $0.error.line, error: $0.error.error) }
        return summary
    }

    private var failed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return failure != nil
    }

    private func takePiece() -> ImportPiece? {
        lock.lock()
        defer { lock.unlock() }
        if failure != nil { return nil }
        do {
            return try input.nextPiece()
        } catch {
            failure = StorageError(.io, "\(error)")
            return nil
        }
    }

    private func record(_ seq: Int, _ r: (accepted: Int, rejected: Int, lines: Int), _ errs: [ImportLineError]) {
        lock.lock()
        defer { lock.unlock() }
        accepted += r.accepted
        rejected += r.rejected
        linesSeen += r.lines
        if pieceLines.count <= seq { pieceLines.append(contentsOf: repeatElement(0, count: seq + 1 - pieceLines.count)) }
        pieceLines[seq] = r.lines
        for e in errs { errors.append((seq, e)) }
        if errors.count > 2 * options.maxErrors { trimErrors() }
        progress?(ImportProgress(inputBytes: input.inputBytes, lines: linesSeen, accepted: accepted))
    }

    /// Keeps the first `maxErrors` rejected lines in input order (a dropped one has at least
    /// that many before it, whatever pieces are still being parsed).
    private func trimErrors() {
        errors.sort { ($0.seq, $0.error.line) < ($1.seq, $1.error.line) }
        if errors.count > options.maxErrors { errors.removeSubrange(options.maxErrors...) }
    }

    private func publish(_ chunk: ColumnChunk) {
        var lo = Int64.max, hi = Int64.min
        chunk.ts.withUnsafeBufferPointer { ts in
            for t in ts {
                lo = min(lo, t)
                hi = max(hi, t)
            }
        }
        do {
            try store.importBatch([chunk])
            lock.lock()
            minTs = min(minTs, lo)
            maxTs = max(maxTs, hi)
            lock.unlock()
        } catch {
            lock.lock()
            if failure == nil { failure = error }
            lock.unlock()
        }
    }
}
