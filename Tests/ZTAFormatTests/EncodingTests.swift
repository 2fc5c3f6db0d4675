import ZTAWorkloads
import Testing
@testable import ZTAFormat

/// Every chunk encoding round-trips every column width on seeded random data.
@Suite struct EncodingTests {
    /// Lane streams of the shapes the encoders specialise in, plus adversarial ones.
    static func shapes(_ n: Int, rng: inout SplitMix64) -> [(String, [UInt64])] {
        var sorted: [UInt64] = []
        var t: UInt64 = rng.next() >> 2
        for _ in 0..<n { t &+= rng.next() % 20 == 0 ? rng.next() % 10_000_000 : rng.next() % 300; sorted.append(t) }
        var runs: [UInt64] = []
        while runs.count < n { let v = rng.next() % 5 == 0 ? rng.next() : 7; runs += repeatElement(v, count: Int(rng.next() % 40) + 1) }
        let few = (0..<5).map { _ in rng.next() }
        let fill = rng.next() % 1000
        return [
            ("sparse", (0..<n).map { _ in rng.next() % 4 == 0 ? fill + 1 + rng.next() % 2000 : fill }),
            ("sparse-first-last", (0..<n).map { $0 == 0 || $0 == n - 1 ? 5 : 0 }),
            ("constant", [UInt64](repeating: rng.next(), count: n)),
            ("zeros+max", (0..<n).map { $0 % 97 == 3 ? .max : 0 }),
            ("small", (0..<n).map { _ in rng.next() % 100 }),
            ("random", (0..<n).map { _ in rng.next() }),
            ("sorted-gaps", sorted),
            ("descending", sorted.reversed()),
            ("runs", Array(runs.prefix(n))),
            ("few-distinct", (0..<n).map { _ in few[Int(rng.next() % 5)] }),
            ("extremes", (0..<n).map { _ in [0, 1, .max, .max - 1, 1 << 63, (1 << 63) - 1][Int(rng.next() % 6)] }),
        ]
    }

    /// Lanes a column of `kind` can actually hold (narrow kinds: sign-extended, flipped).
    static func fit(_ lanes: [UInt64], _ kind: ColumnKind) -> [UInt64] {
        switch kind {
        case .int8: lanes.map { UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: $0))) ^ kind.laneFlip }
        case .uint8: lanes.map { $0 & 0xFF }
        case .int32: lanes.map { UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: $0))) ^ kind.laneFlip }
        case .uint32, .string: lanes.map { $0 & 0xFFFF_FFFF }
        default: lanes
        }
    }

    func roundTrip<T: FixedWidthInteger & UnsignedInteger>(_ lanes: [UInt64], _ kind: ColumnKind, _ e: ChunkEncoding, as: T.Type) throws -> Bool {
        guard let payload = lanes.withUnsafeBufferPointer({ ChunkEncoder.payload(e, $0, kind: kind) }) else { return false }
        let n = lanes.count
        var out = [T](repeating: 0, count: n)
        try payload.withUnsafeBytes { p in
            try out.withUnsafeMutableBufferPointer {
                try ChunkDecoder.decode(p, encoding: e, count: n, flip: kind.laneFlip, into: $0.baseAddress!)
            }
        }
        let expected = lanes.map { T(truncatingIfNeeded: $0 ^ kind.laneFlip) }
        #expect(out == expected, "\(e) \(kind) n=\(n)")
        return true
    }

    @Test(arguments: [ColumnKind.int64, .uint64, .double, .int32, .uint32, .string, .int8, .uint8])
    func everyEncodingRoundTrips(kind: ColumnKind) throws {
        var rng = SplitMix64(seed: 0xC0FFEE &+ UInt64(kind.rawValue))
        var applied = Set<ChunkEncoding>()
        for n in [1, 2, 3, 7, 64, 65, 1000, 4099] {
            for (_, raw) in Self.shapes(n, rng: &rng) {
                let lanes = Self.fit(raw, kind)
                for e in ChunkEncoding.allCases {
                    let ok: Bool
                    switch kind.byteWidth {
                    case 1: ok = try roundTrip(lanes, kind, e, as: UInt8.self)
                    case 4: ok = try roundTrip(lanes, kind, e, as: UInt32.self)
                    default: ok = try roundTrip(lanes, kind, e, as: UInt64.self)
                    }
                    if ok { applied.insert(e) }
                }
            }
        }
        #expect(applied == Set(ChunkEncoding.allCases), "every encoding exercised for \(kind)")
    }

    @Test func chosenEncodingIsSmallestAndDecodes() throws {
        var rng = SplitMix64(seed: 42)
        for (name, lanes) in Self.shapes(5000, rng: &rng) {
            let chunk = lanes.withUnsafeBufferPointer { ChunkEncoder.encode($0, kind: .uint64) }
            if name == "constant" { #expect(chunk.encoding == .constant) }
            var out = [UInt64](repeating: 0, count: lanes.count)
            var payload = chunk.stored
            if chunk.compressed {
                payload = [UInt8](repeating: 0, count: chunk.rawLength)
                let n = try chunk.stored.withUnsafeBytes { s in try payload.withUnsafeMutableBytes { try LZ4Codec.decompress(s, into: $0) } }
                #expect(n == chunk.rawLength)
            }
            try payload.withUnsafeBytes { p in
                try out.withUnsafeMutableBufferPointer { try ChunkDecoder.decode(p, encoding: chunk.encoding, count: lanes.count, flip: 0, into: $0.baseAddress!) }
            }
            #expect(out == lanes, "\(name) via \(chunk.encoding)")
        }
    }

    @Test func bitPackingEveryWidth() throws {
        var rng = SplitMix64(seed: 7)
        for w in 0...64 {
            for n in [0, 1, 5, 8, 63, 200] {
                let mask: UInt64 = w == 64 ? .max : (1 << UInt64(w)) - 1
                var values = (0..<n).map { _ in rng.next() & mask }
                // A few outliers force exceptions at narrow widths.
                if n > 10 && w < 40 { values[3] = rng.next() | (1 << 63) }
                var writer = ByteWriter()
                values.withUnsafeBufferPointer { BitPacking.write($0, to: &writer) }
                var out = [UInt64](repeating: 0, count: n)
                try writer.bytes.withUnsafeBytes { raw in
                    var r = ByteReader(raw)
                    try out.withUnsafeMutableBufferPointer { try BitPacking.read(&r, count: n, base: 0, into: $0.baseAddress!) }
                    #expect(r.remaining == 0)
                }
                #expect(out == values, "width \(w) n \(n)")
            }
        }
    }

    @Test func lz4RoundTripAndGarbage() throws {
        let text = Array(String(repeating: "pageview /pricing ", count: 500).utf8)
        let z = text.withUnsafeBytes { LZ4Codec.compress($0) }
        #expect(z.count < text.count / 5)
        var back = [UInt8](repeating: 0, count: text.count)
        let n = try z.withUnsafeBytes { s in try back.withUnsafeMutableBytes { try LZ4Codec.decompress(s, into: $0) } }
        #expect(n == text.count && back == text)
        // Too small a destination, and random bytes, must throw rather than overrun.
        var small = [UInt8](repeating: 0, count: 10)
        #expect(throws: FormatError.self) { try z.withUnsafeBytes { s in try small.withUnsafeMutableBytes { try LZ4Codec.decompress(s, into: $0) } } }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let junk = (0..<Int(rng.next() % 64 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var dst = [UInt8](repeating: 0, count: 256)
            _ = try? junk.withUnsafeBytes { s in try dst.withUnsafeMutableBytes { try LZ4Codec.decompress(s, into: $0) } }
        }
    }
}
