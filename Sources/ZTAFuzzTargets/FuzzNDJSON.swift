import ZTAEngine
import ZTAFormat

/// NDJSON import: parsing a buffer whole and in the importer's parallel parts gives the same
/// counts and errors, and the builder holds exactly the accepted rows. With and without a site
/// restriction (`example.com`).
func fuzzNDJSON(_ data: UnsafeRawBufferPointer) {
    for site in [nil, "example.com"] as [String?] {
        let parser = NDJSONParser(siteRestriction: site, importId: 7)
        var whole = ColumnChunkBuilder()
        var wholeErrors: [ImportLineError] = []
        let w = parser.parse(data, firstLine: 1, byteOrderMark: false, into: &whole, errors: &wholeErrors)
        FuzzCheck.require(w.accepted + w.rejected <= w.lines, "accepted + rejected > lines: \(w)")
        FuzzCheck.require(w.lines == LineRanges.countLines(data), "lines \(w.lines) != countLines")
        FuzzCheck.require(whole.count == w.accepted, "builder holds \(whole.count) rows, accepted \(w.accepted)")
        FuzzCheck.require(wholeErrors.count == w.rejected, "\(wholeErrors.count) errors for \(w.rejected) rejected")
        let chunk = whole.build()
        FuzzCheck.require(chunk.count == w.accepted, "chunk of \(chunk.count) rows, accepted \(w.accepted)")

        // The importer parses parts in parallel: the sum must match the whole.
        let partCount = 1 + (data.first.map { Int($0) % 4 } ?? 0)
        var accepted = 0, rejected = 0, lines = 0
        var errors: [ImportLineError] = []
        var parts = ColumnChunkBuilder()
        for part in LineRanges.split(data, parts: partCount) {
            let bytes = UnsafeRawBufferPointer(rebasing: data[part.bytes])
            let r = parser.parse(bytes, firstLine: 1 + part.lineOffset, byteOrderMark: false, into: &parts, errors: &errors)
            accepted += r.accepted; rejected += r.rejected; lines += r.lines
        }
        FuzzCheck.require(accepted == w.accepted && rejected == w.rejected && lines == w.lines,
                          "parts give \(accepted)/\(rejected)/\(lines), whole \(w)")
        FuzzCheck.require(errors == wholeErrors, "parts report other errors than the whole")
        FuzzCheck.require(parts.count == whole.count, "parts hold \(parts.count) rows, whole \(whole.count)")
    }
}
