import Foundation
import ZTAEngine

#if canImport(Glibc)
import Glibc
#endif

/// What a GA import did (api.md §8's response): rows accepted and rejected, the first errors by
/// data-row number, and the engine's summary of the synthetic events it stored.
struct GAImportOutcome: Sendable {
    var acceptedRows = 0
    var rejectedRows = 0
    var errors: [ImportLineError] = []
    /// Synthetic pageviews generated from the accepted rows.
    var eventsGenerated = 0
    var engine: ImportSummary
    var rowsProcessed: Int { acceptedRows + rejectedRows }
    var errorsTruncated: Bool { rejectedRows > errors.count }
}

/// Limits of one GA import.
struct GAImportLimits: Sendable {
    var maxPageviewsPerRow = 1_000_000
    /// Rows whose pageviews would take the import past this many events are rejected.
    var maxEventsPerImport = 10_000_000
    var maxErrors = 1000
}

/// Runs a GA import: rows are validated and expanded (`GAExpansion`) on a producer thread that
/// streams the synthetic pageviews as NDJSON through a socket pair into `Database.importNDJSON`,
/// the path NDJSON imports take. Nothing is materialised beyond one ~1 MiB buffer and the
/// importer's batches, so memory stays bounded whatever the rows claim; the per-row and
/// per-import caps bound the time. Blocking: call from `Blocking.run`.
enum GAImporter {
    static func run(_ source: any GARowSource, expansion: GAExpansion, uaExport: Bool, limits: GAImportLimits,
                    events: any EventBackend, options: ImportOptions) throws -> GAImportOutcome {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
            throw GAImportFailure("socketpair failed: errno \(errno)")
        }
        let producer = Producer(source: source, expansion: expansion, limits: limits, uaExport: uaExport, fd: fds[1])
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            producer.produce()
            done.signal()
        }
        thread.name = "ztas-ga-import"
        thread.start()

        let result: Result<ImportSummary, any Error>
        do {
            let input = try ImportInput(fileDescriptor: fds[0], limits: .init(gunzip: false))
            result = .success(try events.importNDJSON(input: input, options: options))
        } catch {
            result = .failure(error)
        }
        // A producer still writing (the importer failed) now gets EPIPE and stops.
        close(fds[0])
        done.wait()
        let summary = try result.get()
        var out = GAImportOutcome(engine: summary)
        out.acceptedRows = producer.accepted
        out.rejectedRows = producer.rejected
        out.errors = producer.errors
        out.eventsGenerated = producer.events
        return out
    }

    /// The producer side; touched by its thread until `done` is signalled, then read by the caller.
    private final class Producer: @unchecked Sendable {
        let source: any GARowSource
        var expansion: GAExpansion
        let limits: GAImportLimits
        let options: GARowParser.Options
        let fd: Int32
        var accepted = 0, rejected = 0, events = 0
        var errors: [ImportLineError] = []

        init(source: any GARowSource, expansion: GAExpansion, limits: GAImportLimits, uaExport: Bool, fd: Int32) {
            self.source = source
            self.expansion = expansion
            self.limits = limits
            self.options = .init(uaExport: uaExport, maxPageviewsPerRow: limits.maxPageviewsPerRow)
            self.fd = fd
        }

        func produce() {
            defer { close(fd) }  // end of input for the importer
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20 + 4096)
            var number = 0
            var open = true
            while open, let item = source.next() {
                number += 1
                let row: GARow
                switch item {
                case .bad(let m): reject(number, m); continue
                case .row(let raw):
                    switch GARowParser.parse(raw, options) {
                    case .failure(let e): reject(number, e.message); continue
                    case .success(let r): row = r
                    }
                }
                guard let ts = expansion.noon(row.date) else { reject(number, "date out of range"); continue }
                guard events + row.pageviews <= limits.maxEventsPerImport else {
                    reject(number, "import limit reached: at most \(limits.maxEventsPerImport) pageviews per import")
                    continue
                }
                accepted += 1
                events += row.pageviews
                open = expansion.write(row, number: number, ts: ts, into: &buffer) { send(&$0) }
            }
            if open { _ = send(&buffer) }
        }

        func reject(_ number: Int, _ message: String) {
            rejected += 1
            if errors.count < limits.maxErrors { errors.append(ImportLineError(line: number, error: message)) }
        }

        /// Writes and empties the buffer; false once the importer has gone (its end is closed).
        func send(_ buffer: inout [UInt8]) -> Bool {
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer.withUnsafeBytes { b -> Bool in
                guard let base = b.baseAddress else { return true }
                var off = 0
                while off < b.count {
                    let n = Glibc.send(fd, base + off, b.count - off, Int32(MSG_NOSIGNAL))
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    off += n
                }
                return true
            }
        }
    }
}

struct GAImportFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
