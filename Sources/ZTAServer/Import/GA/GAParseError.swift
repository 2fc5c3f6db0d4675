/// Data that can't be read as the declared format at all → 400 `Failed to parse data` with
/// these `details` (api.md §8). Problems of single rows are row errors instead.
struct GAParseError: Error, Equatable, Sendable {
    var details: [String]
    init(_ details: String...) { self.details = details }
}

/// One data row as a reader yields it: its cells by field, or why it can't be read.
enum GASourceRow: Sendable {
    case row(GARawRow)
    case bad(String)
}

/// The data rows of one GA import in order; row numbers are 1-based positions in this sequence.
protocol GARowSource: AnyObject {
    /// The next data row, nil at the end.
    func next() -> GASourceRow?
}

/// The import formats of api.md §8 besides NDJSON.
enum GAFormat: String, Sendable, CaseIterable {
    case csv, json, ga4API = "ga4-api", uaCSV = "ua-csv"
}
