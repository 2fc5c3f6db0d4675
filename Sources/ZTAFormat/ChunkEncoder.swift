/// Chooses and writes the encoding of one column chunk.

/// A column chunk ready to be written: its encoding, whether LZ4 was applied, the bytes as
/// stored in the file and the length of the encoded payload before compression.
struct EncodedChunk {
    var encoding: ChunkEncoding
    var compressed: Bool
    var stored: [UInt8]
    var rawLength: Int
}

enum ChunkEncoder {
    /// Encodes `lanes` every applicable way, LZ4-compresses each candidate, and keeps the one
    /// with the fewest stored bytes (ties go to the earlier, cheaper-to-decode encoding).
    /// A candidate is stored raw when LZ4 does not shrink it.
    static func encode(_ lanes: UnsafeBufferPointer<UInt64>, kind: ColumnKind) -> EncodedChunk {
        let n = lanes.count
        if n == 0 { return EncodedChunk(encoding: .plain, compressed: false, stored: [], rawLength: 0) }
        var allEqual = true
        let first = lanes[0]
        for v in lanes where v != first { allEqual = false; break }
        if allEqual {
            let p = payload(.constant, lanes, kind: kind)!
            return EncodedChunk(encoding: .constant, compressed: false, stored: p, rawLength: p.count)
        }
        var best: EncodedChunk?
        for e in [ChunkEncoding.frameOfReference, .delta, .runLength, .dictionary, .plain] {
            guard let p = payload(e, lanes, kind: kind) else { continue }
            let candidate = store(e, p)
            if best == nil || candidate.stored.count < best!.stored.count { best = candidate }
        }
        return best!
    }

    /// LZ4 when it shrinks the payload, raw otherwise.
    static func store(_ e: ChunkEncoding, _ p: [UInt8]) -> EncodedChunk {
        let z = p.withUnsafeBytes { LZ4Codec.compress($0) }
        if !z.isEmpty && z.count < p.count {
            return EncodedChunk(encoding: e, compressed: true, stored: z, rawLength: p.count)
        }
        return EncodedChunk(encoding: e, compressed: false, stored: p, rawLength: p.count)
    }

    /// The payload of `lanes` in encoding `e`, or nil when `e` does not apply.
    static func payload(_ e: ChunkEncoding, _ lanes: UnsafeBufferPointer<UInt64>, kind: ColumnKind, nested: Bool = false) -> [UInt8]? {
        var w = ByteWriter(capacity: lanes.count * 2 + 32)
        return write(e, lanes, kind: kind, nested: nested, to: &w) ? w.bytes : nil
    }

    static func write(_ e: ChunkEncoding, _ lanes: UnsafeBufferPointer<UInt64>, kind: ColumnKind, nested: Bool, to w: inout ByteWriter) -> Bool {
        let n = lanes.count
        switch e {
        case .constant:
            guard n > 0, lanes.allSatisfy({ $0 == lanes[0] }) else { return false }
            w.u64(lanes[0])
        case .plain:
            let flip = kind.laneFlip
            switch kind.byteWidth {
            case 1: for v in lanes { w.u8(UInt8(truncatingIfNeeded: v ^ flip)) }
            case 4: for v in lanes { w.u32(UInt32(truncatingIfNeeded: v ^ flip)) }
            default: for v in lanes { w.u64(v ^ flip) }
            }
        case .frameOfReference:
            guard n > 0 else { return false }
            let base = lanes.min()!
            w.u64(base)
            let shifted = [UInt64](unsafeUninitializedCapacity: n) { buf, k in
                for i in 0..<n { buf[i] = lanes[i] &- base }
                k = n
            }
            shifted.withUnsafeBufferPointer { BitPacking.write($0, to: &w) }
        case .delta:
            guard n >= 2 else { return false }
            // Deltas are compared as signed values: a descending step must lower the minimum.
            var minSigned = Int64.max
            for i in 1..<n {
                let d = Int64(bitPattern: lanes[i] &- lanes[i - 1])
                if d < minSigned { minSigned = d }
            }
            let minDelta = UInt64(bitPattern: minSigned)
            w.u64(lanes[0])
            w.u64(minDelta)
            let deltas = [UInt64](unsafeUninitializedCapacity: n - 1) { buf, k in
                for i in 1..<n { buf[i - 1] = lanes[i] &- lanes[i - 1] &- minDelta }
                k = n - 1
            }
            deltas.withUnsafeBufferPointer { BitPacking.write($0, to: &w) }
        case .runLength:
            var values: [UInt64] = []
            var lengths: [UInt64] = []
            var i = 0
            while i < n {
                let v = lanes[i]
                var j = i + 1
                while j < n && lanes[j] == v { j += 1 }
                values.append(v)
                lengths.append(UInt64(j - i - 1))
                i = j
            }
            // Not worth trying when runs are short: the value stream alone is as long as FOR.
            guard values.count * 2 <= n else { return false }
            let base = values.min()!
            for k in values.indices { values[k] &-= base }
            w.u32(UInt32(values.count))
            w.u64(base)
            values.withUnsafeBufferPointer { BitPacking.write($0, to: &w) }
            lengths.withUnsafeBufferPointer { BitPacking.write($0, to: &w) }
        case .dictionary:
            guard !nested else { return false }
            var index: [UInt64: UInt32] = [:]
            index.reserveCapacity(min(n, 4096))
            var values: [UInt64] = []
            var codes = [UInt64](repeating: 0, count: n)
            for i in 0..<n {
                let v = lanes[i]
                if let c = index[v] { codes[i] = UInt64(c) } else {
                    let c = UInt32(values.count)
                    index[v] = c
                    values.append(v)
                    codes[i] = UInt64(c)
                    // A dictionary as large as half the rows cannot beat the other encodings.
                    if values.count * 2 > n { return false }
                }
            }
            let base = values.min()!
            for k in values.indices { values[k] &-= base }
            w.u32(UInt32(values.count))
            w.u64(base)
            values.withUnsafeBufferPointer { BitPacking.write($0, to: &w) }
            // Codes: the smallest nested payload (they are small integers; LZ4 is applied to the
            // whole chunk afterwards).
            var bestCodes: (ChunkEncoding, [UInt8])?
            codes.withUnsafeBufferPointer { c in
                for e in [ChunkEncoding.constant, .frameOfReference, .delta, .runLength] {
                    guard let p = payload(e, c, kind: .uint32, nested: true) else { continue }
                    if bestCodes == nil || p.count < bestCodes!.1.count { bestCodes = (e, p) }
                }
            }
            w.u8(bestCodes!.0.rawValue)
            w.append(bestCodes!.1)
        }
        return true
    }
}
