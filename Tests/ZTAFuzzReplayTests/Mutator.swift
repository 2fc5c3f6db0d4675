import ZTATestSupport
import ZTAWorkloads

/// libFuzzer-like mutations: bit flips, interesting bytes, insertions, deletions, splices.
enum Mutator {
    static let interesting: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x0A, 0x2A, 0x3B, 0x7C, 0x2E, 0x3D]

    static func mutate(_ seed: [UInt8], other: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var b = seed
        for _ in 0..<(1 + rng.below(4)) {
            switch rng.below(6) {
            case 0 where !b.isEmpty:
                b[rng.below(b.count)] ^= UInt8(1 << rng.below(8))
            case 1 where !b.isEmpty:
                b[rng.below(b.count)] = interesting[rng.below(interesting.count)]
            case 2:
                b.insert(interesting[rng.below(interesting.count)], at: rng.below(b.count + 1))
            case 3 where !b.isEmpty:
                let at = rng.below(b.count)
                b.removeSubrange(at..<min(b.count, at + 1 + rng.below(16)))
            case 4 where !other.isEmpty:
                let from = rng.below(other.count)
                let piece = other[from..<min(other.count, from + 1 + rng.below(64))]
                b.insert(contentsOf: piece, at: rng.below(b.count + 1))
            case 5 where b.count >= 8:
                // A little-endian integer field set to an extreme value.
                let at = rng.below(b.count - 7)
                let v: UInt64 = [0, 1, UInt64(UInt32.max), UInt64.max, 1 << 63, 0x7FFF_FFFF][rng.below(6)]
                for k in 0..<8 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            default:
                break
            }
        }
        return b
    }
}
