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
    /// Sizes every applicable encoding of `lanes` without writing it, writes the smallest — and
    /// the second smallest when its estimate is within `secondCandidateSlack` of it — LZ4-compresses
    /// them, and keeps the one with the fewest stored bytes (ties go to the earlier,
    /// cheaper-to-decode encoding). A candidate is stored raw when LZ4 does not shrink it.
    /// Writing and compressing every candidate found the same winner but cost 3× the time.
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
        var sized = SizeEstimate.all(lanes, kind: kind)
        sized.sort { $0.size < $1.size || ($0.size == $1.size && $0.order < $1.order) }
        var best: EncodedChunk?
        for (k, c) in sized.prefix(2).enumerated() {
            if k == 1, Double(c.size) > secondCandidateSlack * Double(sized[0].size) { break }
            guard let p = payload(c.encoding, lanes, kind: kind) else { continue }
            let candidate = store(c.encoding, p)
            if best == nil || candidate.stored.count < best!.stored.count { best = candidate }
        }
        if best == nil, let p = payload(.plain, lanes, kind: kind) { best = store(.plain, p) }
        return best!
    }

    /// How much larger than the smallest estimate the runner-up's may be and still be written and
    /// compressed: LZ4 can reverse a close call, rarely a wide one. Measured on 2 M tracked lines
    /// (`ztas import`, release): writing the runner-up only within 1.1–1.3× took 5–7 % less import
    /// CPU than always writing it, with the same stored bytes within the run-to-run spread
    /// (±0.1 %); never writing it cost 0.2 % more bytes.
    static let secondCandidateSlack = 1.25

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
            // A dictionary as large as half the rows cannot beat the other encodings.
            guard let (distinct, codes) = LaneTable.dictionary(lanes, limit: n / 2) else { return false }
            var values = distinct
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
        case .sparse:
            guard !nested, n >= 2 else { return false }
            var fill = UInt64.max
            var m = 0
            for v in lanes { fill = Swift.min(fill, v) }
            for v in lanes { m &+= v != fill ? 1 : 0 }
            guard m >= 1, m < n else { return false }
            var bitmap = [UInt8](repeating: 0, count: (n + 7) >> 3)
            let listed = [UInt64](unsafeUninitializedCapacity: m) { l, count in
                bitmap.withUnsafeMutableBufferPointer { bits in
                    var k = 0
                    for i in 0..<n where lanes[i] != fill {
                        bits[i &>> 3] |= 1 &<< UInt8(i & 7)
                        l[k] = lanes[i]
                        k &+= 1
                    }
                }
                count = m
            }
            w.u64(fill)
            w.u32(UInt32(listed.count))
            w.append(bitmap)
            // The listed values in the nested encoding estimated smallest (never dictionary/sparse).
            listed.withUnsafeBufferPointer { l in
                let best = SizeEstimate.all(l, kind: kind, nested: true).min { ($0.size, $0.order) < ($1.size, $1.order) }!
                w.u8(best.encoding.rawValue)
                _ = write(best.encoding, l, kind: kind, nested: true, to: &w)
            }
        }
        return true
    }
}

/// The estimated payload size of one encoding (before LZ4), from one pass over the lanes.
struct SizeEstimate {
    var encoding: ChunkEncoding
    var size: Int
    /// Preference on ties: cheaper to decode first.
    var order: Int

