/// `json`: an array of row objects keyed by column name (`{"date": "20240301", "pagePath": "/",
/// "screenPageViews": 12}`); values are strings or numbers, null = absent.
final class GAJSONRowsSource: GARowSource {
    private let rows: [JSONValue]
    private var i = 0

    init(_ data: JSONValue) throws(GAParseError) {
        var value = data
        if case .string(let s) = data {
            guard let v = JSONCoding.parse(Array(s.utf8)) else { throw GAParseError("data is not valid JSON") }
            value = v
        }
        guard case .array(let rows) = value else { throw GAParseError("json data must be an array of row objects") }
        self.rows = rows
    }

    func next() -> GASourceRow? {
        guard i < rows.count else { return nil }
        defer { i += 1 }
        guard case .object(let members) = rows[i] else { return .bad("not a JSON object") }
        var raw = GARawRow()
        for (key, value) in members {
            guard let f = GAColumns.field(key), raw[f] == nil else { continue }
            guard let text = Self.text(value) else { return .bad("invalid type for field: \(key)") }
            raw[f] = text
            raw.names[f.rawValue] = key
        }
        return .row(raw)
    }

    /// A cell's text: strings as they are, numbers written out, null = absent (""); other types nil.
    static func text(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): d == d.rounded() && d.magnitude < 9e15 ? String(Int64(d)) : String(d)
        case .null: ""
        case .bool, .array, .object: nil
        }
    }
}

/// `ga4-api`: one GA4 Data API `runReport` response: `dimensionHeaders[].name`,
/// `metricHeaders[].name`, `rows[].dimensionValues[].value`, `rows[].metricValues[].value`.
/// `totals`, `maximums`, `minimums`, `rowCount` and `metadata` are not data and are ignored;
/// a report without `rows` (GA4 leaves it out when nothing matched) has no rows.
final class GA4ReportSource: GARowSource {
    private let rows: [JSONValue]
    private let columns: GAColumnMap
    private let dimensionCount: Int, metricCount: Int
    private var i = 0

    init(_ data: JSONValue) throws(GAParseError) {
        var value = data
        if case .string(let s) = data {
            guard let v = JSONCoding.parse(Array(s.utf8)) else { throw GAParseError("data is not valid JSON") }
            value = v
        }
        guard value.isObject else { throw GAParseError("ga4-api data must be a runReport response object") }
        let dims = value["dimensionHeaders"], mets = value["metricHeaders"]
        guard dims != nil || mets != nil else {
            throw GAParseError("not a runReport response: dimensionHeaders and metricHeaders are missing")
        }
        func names(_ v: JSONValue?, _ key: String) throws(GAParseError) -> [String] {
            guard let v, !v.isNull else { return [] }
            guard let list = v.arrayValue else { throw GAParseError("\(key) must be an array") }
            var out: [String] = []
            for h in list {
                guard let n = h["name"]?.stringValue else { throw GAParseError("\(key)[].name must be a string") }
                out.append(n)
            }
            return out
        }
        let d = try names(dims, "dimensionHeaders"), m = try names(mets, "metricHeaders")
        dimensionCount = d.count
        metricCount = m.count
        columns = GAColumns.mapping(d + m)
        switch value["rows"] {
        case nil, .null?: rows = []
        case .array(let r)?: rows = r
        default: throw GAParseError("rows must be an array")
        }
    }

    func next() -> GASourceRow? {
        guard i < rows.count else { return nil }
        defer { i += 1 }
        let row = rows[i]
        guard row.isObject else { return .bad("not a JSON object") }
        guard let dv = Self.values(row["dimensionValues"]), let mv = Self.values(row["metricValues"]) else {
            return .bad("invalid dimensionValues or metricValues")
        }
        // Short lists leave their missing cells absent; the header decides which cell is which.
        let cells = Self.padded(dv, dimensionCount) + Self.padded(mv, metricCount)
        return .row(columns.values(cells))
    }

    static func values(_ v: JSONValue?) -> [String]? {
        guard let v, !v.isNull else { return [] }
        guard let list = v.arrayValue else { return nil }
        var out: [String] = []
        for cell in list {
            guard cell.isObject else { return nil }
            guard let t = cell["value"].flatMap(GAJSONRowsSource.text) else {
                if cell["value"] == nil { out.append(""); continue }
                return nil
            }
            out.append(t)
        }
        return out
    }

    static func padded(_ a: [String], _ n: Int) -> [String] {
        a.count >= n ? Array(a.prefix(n)) : a + Array(repeating: "", count: n - a.count)
    }
}
