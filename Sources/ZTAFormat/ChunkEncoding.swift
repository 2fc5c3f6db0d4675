/// The encodings of one column chunk (one column of one block), before optional LZ4.
///
/// Every column is encoded as a stream of UInt64 "lanes": integers widened (signed ones with the
/// sign bit flipped so unsigned order is value order), doubles as their bit pattern, strings as
/// segment-dictionary codes. Decoders write straight into the column's own width.
enum ChunkEncoding: UInt8, Sendable, CaseIterable {
    /// One lane value repeated: `u64 value`.
    case constant = 0
    /// The values at the column's natural width (1, 4 or 8 bytes), little-endian.
    case plain = 1
    /// Frame of reference: `u64 base`, packed(n) of `lane - base`.
    case frameOfReference = 2
    /// Delta: `u64 first`, `u64 minDelta`, packed(n-1) of `lane[i] - lane[i-1] - minDelta`
    /// (wrapping). Sorted timestamps and ascending codes become small numbers.
    case delta = 3
    /// Run-length: `u32 runs`, `u64 base`, packed(runs) of `value - base`,
    /// packed(runs) of `runLength - 1`.
    case runLength = 4
    /// Block dictionary: `u32 d`, `u64 base`, packed(d) of `value - base` in first-appearance
    /// order, then `u8 codeEncoding` and the codes (0..<d) in that nested encoding (never
    /// `dictionary` again). Fits the 64-bit visitor/session hashes, which repeat within a session.
    case dictionary = 5
    /// Sparse (format v2): `u64 fill`, `u32 m`, a bitmap of ceil(n/8) bytes (bit i set = row i
    /// is listed), `u8 valueEncoding` and the m listed lanes in that nested encoding (constant,
    /// frame of reference, delta or run-length); every other row holds `fill`. Fits the columns
    /// only some event types fill (x/y of clicks and moves, scroll depth, element, time on page),
    /// where run-length pays a value and a length for every short gap.
    case sparse = 6

    var name: String {
        switch self {
        case .constant: "const"
        case .plain: "plain"
        case .frameOfReference: "for"
        case .delta: "delta"
        case .runLength: "rle"
        case .dictionary: "dict"
        case .sparse: "sparse"
        }
    }
}

/// Physical lane width of a column kind, in bytes (what `plain` stores).
extension ColumnKind {
    var byteWidth: Int {
        switch self {
        case .int64, .uint64, .double: 8
        case .int32, .uint32, .string: 4
        case .int8, .uint8: 1
        }
    }

    var isSigned: Bool { self == .int64 || self == .int32 || self == .int8 }

    /// XOR applied between value bits (sign-extended to 64) and lanes: flips the sign bit of
    /// signed columns so that unsigned lane order equals value order.
    var laneFlip: UInt64 { isSigned ? 1 << 63 : 0 }
}
