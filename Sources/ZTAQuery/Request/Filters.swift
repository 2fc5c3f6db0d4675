/// One `*`-wildcard pattern of a filter (api.md §4): literal byte runs separated by stars.
public struct Pattern: Sendable, Equatable {
    /// The literal parts between stars; one part = no star (exact match).
    public let parts: [[UInt8]]
    /// `(direct)` in a `source` filter stands for the empty referrer.
    public let matchesEmptyOnly: Bool

    init(parts: [[UInt8]], matchesEmptyOnly: Bool = false) {
        self.parts = parts
        self.matchesEmptyOnly = matchesEmptyOnly
    }

    /// Whether the whole value matches (case-sensitive, byte for byte; `*` = any run, incl. empty).
    public func matches(_ s: String) -> Bool {
        if matchesEmptyOnly { return s.isEmpty }
        var s = s
        return s.withUTF8 { matches(bytes: $0) }
    }

    func matches(bytes v: UnsafeBufferPointer<UInt8>) -> Bool {
        if parts.count == 1 { return v.elementsEqual(parts[0]) }
        let first = parts[0], last = parts[parts.count - 1]
        guard v.count >= first.count + last.count else { return false }
        guard v.prefix(first.count).elementsEqual(first), v.suffix(last.count).elementsEqual(last) else { return false }
        // Middle parts: leftmost greedy placement between prefix and suffix is optimal for `*`-only globs.
        var pos = first.count
        let end = v.count - last.count
        for k in 1..<(parts.count - 1) {
            let p = parts[k]
            if p.isEmpty { continue }
            guard let at = find(p, in: v, from: pos, to: end) else { return false }
            pos = at + p.count
        }
        return true
    }

    private func find(_ p: [UInt8], in v: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        if p.count > to - from { return nil }
        var i = from
        while i + p.count <= to {
            if v[i] == p[0] {
                var ok = true
                for j in 1..<p.count where v[i + j] != p[j] { ok = false; break }
                if ok { return i }
            }
            i += 1
        }
        return nil
    }
}

/// One parsed filter `property (==|!=) pattern|pattern…`.
public struct Filter: Sendable, Equatable {
    public let dimension: Dimension
    public let negated: Bool
    public let patterns: [Pattern]
    /// The filter as written (for `explain`).
    public let raw: String

    /// `==` holds when a pattern matches the whole value, `!=` when none does.
    public func matches(_ value: String) -> Bool {
        var any = false
        for p in patterns where p.matches(value) { any = true; break }
        return any != negated
    }
}

/// The `filters` grammar of api.md §4.
public enum FilterParser {
    /// Parses `filters` (already percent-decoded). Empty input = no filters.
    public static func parse(_ s: String) throws(QueryError) -> [Filter] {
        if s.isEmpty { return [] }
        var filters: [Filter] = []
        for raw in splitUnescaped(Array(s.utf8), on: UInt8(ascii: ";")) {
            filters.append(try parseOne(raw))
        }
        return filters
    }

    private static func parseOne(_ b: [UInt8]) throws(QueryError) -> Filter {
        let text = String(decoding: b, as: UTF8.self)
        // The operator is the first `==` or `!=`; property names hold neither character.
        var op = -1
        var i = 0
        while i + 1 < b.count {
            if (b[i] == UInt8(ascii: "=") || b[i] == UInt8(ascii: "!")) && b[i + 1] == UInt8(ascii: "=") { op = i; break }
            if b[i] == UInt8(ascii: "\\") { break }
            i += 1
        }
        guard op > 0 else { throw QueryError("Invalid filter: \(text)") }
        let name = String(decoding: b[0..<op], as: UTF8.self)
        guard let dim = Dimension.filterProperty(name) else { throw QueryError("Invalid filter property: \(name)") }
        let negated = b[op] == UInt8(ascii: "!")
        let valueBytes = Array(b[(op + 2)...])
        var patterns: [Pattern] = []
        for alt in splitUnescaped(valueBytes, on: UInt8(ascii: "|")) {
            guard !alt.isEmpty, let parts = unescapePattern(alt) else { throw QueryError("Invalid filter: \(text)") }
            let direct = dim == .source && parts.count == 1 && parts[0] == Array("(direct)".utf8)
            patterns.append(Pattern(parts: parts, matchesEmptyOnly: direct))
        }
        return Filter(dimension: dim, negated: negated, patterns: patterns, raw: text)
    }

    /// Splits on `sep` outside escapes, keeping escapes intact for the next stage.
    static func splitUnescaped(_ b: [UInt8], on sep: UInt8) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") && i + 1 < b.count {
                cur.append(c); cur.append(b[i + 1]); i += 2; continue
            }
            if c == sep { out.append(cur); cur = [] } else { cur.append(c) }
            i += 1
        }
        out.append(cur)
        return out
    }

    /// Resolves escapes and splits on unescaped `*`; nil when an escape is invalid.
    static func unescapePattern(_ b: [UInt8]) -> [[UInt8]]? {
        var parts: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return nil }
                let n = b[i + 1]
                guard n == UInt8(ascii: ";") || n == UInt8(ascii: "|") || n == UInt8(ascii: "*") || n == UInt8(ascii: "\\") else { return nil }
                cur.append(n); i += 2; continue
            }
            if c == UInt8(ascii: "*") { parts.append(cur); cur = [] } else { cur.append(c) }
            i += 1
        }
        parts.append(cur)
        return parts
    }
}
