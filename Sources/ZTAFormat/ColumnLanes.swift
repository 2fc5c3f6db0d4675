/// Conversion of chunk columns to UInt64 lanes (the encoders' input) and block statistics.
enum ColumnLanes {
    /// Lanes of rows `range` of column `c`. String codes are mapped through `remap`
    /// (chunk dictionary code → segment dictionary code); without a remap the codes are segment
    /// codes already.
    static func lanes(_ chunk: ColumnChunk, _ c: Column, _ range: Range<Int>, remap: [UInt32]?) -> [UInt64] {
        let flip = c.kind.laneFlip
        switch c {
        case .ts: return range.map { UInt64(bitPattern: chunk.ts[$0]) ^ flip }
        case .type: return range.map { UInt64(chunk.type[$0]) }
        case .visitor: return Array(chunk.visitor[range])
        case .session: return Array(chunk.session[range])
        case .value: return range.map { chunk.value[$0].bitPattern }
        case .timeOnPage: return range.map { UInt64(bitPattern: Int64(chunk.timeOnPage[$0])) ^ flip }
        case .x: return range.map { UInt64(bitPattern: Int64(chunk.x[$0])) ^ flip }
        case .y: return range.map { UInt64(bitPattern: Int64(chunk.y[$0])) ^ flip }
        case .scrollDepth: return range.map { UInt64(bitPattern: Int64(chunk.scrollDepth[$0])) ^ flip }
        case .importId: return range.map { UInt64(chunk.importId[$0]) }
        default:
            // Callers check that a string column is present (a missing one encodes as no rows).
            guard let codes = chunk.string(c)?.codes else { return [] }
            guard let map = remap else { return range.map { UInt64(codes[$0]) } }
            return range.map { UInt64(map[Int(codes[$0])]) }
        }
    }

    /// Min/max as `BlockStats` stores them (see Schema.swift): integers as Int64 (UInt64
    /// bit-cast), string codes, doubles' bit patterns. For doubles NaN is ignored unless every
    /// value is NaN (then min = max = the first NaN's bits).
    static func stats(_ lanes: UnsafeBufferPointer<UInt64>, kind: ColumnKind) -> (min: Int64, max: Int64) {
        guard !lanes.isEmpty else { return (0, 0) }
        if kind == .double {
            var lo = Double.nan, hi = Double.nan
            for bits in lanes {
                let v = Double(bitPattern: bits)
                if v.isNaN { continue }
                if lo.isNaN || v < lo { lo = v }
                if hi.isNaN || v > hi { hi = v }
            }
            if lo.isNaN { return (Int64(bitPattern: lanes[0]), Int64(bitPattern: lanes[0])) }
            return (Int64(bitPattern: lo.bitPattern), Int64(bitPattern: hi.bitPattern))
        }
        var lo = UInt64.max, hi = UInt64.min
        for v in lanes {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
        }
        let flip = kind.laneFlip
        return (Int64(bitPattern: lo ^ flip), Int64(bitPattern: hi ^ flip))
    }
}
