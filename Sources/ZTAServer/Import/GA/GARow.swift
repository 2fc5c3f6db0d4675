import Foundation
import ZTAQuery

/// One validated GA data row: what api.md §8's synthetic pageview expansion needs.
struct GARow: Sendable, Equatable {
    var date: CivilDate
    /// P, S, V after §8's fallbacks and clamps: S ≤ P, V ≤ S, and S, V ≥ 1 when P > 0.
    var pageviews: Int, sessions: Int, visitors: Int
    var page: String
    var source: String, medium: String
    var country: String, region: String
    var device: String, browser: String, os: String
}

/// Validation of a raw row (api.md §8).
enum GARowParser {
    /// Limits applied while validating.
    struct Options: Sendable {
        /// UA CSV exports write `M/D/YY` in `Day Index` and thousands separators in numbers.
        var uaExport = false
        /// A row claiming more pageviews (P after the fallbacks) is rejected.
        var maxPageviewsPerRow = 1_000_000
    }

    /// The row, or the reason it is rejected (the first problem wins: date, then the counts in
    /// the order pageviews, sessions, visitors, then the per-row cap).
    static func parse(_ raw: GARawRow, _ options: Options) -> Result<GARow, GARowError> {
        guard let dateText = raw[.date].map(trim), !dateText.isEmpty else { return .failure(.init("missing field: \(raw.name(.date))")) }
        guard let date = GADate.parse(dateText, shortYear: options.uaExport) else {
            return .failure(.init("invalid value for field: \(raw.name(.date))"))
        }
        var counts: [Int?] = []
        for f in [GAField.pageviews, .sessions, .visitors] {
            switch count(raw[f], thousands: options.uaExport) {
            case .absent: counts.append(nil)
            case .value(let v): counts.append(v)
            case .huge:
                return .failure(.init("too many \(raw.name(f)): at most \(options.maxPageviewsPerRow) pageviews per row"))
            case .invalid: return .failure(.init("invalid value for field: \(raw.name(f))"))
            }
        }
        // §8: P = pageviews (else sessions, visitors, 0), S = sessions (else visitors, P),
        // V = visitors (else S); S = min(S, P), V = min(V, S).
        let p = counts[0] ?? counts[1] ?? counts[2] ?? 0
        guard p <= options.maxPageviewsPerRow else {
            return .failure(.init("too many \(raw.name(.pageviews)): at most \(options.maxPageviewsPerRow) pageviews per row"))
        }
        var s = min(counts[1] ?? counts[2] ?? p, p)
        var v = min(counts[2] ?? s, s)
        if p > 0 {
            // A row with pageviews but sessions or users 0 still needs one of each to carry them.
            s = max(s, 1)
            v = max(v, 1)
        }

        var source = cell(raw[.source]), medium = cell(raw[.medium])
        if let sm = raw[.sourceMedium].map(trim), !sm.isEmpty {
            // `google / organic`: only when the separate columns are absent.
            let parts = sm.components(separatedBy: " / ")
            if source.isEmpty { source = trim(parts[0]) }
            if medium.isEmpty, parts.count > 1 { medium = trim(parts[1...].joined(separator: " / ")) }
        }
        var page = cell(raw[.page])
        if let cut = page.firstIndex(where: { $0 == "?" || $0 == "#" }) { page = String(page[..<cut]) }
        if page.isEmpty { page = "/" }
        let deviceName = cell(raw[.device]).lowercased()
        let device = ["desktop", "mobile", "tablet"].contains(deviceName) ? deviceName : "desktop"
        return .success(GARow(date: date, pageviews: p, sessions: s, visitors: v, page: page, source: source, medium: medium,
                              country: CountryNames.code(cell(raw[.country])) ?? "", region: known(raw[.region]), device: device,
                              browser: known(raw[.browser]), os: known(raw[.os])))
    }

    enum Count: Equatable { case absent, value(Int), huge, invalid }

    /// A non-negative integer count; empty = absent. `thousands` allows `12,345`.
    static func count(_ text: String?, thousands: Bool) -> Count {
        guard var t = text.map(trim), !t.isEmpty else { return .absent }
        if thousands { t.removeAll { $0 == "," } }
        // GA APIs may write whole numbers as `12.0`.
        if let dot = t.firstIndex(of: "."), t[t.index(after: dot)...].allSatisfy({ $0 == "0" }) { t = String(t[..<dot]) }
        guard !t.isEmpty, t.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return .invalid }
        guard let v = Int(t) else { return .huge }  // all digits but past Int.max
        return .value(v)
    }

    static func trim(_ s: String) -> String { s.trimmingCharacters(in: .whitespaces) }
    static func cell(_ s: String?) -> String { s.map(trim) ?? "" }

    /// A dimension value, with GA's `(not set)` for unknown read as empty (E§1: empty when unknown).
    static func known(_ s: String?) -> String {
        let t = cell(s)
        return t == "(not set)" ? "" : t
    }
}

/// Why a row is rejected (the `error` of api.md §8's `errors`).
struct GARowError: Error, Equatable, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}
