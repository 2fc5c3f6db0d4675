import ZTAWorkloads

/// FNV-1a 64 of a string's UTF-8 bytes: the fixed visitor/session hash of the test loaders
/// (the conformance kit's ids are strings; the engine stores 64-bit hashes).
public func fnv1a64(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

extension SplitMix64 {
    /// A number in `0..<n` (0 when `n` ≤ 0); the slight modulo bias does not matter to tests.
    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}
