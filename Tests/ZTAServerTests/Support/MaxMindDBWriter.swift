import Foundation

/// A minimal writer of the MaxMind DB format (https://maxmind.github.io/MaxMind-DB/), enough to
/// give the GeoIP tests a real `.mmdb` file without shipping a binary: an IPv6 search tree with
/// 24-bit records (IPv4 networks live under `::/96`), a data section of maps, arrays and strings,
/// and the metadata map after the `\xAB\xCD\xEFMaxMind.com` marker.
struct MaxMindDBWriter {
    /// A data-section value.
    indirect enum Value {
        case string(String)
        case uint16(UInt16)
        case uint32(UInt32)
        case uint64(UInt64)
        case map([(String, Value)])
        case array([Value])
    }

    private enum Record: Equatable {
        case empty
        case node(Int)
        case data(Int)
    }

    private var nodes: [[Record]] = [[.empty, .empty]]
    private var data: [UInt8] = []

    /// Maps `network` (`203.0.113.0/24`, `2001:db8::/32`) to `value`.
    mutating func insert(_ network: String, _ value: Value) {
        let parts = network.split(separator: "/").map(String.init)
        var bits: [UInt8]
        var length = Int(parts[1])!
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, parts[0], &v4) == 1 {
            bits = Array(repeating: 0, count: 12) + withUnsafeBytes(of: &v4) { Array($0) }
            length += 96
        } else {
            precondition(inet_pton(AF_INET6, parts[0], &v6) == 1, "bad network \(network)")
            bits = withUnsafeBytes(of: &v6) { Array($0) }
        }
        let offset = data.count
        Self.encode(value, into: &data)
        var node = 0
        for depth in 0..<length {
            let bit = Int(bits[depth / 8] >> (7 - UInt8(depth % 8)) & 1)
            if depth == length - 1 {
                nodes[node][bit] = .data(offset)
            } else if case .node(let next) = nodes[node][bit] {
                node = next
            } else {
                nodes.append([.empty, .empty])
                nodes[node][bit] = .node(nodes.count - 1)
                node = nodes.count - 1
            }
        }
    }

    /// The file's bytes.
    func bytes() -> [UInt8] {
        let count = nodes.count
        var out: [UInt8] = []
        for node in nodes {
            for record in node {
                let v: Int
                switch record {
                case .empty: v = count
                case .node(let n): v = n
                case .data(let offset): v = count + 16 + offset
                }
                out += [UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            }
        }
        out += Array(repeating: 0, count: 16)
        out += data
        out += [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)
        Self.encode(.map([
            ("binary_format_major_version", .uint16(2)),
            ("binary_format_minor_version", .uint16(0)),
            ("build_epoch", .uint64(1_700_000_000)),
            ("database_type", .string("ztas-Test-City")),
            ("description", .map([("en", .string("ztas test database"))])),
            ("ip_version", .uint16(6)),
            ("languages", .array([.string("en")])),
            ("node_count", .uint32(UInt32(count))),
            ("record_size", .uint16(24)),
        ]), into: &out)
        return out
    }

    func write(to path: String) throws {
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
    }

    /// Control byte(s) for `type` (1…15) and `size`, then the payload is the caller's.
    private static func control(_ type: Int, _ size: Int, into out: inout [UInt8]) {
        let sizeBits: Int
        var extra: [UInt8] = []
        switch size {
        case ..<29: sizeBits = size
        case ..<285: sizeBits = 29; extra = [UInt8(size - 29)]
        case ..<65_821: sizeBits = 30; extra = [UInt8((size - 285) >> 8), UInt8((size - 285) & 0xFF)]
        default:
            let s = size - 65_821
            sizeBits = 31; extra = [UInt8(s >> 16), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF)]
        }
        if type <= 7 {
            out.append(UInt8(type << 5 | sizeBits))
        } else {
            out.append(UInt8(sizeBits))
            out.append(UInt8(type - 7))
        }
        out += extra
    }

    private static func unsigned(_ type: Int, _ v: UInt64, into out: inout [UInt8]) {
        var bytes: [UInt8] = []
        var x = v
        while x > 0 { bytes.insert(UInt8(x & 0xFF), at: 0); x >>= 8 }
        control(type, bytes.count, into: &out)
        out += bytes
    }

    static func encode(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .string(let s):
            control(2, s.utf8.count, into: &out)
            out += Array(s.utf8)
        case .uint16(let v): unsigned(5, UInt64(v), into: &out)
        case .uint32(let v): unsigned(6, UInt64(v), into: &out)
        case .uint64(let v): unsigned(9, v, into: &out)
        case .map(let pairs):
            control(7, pairs.count, into: &out)
            for (k, v) in pairs {
                encode(.string(k), into: &out)
                encode(v, into: &out)
            }
        case .array(let items):
            control(11, items.count, into: &out)
            for v in items { encode(v, into: &out) }
        }
    }
}

extension MaxMindDBWriter {
    /// The GeoIP tests' database: 203.0.113.0/24 → DE/BE (Berlin), 198.51.100.0/24 → US without
    /// a subdivision, 2001:db8::/32 → FR/IDF; everything else unknown.
    static func testDatabase(at path: String) throws {
        var w = MaxMindDBWriter()
        func city(_ country: String, _ subdivision: String?) -> Value {
            var m: [(String, Value)] = [("country", .map([("iso_code", .string(country)),
                                                          ("names", .map([("en", .string(country))]))]))]
            if let subdivision { m.append(("subdivisions", .array([.map([("iso_code", .string(subdivision))])]))) }
            return .map(m)
        }
        w.insert("203.0.113.0/24", city("DE", "BE"))
        w.insert("198.51.100.0/24", city("US", nil))
        w.insert("2001:db8::/32", city("FR", "IDF"))
        try w.write(to: path)
    }
}
