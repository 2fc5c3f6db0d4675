import Foundation
import ZTAQuery

/// The date formats of a GA export (api.md §8): `YYYYMMDD` (GA4 and UA API `date`),
/// `MM/DD/YYYY` (month and day may have one digit, as spreadsheets write them), `YYYY-MM-DD`.
/// With `shortYear`, `M/D/YY` too (year 20YY): the `Day Index` column of a Universal Analytics
/// CSV export is written that way.
enum GADate {
    static func parse(_ text: String, shortYear: Bool = false) -> CivilDate? {
        let u = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        if u.count == 8, let y = number(u[0..<4]), let m = number(u[4..<6]), let d = number(u[6..<8]) {
            return valid(y, m, d)
        }
        if u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
           let y = number(u[0..<4]), let m = number(u[5..<7]), let d = number(u[8..<10]) {
            return valid(y, m, d)
        }
        let parts = u.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if parts.count == 3, (1...2).contains(parts[0].count), (1...2).contains(parts[1].count),
           let m = number(parts[0]), let d = number(parts[1]), let y = number(parts[2]) {
            if parts[2].count == 4 { return valid(y, m, d) }
            if parts[2].count == 2 && shortYear { return valid(2000 + y, m, d) }
        }
        return nil
    }

    /// A real calendar date, else nil.
    static func valid(_ y: Int, _ m: Int, _ d: Int) -> CivilDate? {
        guard (1...12).contains(m), d >= 1, d <= daysIn(year: y, month: m) else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// ASCII digits only (at most 4, so no overflow), else nil.
    private static func number(_ s: ArraySlice<UInt8>) -> Int? {
        guard !s.isEmpty, s.count <= 4 else { return nil }
        var v = 0
        for c in s {
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v
    }
}
