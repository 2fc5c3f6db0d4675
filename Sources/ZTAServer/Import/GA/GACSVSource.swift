import CSV
import Foundation

/// The rows of a CSV export (`csv`: a plain GA4 CSV; `ua-csv`: a Universal Analytics report
/// export), parsed by CSV.swift (quoted commas, quotes and newlines, CRLF).
///
/// Both skip a UTF-8 byte order mark and the `#` comment lines and blank lines before the header
/// (GA4 and UA exports start with a `# ----` block naming the property and date range).
/// A UA export is read as its first table only: it ends at the first blank or `#` line after
/// data (what follows is another table, e.g. the `Day Index` series of the report's chart), and
/// a row whose first cell is empty is the table's totals row, which is skipped. UA numbers carry
/// thousands separators (`"12,345"`) and `Day Index` dates are `M/D/YY`; see `GARowParser`.
/// Skipped lines get no row number.
final class GACSVSource: GARowSource {
    private let reader: CSVReader
    let columns: GAColumnMap
    let header: [String]
    private let uaExport: Bool
    private var seenData = false
    private var done = false

    init(text: String, uaExport: Bool) throws(GAParseError) {
        var scalars = Substring(text).unicodeScalars
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var rest = Substring(scalars)
        // The comment block and blank lines before the header.
        while let first = rest.first {
            let end = rest.firstIndex(where: \.isNewline) ?? rest.endIndex
            let line = rest[..<end]
            guard first == "#" || line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "," }) else { break }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        guard !rest.isEmpty else { throw GAParseError("no header row") }
        do {
            reader = try CSVReader(string: String(rest), hasHeaderRow: false)
        } catch {
            throw GAParseError("CSV: \(error)")
        }
        guard let h = reader.next() else { throw GAParseError("no header row") }
        header = h.map { $0.trimmingCharacters(in: .whitespaces) }
        columns = GAColumns.mapping(header)
        guard columns.index.contains(where: { $0 != nil }) else {
            throw GAParseError("no known column in the header: \(header.prefix(20).joined(separator: ", "))")
        }
        self.uaExport = uaExport
    }

    func next() -> GASourceRow? {
        while !done, let cells = reader.next() {
            let first = cells.first?.trimmingCharacters(in: .whitespaces) ?? ""
            let blank = cells.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
            if blank || first.hasPrefix("#") {
                if uaExport && seenData { done = true }
                continue
            }
            if uaExport && first.isEmpty { continue }  // the totals row
            seenData = true
            return .row(columns.values(cells))
        }
        done = true
        return nil
    }
}