    static func all(_ lanes: UnsafeBufferPointer<UInt64>, kind: ColumnKind, nested: Bool = false) -> [SizeEstimate] {
        let n = lanes.count
        var out = [SizeEstimate(encoding: .plain, size: n * kind.byteWidth, order: 4)]
        guard n > 0 else { return out }
        // Pass 1: range, smallest signed step, runs.
        var lo = lanes[0], hi = lanes[0]
        var minSigned = Int64.max
        var runs = 1
        for i in 1..<n {
            let v = lanes[i], prev = lanes[i &- 1]
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
            minSigned = Swift.min(minSigned, Int64(bitPattern: v &- prev))
            runs &+= v != prev ? 1 : 0
        }
        if lo == hi {
            out.append(SizeEstimate(encoding: .constant, size: 8, order: -1))
            return out
        }
        // Pass 2: bit-width histograms of the frame-of-reference and delta values.
        let minDelta = UInt64(bitPattern: minSigned)
        // Two histograms of each kind, alternating by row: most rows land in the same bin, and
        // back-to-back increments of one counter wait for each other's store (~5 cycles each);
        // two independent chains halve that wait. Summed afterwards.
        var forHist = [Int](repeating: 0, count: 2 * 65)
        var deltaHist = [Int](repeating: 0, count: 2 * 65)
        forHist.withUnsafeMutableBufferPointer { fh in
            deltaHist.withUnsafeMutableBufferPointer { dh in
                fh[64 &- (lanes[0] &- lo).leadingZeroBitCount] &+= 1
                var i = 1
                while i &+ 1 < n {
                    let v0 = lanes[i], v1 = lanes[i &+ 1]
                    fh[64 &- (v0 &- lo).leadingZeroBitCount] &+= 1
                    fh[65 &+ 64 &- (v1 &- lo).leadingZeroBitCount] &+= 1
                    dh[64 &- (v0 &- lanes[i &- 1] &- minDelta).leadingZeroBitCount] &+= 1
                    dh[65 &+ 64 &- (v1 &- v0 &- minDelta).leadingZeroBitCount] &+= 1
                    i &+= 2
                }
                if i < n {
                    let v = lanes[i]
                    fh[64 &- (v &- lo).leadingZeroBitCount] &+= 1
                    dh[64 &- (v &- lanes[i &- 1] &- minDelta).leadingZeroBitCount] &+= 1
                }
                for b in 0..<65 {
                    fh[b] &+= fh[65 &+ b]
                    dh[b] &+= dh[65 &+ b]
                }
            }
        }
        forHist.removeSubrange(65...)
        deltaHist.removeSubrange(65...)
        out.append(SizeEstimate(encoding: .frameOfReference, size: 8 + BitPacking.chooseWidth(histogram: forHist, count: n).size, order: 0))
        // Sparse: rows equal to the minimum (forHist[0]) unlisted, the rest packed above it.
        let listed = n - forHist[0]
        if !nested, n >= 2, listed * 2 <= n {
            var listedHist = forHist
            listedHist[0] = 0
            out.append(SizeEstimate(encoding: .sparse,
                                    size: 13 + (n + 7) / 8 + 8 + BitPacking.chooseWidth(histogram: listedHist, count: listed).size,
                                    order: 5))
        }
        let valueWidth = BitPacking.bitWidth(hi &- lo)
        if n >= 2 {
            out.append(SizeEstimate(encoding: .delta, size: 16 + BitPacking.chooseWidth(histogram: deltaHist, count: n - 1).size, order: 1))
            // Run-length: run values at the frame-of-reference width, lengths at their widest.
            if runs * 2 <= n {
                let lengthWidth = BitPacking.bitWidth(UInt64(n / runs) * 4)
                out.append(SizeEstimate(encoding: .runLength,
                                        size: 12 + 10 + BitPacking.packedBytes(runs, valueWidth) + BitPacking.packedBytes(runs, lengthWidth),
                                        order: 2))
            }
        }
        // Block dictionary: for the 64-bit hash columns, whose values repeat within a session.
        if !nested, kind.byteWidth == 8, let d = LaneTable.distinctCount(lanes, limit: n / 2) {
            let codeWidth = BitPacking.bitWidth(UInt64(max(d - 1, 0)))
            out.append(SizeEstimate(encoding: .dictionary,
                                    size: 12 + 5 + BitPacking.packedBytes(d, valueWidth) + 1 + 8 + 5 + BitPacking.packedBytes(n, codeWidth),
                                    order: 3))
        }
        return out
    }
}

/// An open-addressing hash table of lane values (they are hashes or small integers; a
/// multiplicative mix spreads both) for block dictionaries. Swift's `Dictionary` cost 3× more.
enum LaneTable {
    /// Distinct values in `lanes`, or nil once there are more than `limit`.
    static func distinctCount(_ lanes: UnsafeBufferPointer<UInt64>, limit: Int) -> Int? {
        dictionary(lanes, limit: limit, wantCodes: false).map(\.0.count)
    }

    /// The distinct values in first-appearance order and a code per lane, or nil once there are
    /// more than `limit` distinct values.
    static func dictionary(_ lanes: UnsafeBufferPointer<UInt64>, limit: Int, wantCodes: Bool = true) -> ([UInt64], [UInt64])? {
        let n = lanes.count
        var cap = 16
        while cap < (limit + 1) * 2 { cap <<= 1 }
        let mask = cap - 1
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: cap)
        let slots = UnsafeMutablePointer<UInt32>.allocate(capacity: cap)
        slots.initialize(repeating: .max, count: cap)
        defer {
            keys.deallocate()
            slots.deallocate()
        }
        var values: [UInt64] = []
        var codes = wantCodes ? [UInt64](repeating: 0, count: n) : []
        for i in 0..<n {
            let v = lanes[i]
            var h = Int(truncatingIfNeeded: (v &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
            while true {
                let c = slots[h]
                if c == .max {
                    if values.count >= limit { return nil }
                    slots[h] = UInt32(values.count)
                    keys[h] = v
                    if wantCodes { codes[i] = UInt64(values.count) }
                    values.append(v)
                    break
                }
                if keys[h] == v {
                    if wantCodes { codes[i] = UInt64(c) }
                    break
                }
                h = (h &+ 1) & mask
            }
        }
        return (values, codes)
    }
}
