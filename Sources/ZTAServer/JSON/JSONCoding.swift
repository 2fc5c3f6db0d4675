/// Parsing and writing `JSONValue` (RFC 8259), byte-level.
public enum JSONCoding {
    /// Nesting deeper than this is refused (a body is a flat object in every endpoint).
    static let maxDepth = 64

    /// Parses one JSON text; nil when it is not valid JSON.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBufferPointer { buf -> JSONValue? in
            var p = Parser(buf: buf)
            p.skipSpace()
            guard let v = p.value(depth: 0) else { return nil }
            p.skipSpace()
            guard p.i == buf.count else { return nil }  // trailing bytes after the value
            return v
        }
    }

    /// Writes compact JSON.
    public static func write(_ v: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(v, into: &out)
        return out
    }

    static func write(_ v: JSONValue, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if !d.isFinite { out.append(contentsOf: "null".utf8) }
            else if d == d.rounded(), d.magnitude < 1e15 { out.append(contentsOf: String(Int64(d)).utf8) }
            else { out.append(contentsOf: "\(d)".utf8) }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(0x5B)
            for (k, e) in a.enumerated() {
                if k > 0 { out.append(0x2C) }
                write(e, into: &out)
            }
            out.append(0x5D)
        case .object(let m):
            out.append(0x7B)
            for (k, (key, e)) in m.enumerated() {
                if k > 0 { out.append(0x2C) }
                writeString(key, into: &out)
                out.append(0x3A)
                write(e, into: &out)
            }
            out.append(0x7D)
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
        }
        out.append(0x22)
    }

    private struct Parser {
        let buf: UnsafeBufferPointer<UInt8>
        var i = 0

        init(buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

        mutating func skipSpace() {
            while i < buf.count, buf[i] == 0x20 || buf[i] == 0x0A || buf[i] == 0x0D || buf[i] == 0x09 { i += 1 }
        }

        mutating func literal(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= buf.count else { return false }
            for k in 0..<n where buf[i + k] != s.utf8Start[k] { return false }
            i += n
            return true
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard i < buf.count, depth < JSONCoding.maxDepth else { return nil }
            switch buf[i] {
            case 0x7B: return object(depth: depth)
            case 0x5B: return array(depth: depth)
            case 0x22: return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return number()
            }
        }

        mutating func object(depth: Int) -> JSONValue? {
            i += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if i < buf.count, buf[i] == 0x7D { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < buf.count, buf[i] == 0x22, let key = string() else { return nil }
                skipSpace()
                guard i < buf.count, buf[i] == 0x3A else { return nil }
                i += 1
                skipSpace()
                guard let v = value(depth: depth + 1) else { return nil }
                members.append((key, v))
                skipSpace()
                guard i < buf.count else { return nil }
                if buf[i] == 0x2C { i += 1; continue }
                if buf[i] == 0x7D { i += 1; return .object(members) }
                return nil
            }
        }

        mutating func array(depth: Int) -> JSONValue? {
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < buf.count, buf[i] == 0x5D { i += 1; return .array(items) }
            while true {
                skipSpace()
                guard let v = value(depth: depth + 1) else { return nil }
                items.append(v)
                skipSpace()
                guard i < buf.count else { return nil }
                if buf[i] == 0x2C { i += 1; continue }
                if buf[i] == 0x5D { i += 1; return .array(items) }
                return nil
            }
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= buf.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = buf[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: return nil
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() -> String? {
            i += 1
            let start = i
            // Fast path: no escapes.
            while i < buf.count, buf[i] != 0x22, buf[i] != 0x5C, buf[i] >= 0x20 { i += 1 }
            guard i < buf.count else { return nil }
            if buf[i] == 0x22 {
                let s = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            var out = Array(buf[start..<i])
            while i < buf.count {
                let c = buf[i]
                if c == 0x22 { i += 1; return String(decoding: out, as: UTF8.self) }
                if c < 0x20 { return nil }
                if c != 0x5C { out.append(c); i += 1; continue }
                i += 1
                guard i < buf.count else { return nil }
                let e = buf[i]
                i += 1
                switch e {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    guard var cp = hex4() else { return nil }
                    if cp >= 0xD800 && cp < 0xDC00 {
                        // A surrogate pair; a lone high surrogate becomes U+FFFD.
                        if i + 6 <= buf.count, buf[i] == 0x5C, buf[i + 1] == UInt8(ascii: "u") {
                            i += 2
                            guard let lo = hex4() else { return nil }
                            if lo >= 0xDC00 && lo < 0xE000 { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00) } else { cp = 0xFFFD }
                        } else { cp = 0xFFFD }
                    } else if cp >= 0xDC00 && cp < 0xE000 { cp = 0xFFFD }
                    let scalar = Unicode.Scalar(cp) ?? "\u{FFFD}"
                    out.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            }
            return nil
        }

        mutating func number() -> JSONValue? {
            let start = i
            if i < buf.count, buf[i] == 0x2D { i += 1 }
            guard i < buf.count, buf[i] >= 0x30, buf[i] <= 0x39 else { return nil }
            if buf[i] == 0x30 { i += 1 } else { while i < buf.count, buf[i] >= 0x30, buf[i] <= 0x39 { i += 1 } }
            var integral = true
            if i < buf.count, buf[i] == 0x2E {
                integral = false
                i += 1
                let f = i
                while i < buf.count, buf[i] >= 0x30, buf[i] <= 0x39 { i += 1 }
                if i == f { return nil }
            }
            if i < buf.count, buf[i] == 0x65 || buf[i] == 0x45 {
                integral = false
                i += 1
                if i < buf.count, buf[i] == 0x2B || buf[i] == 0x2D { i += 1 }
                let e = i
                while i < buf.count, buf[i] >= 0x30, buf[i] <= 0x39 { i += 1 }
                if i == e { return nil }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
            if integral, let v = Int64(text) { return .int(v) }
            guard let d = Double(text) else { return nil }
            return .double(d)
        }
    }
}
