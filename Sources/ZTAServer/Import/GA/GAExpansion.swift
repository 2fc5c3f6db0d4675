import Foundation
import ZTAQuery

/// api.md §8's synthetic pageview expansion: a GA row (aggregate counts) becomes P pageview
/// events spread over S sessions and V visitors, written as E§2 NDJSON lines for the import path
/// that NDJSON imports use (so hashing, normalisation, batching and the import id are shared).
struct GAExpansion {
    /// The external import id (`imp_12`), the prefix of every synthetic visitor and session id.
    let importId: String
    let siteId: String
    private var calendar: Calendar
    private var noonCache: [CivilDate: Int64] = [:]

    /// nil for an unknown IANA zone name.
    init?(importId: String, siteId: String, timeZone: String) {
        guard let tz = TimeZone(identifier: timeZone) else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        self.importId = importId
        self.siteId = siteId
        self.calendar = cal
    }

    /// E§2's accepted `ts` range: [2000-01-01, 2100-01-01) UTC.
    static let tsRange: Range<Int64> = 946_684_800_000..<4_102_444_800_000

    /// 12:00 site-local on `date`, as ms since the epoch (Foundation resolves DST: noon exists on
    /// every transition day of every zone in use), or nil outside E§2's range.
    mutating func noon(_ date: CivilDate) -> Int64? {
        if let t = noonCache[date] { return t }
        let parts = DateComponents(year: date.year, month: date.month, day: date.day, hour: 12)
        guard let d = calendar.date(from: parts) else { return nil }
        let ms = (d.timeIntervalSince1970 * 1000).rounded()
        guard ms.isFinite, ms >= Double(Self.tsRange.lowerBound), ms < Double(Self.tsRange.upperBound) else { return nil }
        let t = Int64(ms)
        if noonCache.count > 10_000 { noonCache.removeAll() }
        noonCache[date] = t
        return t
    }

    /// Sources and media that stand for "none" and give no `utm_*` value.
    static let noValue: Set<String> = ["(direct)", "(none)", "(not set)"]
    static let paidMedia: Set<String> = ["cpc", "ppc", "paid", "paidsearch", "display", "cpm"]
    static let ownChannelMedia: Set<String> = ["organic", "referral", "social", "email"]

    /// The channel a medium sets by itself, or nil when E§4 derives it from the stored values.
    static func channel(medium: String) -> String? {
        let m = medium.lowercased()
        if ownChannelMedia.contains(m) { return m }
        if paidMedia.contains(m) { return "paid" }
        return nil
    }

    /// The fields every pageview of the row shares, as the start of an NDJSON object.
    static func sharedFields(_ row: GARow, ts: Int64, site: String) -> [UInt8] {
        var fields: [(String, JSONValue)] = [
            ("ts", .int(ts)), ("site", .string(site)), ("type", .string("pageview")), ("path", .string(row.page)),
        ]
        if row.source.contains(".") { fields.append(("referrer", .string(row.source))) }
        if !row.source.isEmpty, !noValue.contains(row.source) { fields.append(("utm_source", .string(row.source))) }
        if !row.medium.isEmpty, !noValue.contains(row.medium) { fields.append(("utm_medium", .string(row.medium))) }
        if let c = channel(medium: row.medium) { fields.append(("channel", .string(c))) }
        fields.append(("device", .string(row.device)))
        if !row.browser.isEmpty { fields.append(("browser", .string(row.browser))) }
        if !row.os.isEmpty { fields.append(("os", .string(row.os))) }
        if !row.country.isEmpty { fields.append(("country", .string(row.country))) }
        if !row.region.isEmpty { fields.append(("region", .string(row.region))) }
        var out = JSONCoding.write(.object(fields))
        out.removeLast()  // the closing brace: visitor and session follow per event
        return out
    }

    /// Session k's id and its visitor's id (§8: `<importId>|<row>|s<k>`, `…|v<k mod V>`).
    func ids(row number: Int, session k: Int, visitors: Int) -> (visitor: String, session: String) {
        ("\(importId)|\(number)|v\(k % visitors)", "\(importId)|\(number)|s\(k)")
    }

    /// Appends the row's P pageview lines to `out`, calling `flush` whenever `out` passes
    /// `flushBytes` (so a row of a million pageviews never sits in memory whole). Pageview i
    /// belongs to session i mod S. Returns false when `flush` asks to stop.
    func write(_ row: GARow, number: Int, ts: Int64, into out: inout [UInt8], flushBytes: Int = 1 << 20,
               flush: (inout [UInt8]) -> Bool) -> Bool {
        guard row.pageviews > 0, row.sessions > 0, row.visitors > 0 else { return true }
        let shared = Self.sharedFields(row, ts: ts, site: siteId)
        for i in 0..<row.pageviews {
            let (v, s) = ids(row: number, session: i % row.sessions, visitors: row.visitors)
            out.append(contentsOf: shared)
            out.append(contentsOf: #","visitor":""#.utf8)
            out.append(contentsOf: v.utf8)  // the import id and numbers need no JSON escaping
            out.append(contentsOf: #"","session":""#.utf8)
            out.append(contentsOf: s.utf8)
            out.append(contentsOf: "\"}\n".utf8)
            if out.count >= flushBytes, !flush(&out) { return false }
        }
        return true
    }
}
