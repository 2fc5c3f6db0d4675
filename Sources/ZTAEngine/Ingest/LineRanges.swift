#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splitting a buffer of NDJSON lines into parts for parallel parsing.
public enum LineRanges {
    /// One part of a split: a byte range of whole lines and the number of lines before it.
    public struct Part: Sendable, Equatable {
        public var bytes: Range<Int>
        /// Lines before `bytes.lowerBound`: its first line is `firstLine + lineOffset` of the whole.
        public var lineOffset: Int
    }

    /// Physical lines in `bytes`: the newlines, plus one for a last line without a newline.
    public static func countLines(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        var count = 0
        var p = base
        let end = base + bytes.count
        while p < end, let nl = memchr(p, 0x0A, end - p) {
            count += 1
            p = UnsafeRawPointer(nl) + 1
        }
        return p < end ? count + 1 : count
    }

    /// `countLines` over an array.
    public static func countLines(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { countLines($0) }
    }

    /// Splits `bytes` into at most `parts` ranges of whole lines of about equal size.
    public static func split(_ bytes: UnsafeRawBufferPointer, parts: Int) -> [Part] {
        guard !bytes.isEmpty else { return [] }
        var result: [Part] = []
        var start = 0
        var lineOffset = 0
        let n = bytes.count
        for k in 1...max(parts, 1) {
            if start >= n { break }
            var cut = k == parts ? n : max(start, n * k / parts)
            if cut < n {
                // Extend to the end of the line that contains `cut`.
                let rest = UnsafeRawBufferPointer(rebasing: bytes[cut...])
                if let nl = memchr(rest.baseAddress!, 0x0A, rest.count) {
                    cut += UnsafeRawPointer(nl) - rest.baseAddress! + 1
                } else {
                    cut = n
                }
            }
            if cut <= start { continue }
            result.append(Part(bytes: start..<cut, lineOffset: lineOffset))
            lineOffset += countLines(UnsafeRawBufferPointer(rebasing: bytes[start..<cut]))
            start = cut
        }
        return result
    }
}
