import Foundation

/// The CSV of `GET /api/activity-log/export` (api.md §7.10): RFC 4180 quoting, and cells that a
/// spreadsheet would read as a formula neutralised.
enum ActivityCSV {
    static let header = "timestamp,type,action,actor_email,actor_name,target_type,target_id,ip_address,user_agent\r\n"

    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// One record, CRLF-terminated.
    static func row(_ e: ActivityEntry) -> String {
        [Clock.iso(e.timestamp), e.type, e.action, e.actorEmail ?? "", e.actorName ?? "", e.target.type,
         e.target.id ?? "", e.ipMasked, e.device].map(cell).joined(separator: ",") + "\r\n"
    }

    /// A field as written: a value beginning with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`
    /// (OWASP's CSV-injection advice: names and e-mails are user input), then the field is quoted
    /// when it holds a comma, a quote, CR or LF, quotes doubled (RFC 4180).
    static func cell(_ value: String) -> String {
        var v = value
        if let first = v.unicodeScalars.first, formulaStarts.contains(first) {
            v = "'" + v
        }
        guard v.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
