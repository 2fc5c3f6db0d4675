/// One value of an exported row.
enum ExportValue {
    case string(String)
    case int(Int64)
    case double(Double)
    /// A fixed-point decimal (`bounce_rate`: `fixed(412, decimals: 1)` is 41.2).
    case fixed(Int64, decimals: Int)
}

/// Writes export rows as JSON objects, NDJSON lines or CSV lines — from the row's values, so
/// nothing parses our own JSON back. Numbers are written by `JSONWriter` in every format, so a
/// number reads the same in all three.
struct ExportRenderer {
    let names: [String]
    let format: ExportFormat

    /// The CSV header line (field names); nothing for the other formats.
    func appendHeader(to out: inout [UInt8]) {
        guard format == .csv else { return }
        for (i, n) in names.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendCSV(n, to: &out)
        }
        out.append(contentsOf: [13, 10])
    }

    /// One row: a JSON object (json), an object and `\n` (ndjson), or a CSV line ending `\r\n`.
    func append(_ values: [ExportValue], to out: inout [UInt8]) {
        if format == .csv {
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if case .string(let s) = v { Self.appendCSV(s, to: &out) } else { Self.appendNumber(v, to: &out) }
            }
            out.append(contentsOf: [13, 10])
            return
        }
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        for (name, v) in zip(names, values) {
            w.key(name)
            switch v {
            case .string(let s): w.string(s)
            case .int(let n): w.int(n)
            case .double(let d): w.double(d)
            case .fixed(let n, let decimals): w.fixed(n, decimals: decimals)
            }
        }
        w.endObject()
        out.append(contentsOf: w.bytes)
        if format == .ndjson { out.append(10) }
    }

    private static func appendNumber(_ v: ExportValue, to out: inout [UInt8]) {
        var w = JSONWriter(capacity: 32)
        switch v {
        case .string: return
        case .int(let n): w.int(n)
        case .double(let d): w.double(d)
        case .fixed(let n, let decimals): w.fixed(n, decimals: decimals)
        }
        out.append(contentsOf: w.bytes)
    }

    /// An RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. A text
    /// beginning with `=`, `+`, `-`, `@`, tab or CR would run as a formula in a spreadsheet
    /// (values come from visitors' pages and events), so it gets a leading `'` first.
    static func appendCSV(_ s: String, to out: inout [UInt8]) {
        let u = s.utf8
        let formula = u.first.map { [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13].contains($0) } ?? false
        let needs = u.contains { $0 == 44 || $0 == 0x22 || $0 == 10 || $0 == 13 }
        if !needs && !formula { out.append(contentsOf: u); return }
        if needs { out.append(0x22) }
        if formula { out.append(UInt8(ascii: "'")) }
        for c in u { if c == 0x22 { out.append(0x22) }; out.append(c) }
        if needs { out.append(0x22) }
    }
}
