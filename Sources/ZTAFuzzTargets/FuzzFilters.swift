import ZTAQuery

/// The `filters` grammar: input = filter text, NUL, a value to match. Parsing throws
/// `QueryError` or gives filters that match as their patterns say.
func fuzzFilters(_ data: UnsafeRawBufferPointer) {
    let parts = splitParts(data, 2)
    let text = String(decoding: parts[0], as: UTF8.self)
    let value = String(decoding: parts[1], as: UTF8.self)
    let filters: [Filter]
    do { filters = try FilterParser.parse(text) } catch {
        FuzzCheck.require(!error.message.isEmpty && error.status == 400, "filter error without message or 400: \(error)")
        return
    }
    FuzzCheck.require(text.isEmpty == filters.isEmpty, "\(filters.count) filters from \(text.utf8.count) bytes")
    for f in filters {
        FuzzCheck.require(!f.patterns.isEmpty, "filter without patterns: \(f.raw)")
        let any = f.patterns.contains { $0.matches(value) }
        FuzzCheck.require(f.matches(value) == (any != f.negated), "filter \(f.raw) disagrees with its patterns")
        for p in f.patterns {
            _ = p.matches(value)
            _ = p.matches("")
            // A pattern made of literal parts matches the string it spells with its stars.
            if !p.matchesEmptyOnly {
                let bytes = Array(p.parts.joined(separator: [UInt8(ascii: "*")]))
                let spelled = String(decoding: bytes, as: UTF8.self)
                if spelled.utf8.elementsEqual(bytes) {
                    FuzzCheck.require(p.matches(spelled), "pattern \(p.parts) does not match its own spelling")
                }
            }
        }
    }
}
