/// ClickHouse's `TabSeparated` format, both ways: rows of an answer parsed into fields (for the
/// aggregate results — a few hundred rows at most, parsed without Foundation), and rows written
/// for `INSERT … FORMAT TabSeparated`.
public enum TabSeparated {
    /// The rows of `body`, each a list of unescaped fields. A final row without its newline is
    /// accepted; an empty body has no rows.
    public static func parse(_ body: [UInt8]) throws(ClickHouseError) -> [[[UInt8]]] {
        var rows: [[[UInt8]]] = []
        var row: [[UInt8]] = []
        var field: [UInt8] = []
        var i = 0
        let n = body.count
        while i < n {
            let c = body[i]
            switch c {
            case UInt8(ascii: "\t"):
                row.append(field); field = []
            case UInt8(ascii: "\n"):
                row.append(field); field = []
                rows.append(row); row = []
            case UInt8(ascii: "\\"):
                guard i + 1 < n else { throw ClickHouseError("truncated escape in a TabSeparated answer") }
                i += 1
                switch body[i] {
                case UInt8(ascii: "t"): field.append(9)
                case UInt8(ascii: "n"): field.append(10)
                case UInt8(ascii: "r"): field.append(13)
                case UInt8(ascii: "0"): field.append(0)
                case UInt8(ascii: "b"): field.append(8)
                case UInt8(ascii: "f"): field.append(12)
                case UInt8(ascii: "a"): field.append(7)
                case UInt8(ascii: "v"): field.append(11)
                default: field.append(body[i])  // \\ \' and any other escaped byte stand for themselves
                }
            default:
                field.append(c)
            }
            i += 1
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// Parses a field holding a decimal `UInt64` (session and visitor ids use the whole range).
    public static func uint64(_ f: [UInt8]) throws(ClickHouseError) -> UInt64 {
        guard !f.isEmpty else { throw ClickHouseError("expected an unsigned integer, got an empty field") }
        var v: UInt64 = 0
        for c in f {
            let d = c &- UInt8(ascii: "0")
            guard d < 10 else { throw ClickHouseError("expected an unsigned integer, got \"\(String(decoding: f, as: UTF8.self))\"") }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { throw ClickHouseError("integer out of range: \(String(decoding: f, as: UTF8.self))") }
            v = s
        }
        return v
    }

    /// Parses a field holding a decimal integer (as ClickHouse prints `Int*`/`UInt*` up to Int64).
    public static func int64(_ f: [UInt8]) throws(ClickHouseError) -> Int64 {
        var i = 0, negative = false
        if f.first == UInt8(ascii: "-") { negative = true; i = 1 }
        guard i < f.count else { throw ClickHouseError("expected an integer, got \"\(String(decoding: f, as: UTF8.self))\"") }
        var v: Int64 = 0
        while i < f.count {
            let d = f[i] &- UInt8(ascii: "0")
            guard d < 10 else { throw ClickHouseError("expected an integer, got \"\(String(decoding: f, as: UTF8.self))\"") }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { throw ClickHouseError("integer out of range: \(String(decoding: f, as: UTF8.self))") }
            v = s
            i += 1
        }
        return v
    }

    /// Appends `s` escaped as one TabSeparated field.
    @inline(__always)
    public static func appendField(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendField(bytes: $0, to: &out) }
    }

    public static func appendField(bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for c in bytes {
            switch c {
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
            case 9: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 10: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 13: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "0"))
            default: out.append(c)
            }
        }
    }

    /// Appends a decimal integer field.
    @inline(__always)
    public static func appendInt<T: BinaryInteger>(_ v: T, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
    }
}

/// SQL text pieces: string literals and identifiers ztas writes into statements (18.16 has no
/// query parameters, so every value is inlined — always through these).
public enum SQL {
    /// A single-quoted string literal; `\`, `'` and control bytes escaped (`\xHH`), any other byte
    /// as is, so the literal denotes exactly the bytes of `s`.
    public static func literal(_ s: String) -> String { literal(bytes: Array(s.utf8)) }

    public static func literal(bytes: [UInt8]) -> String {
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(bytes.count + 2)
        let hex = Array("0123456789ABCDEF".utf8)
        for c in bytes {
            if c == UInt8(ascii: "\\") || c == UInt8(ascii: "'") {
                out.append(UInt8(ascii: "\\")); out.append(c)
            } else if c < 0x20 || c == 0x7F {
                out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "x")); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
            } else {
                out.append(c)
            }
        }
        out.append(UInt8(ascii: "'"))
        return String(decoding: out, as: UTF8.self)
    }
}
