public import ZTAFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A rejected import line: its 1-based line number and why (`events.md` §2).
public struct ImportLineError: Sendable, Equatable {
    public var line: Int
    public var error: String
    public init(line: Int, error: String) {
        self.line = line
        self.error = error
    }
}

/// Parses NDJSON import lines (`events.md` §2) straight into a `ColumnChunkBuilder`.
///
/// A byte-level scanner: no Foundation, no `String` per row (only for the first occurrence of a
/// distinct value, when it is interned). Accepted lines are normalised as §6.16 says: `referrer`
/// lower-cased without a leading `www.`, `channel` derived (§4) when absent or empty, `path`
/// `/` when absent or empty, `visitor`/`session` hashed with `XXH64` (seed 0), `import` set to the
/// run's id (an `import` field in the input is ignored, as are unknown fields). `null` is the
/// same as an absent field.
///
/// Rejection reasons (the first problem of the line wins, in this order: JSON syntax anywhere in
/// the line, then field problems in line order, then missing fields, then the site restriction):
/// `invalid JSON`, `not a JSON object`, `invalid type for field: F`, `invalid value for field: F`
/// (empty `site`/`visitor`/`session`, malformed ISO `ts`, integer out of range), `unknown event
/// type: T`, `ts out of range`, `missing field: F`, `site does not match`.
public struct NDJSONParser: Sendable {
    /// Only lines of this site are accepted, when set.
    public let siteRestriction: String?
    /// Written to the `import` column of every accepted row.
    public let importId: UInt32
    /// At most this many errors are appended to `errors` per `parse` call (all are counted).
    public let maxErrors: Int

    public init(siteRestriction: String?, importId: UInt32, maxErrors: Int = .max) {
        self.siteRestriction = siteRestriction
        self.importId = importId
        self.maxErrors = maxErrors
    }

    /// Parses whole lines in `bytes`; `firstLine` is the 1-based number of the first line.
    /// Appends accepted rows to `builder` and rejected lines to `errors`.
    /// Returns the counts of accepted and rejected lines and the number of physical lines seen
    /// (blank lines included, so `firstLine + lines` is the next chunk's first line). A last line
    /// without a trailing newline is parsed like the others. A UTF-8 byte order mark before the
    /// first line is skipped when `firstLine` is 1, unless `byteOrderMark` says otherwise.
    public func parse(_ bytes: UnsafeRawBufferPointer, firstLine: Int, byteOrderMark: Bool? = nil,
                      into builder: inout ColumnChunkBuilder,
                      errors: inout [ImportLineError]) -> (accepted: Int, rejected: Int, lines: Int) {
        let skipMark = byteOrderMark ?? (firstLine == 1)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), !bytes.isEmpty else {
            return (0, 0, 0)
        }
        var site = Array((siteRestriction ?? "").utf8)
        return site.withUnsafeMutableBufferPointer { siteBuf in
            var scanner = ImportLineScanner(site: siteRestriction == nil ? nil : UnsafeBufferPointer(siteBuf),
                                            importId: importId)
            defer { scanner.deallocate() }
            var accepted = 0, rejected = 0, lines = 0, recorded = 0
            let end = base + bytes.count
            var lineStart = base
            var lineNo = firstLine
            while lineStart < end {
                let nl = memchr(lineStart, 0x0A, end - lineStart)
                let lineEnd = nl.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) } ?? end
                var start = lineStart
                if skipMark, lineStart == base, lineEnd - start >= 3, start[0] == 0xEF, start[1] == 0xBB, start[2] == 0xBF {
                    start += 3  // a UTF-8 byte order mark before the first line
                }
                switch scanner.parseLine(start, lineEnd, into: &builder) {
                case .blank: break
                case .accepted: accepted += 1
                case .rejected(let reason):
                    rejected += 1
                    if recorded < maxErrors {
                        errors.append(ImportLineError(line: lineNo, error: reason.message))
                        recorded += 1
                    }
                }
                lines += 1
                lineNo += 1
                lineStart = lineEnd + 1
            }
            return (accepted, rejected, lines)
        }
    }

    /// Convenience: parses a whole buffer held in an array.
    public func parse(_ bytes: [UInt8], firstLine: Int = 1, into builder: inout ColumnChunkBuilder,
                      errors: inout [ImportLineError]) -> (accepted: Int, rejected: Int, lines: Int) {
        bytes.withUnsafeBytes { parse($0, firstLine: firstLine, into: &builder, errors: &errors) }
    }
}
