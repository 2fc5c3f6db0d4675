import Foundation

/// The columns a Google Analytics import reads (api.md §8). Every other column is ignored.
enum GAField: Int, CaseIterable, Sendable {
    case date, page, pageviews, sessions, visitors, source, medium, sourceMedium, country, region, device, browser, os
}

/// Header name → field, for the three spellings a GA export can use: GA4 Data API / GA4 CSV
/// names (`screenPageViews`), Universal Analytics API names (`ga:pageviews`) and the display
/// headers of a Universal Analytics CSV export (`Pageviews`, `Day Index`, `Source / Medium`).
/// Matching ignores case and surrounding spaces.
enum GAColumns {
    static let byName: [String: GAField] = {
        let names: [(GAField, [String])] = [
            (.date, ["date", "ga:date", "day index"]),
            (.page, ["pagepath", "ga:pagepath", "page", "page path"]),
            (.pageviews, ["screenpageviews", "ga:pageviews", "pageviews"]),
            (.sessions, ["sessions", "ga:sessions"]),
            (.visitors, ["totalusers", "ga:users", "users", "total users"]),
            (.source, ["sessionsource", "ga:source", "source", "session source"]),
            (.medium, ["sessionmedium", "ga:medium", "medium", "session medium"]),
            (.sourceMedium, ["source / medium", "ga:sourcemedium", "sessionsourcemedium", "session source / medium"]),
            (.country, ["country", "ga:country"]),
            (.region, ["region", "ga:region"]),
            (.device, ["devicecategory", "ga:devicecategory", "device category"]),
            (.browser, ["browser", "ga:browser"]),
            (.os, ["operatingsystem", "ga:operatingsystem", "operating system"]),
        ]
        var m: [String: GAField] = [:]
        for (field, list) in names { for n in list { m[n] = field } }
        return m
    }()

    /// The field a header names, if any.
    static func field(_ header: String) -> GAField? {
        var h = header.trimmingCharacters(in: .whitespaces)
        if h.hasPrefix("\u{FEFF}") { h.removeFirst() }
        return byName[h.lowercased()]
    }

    /// Column index → field for a header row; a field named twice keeps its first column.
    static func mapping(_ headers: [String]) -> GAColumnMap {
        var map = GAColumnMap()
        for (i, h) in headers.enumerated() {
            guard let f = field(h), map.index[f.rawValue] == nil else { continue }
            map.index[f.rawValue] = i
            map.names[f.rawValue] = h.trimmingCharacters(in: .whitespaces)
        }
        return map
    }
}

/// Where each field sits in a row of cells, and the header it came from (for error messages).
struct GAColumnMap: Sendable {
    var index = [Int?](repeating: nil, count: GAField.allCases.count)
    var names = [String](repeating: "", count: GAField.allCases.count)

    /// The row's cells picked out by field (nil: no such column, or the row is short).
    func values(_ cells: [String]) -> GARawRow {
        var row = GARawRow()
        for f in GAField.allCases {
            if let i = index[f.rawValue], i < cells.count { row.values[f.rawValue] = cells[i] }
        }
        row.names = names
        return row
    }
}

/// One data row's cells by field, before validation.
struct GARawRow: Sendable {
    var values = [String?](repeating: nil, count: GAField.allCases.count)
    /// The header each field was read from (`screenPageViews`, `ga:pageviews`, `Pageviews`).
    var names = [String](repeating: "", count: GAField.allCases.count)

    subscript(_ f: GAField) -> String? {
        get { values[f.rawValue] }
        set { values[f.rawValue] = newValue }
    }

    func name(_ f: GAField) -> String {
        let n = names[f.rawValue]
        if !n.isEmpty { return n }
        switch f {
        case .date: return "date"
        case .page: return "pagePath"
        case .pageviews: return "screenPageViews"
        case .sessions: return "sessions"
        case .visitors: return "totalUsers"
        case .source: return "sessionSource"
        case .medium: return "sessionMedium"
        case .sourceMedium: return "sessionSourceMedium"
        case .country: return "country"
        case .region: return "region"
        case .device: return "deviceCategory"
        case .browser: return "browser"
        case .os: return "operatingSystem"
        }
    }
}
