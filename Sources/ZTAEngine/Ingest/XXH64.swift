/// xxHash64 (Yann Collet's XXH64, specification v0.1.1): a stable 64-bit hash.
///
/// Imported `visitor` and `session` strings are stored as `XXH64.hash(string, seed: 0)`, so the
/// output is part of the on-disk contract: it must never change.
public enum XXH64 {
    static let p1: UInt64 = 11_400_714_785_074_694_791
    static let p2: UInt64 = 14_029_467_366_897_019_727
    static let p3: UInt64 = 1_609_587_929_392_839_161
    static let p4: UInt64 = 9_650_029_242_287_828_579
    static let p5: UInt64 = 2_870_177_450_012_600_261

    /// The XXH64 of `bytes` (little-endian word reads, as the reference implementation).
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { return avalanche(seed &+ p5) }
        var i = 0
        var h: UInt64
        if n >= 32 {
            var v1 = seed &+ p1 &+ p2
            var v2 = seed &+ p2
            var v3 = seed
            var v4 = seed &- p1
            repeat {
                v1 = round(v1, read64(p, i))
                v2 = round(v2, read64(p, i &+ 8))
                v3 = round(v3, read64(p, i &+ 16))
                v4 = round(v4, read64(p, i &+ 24))
                i &+= 32
            } while i &+ 32 <= n
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ p5
        }
        h &+= UInt64(n)
        while i &+ 8 <= n {
            h ^= round(0, read64(p, i))
            h = rotl(h, 27) &* p1 &+ p4
            i &+= 8
        }
        if i &+ 4 <= n {
            h ^= UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* p1
            h = rotl(h, 23) &* p2 &+ p3
            i &+= 4
        }
        while i < n {
            h ^= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) &* p5
            h = rotl(h, 11) &* p1
            i &+= 1
        }
        return avalanche(h)
    }

    /// The XXH64 of the string's UTF-8 bytes.
    public static func hash(_ s: String, seed: UInt64 = 0) -> UInt64 {
        var s = s
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The XXH64 of a byte array.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    @inline(__always) static func read64(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
        (x << r) | (x >> (64 &- r))
    }

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) static func mergeRound(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* p1 &+ p4
    }

    @inline(__always) static func avalanche(_ h0: UInt64) -> UInt64 {
        var h = h0
        h ^= h >> 33
        h &*= p2
        h ^= h >> 29
        h &*= p3
        h ^= h >> 32
        return h
    }
}
