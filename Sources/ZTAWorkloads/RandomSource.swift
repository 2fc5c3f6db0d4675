#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea, Flood): seeds the main generator from one 64-bit seed, and is the
/// seeded `RandomNumberGenerator` of every property test.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman, Vigna): the deterministic generator behind every workload choice.
/// Platform- and version-independent, unlike `SystemRandomNumberGenerator` or `Hasher`.
public struct Xoshiro256: Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    @inline(__always)
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in `0 ..< n` (multiply-high; the bias is below 2⁻⁴⁰ for the sizes used here).
    @inline(__always)
    public mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// Uniform in `lo ... hi`.
    @inline(__always)
    public mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + below(hi - lo + 1) }

    @inline(__always)
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Exponential with the given mean.
    public mutating func exponential(mean: Double) -> Double { -log(1 - unit()) * mean }

    /// Standard normal (Box–Muller; one of the pair is dropped for simplicity).
    public mutating func normal() -> Double {
        let u1 = 1 - unit(), u2 = unit()
        return sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    }

    /// Log-normal with the given median and shape σ.
    public mutating func logNormal(median: Double, sigma: Double) -> Double { median * exp(sigma * normal()) }

    /// Poisson with a small mean (Knuth's product method).
    public mutating func poisson(mean: Double) -> Int {
        let limit = exp(-mean)
        var k = 0
        var p = unit()
        while p > limit && k < 1000 {
            k += 1
            p *= unit()
        }
        return k
    }
}

/// A discrete distribution over `0 ..< count` given by weights, sampled by binary search.
struct WeightedTable: Sendable {
    private let cumulative: [Double]
    var count: Int { cumulative.count }

    init(_ weights: [Double]) {
        precondition(!weights.isEmpty)
        var sum = 0.0
        cumulative = weights.map { sum += max($0, 0); return sum }
    }

    /// Zipf weights 1/(k+1)^s over `n` ranks.
    static func zipf(_ n: Int, exponent s: Double) -> WeightedTable {
        WeightedTable((0..<n).map { 1 / pow(Double($0 + 1), s) })
    }

    @inline(__always)
    func sample(_ rng: inout Xoshiro256) -> Int {
        let u = rng.unit() * cumulative[cumulative.count - 1]
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
