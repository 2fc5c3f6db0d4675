import Foundation
import ZTAQuery

/// Clock and timestamp formatting helpers (`ts` of api.md: `YYYY-MM-DDTHH:MM:SS.sssZ`).
enum Clock {
    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    static func iso(_ ms: Int64) -> String {
        let day = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let rem = ms - day * 86_400_000
        let d = CivilDate(daysSinceEpoch: day)
        let h = rem / 3_600_000, m = rem / 60_000 % 60, s = rem / 1000 % 60, f = rem % 1000
        return "\(d.description)T\(pad(h)):\(pad(m)):\(pad(s)).\(pad3(f))Z"
    }

    static func isoValue(_ ms: Int64?) -> JSONValue { ms.map { .string(iso($0)) } ?? .null }

    /// `YYYY-MM-DD` of a UTC instant.
    static func utcDate(_ ms: Int64) -> String {
        CivilDate(daysSinceEpoch: ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000).description
    }

    private static func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    private static func pad3(_ v: Int64) -> String { v < 10 ? "00\(v)" : v < 100 ? "0\(v)" : "\(v)" }
}
