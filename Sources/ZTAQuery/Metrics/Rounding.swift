/// Exact rounding of rational metric values, half away from zero (events.md §3).
///
/// Metrics are ratios of integers (bounces / sessions, duration ms / sessions, …). Rounding them
/// through `Double` could land on the wrong side of a .5 tie, so they are rounded as integers.
enum Rounding {
    /// `num / den` rounded half away from zero; 0 when `den` is 0.
    @inline(__always)
    static func divide(_ num: Int64, _ den: Int64) -> Int64 {
        if den == 0 { return 0 }
        let negative = (num < 0) != (den < 0)
        let n = num.magnitude, d = den.magnitude
        // q = floor((2n + d) / 2d), done in 128-bit arithmetic so no product overflows.
        let twoN = n.multipliedFullWidth(by: 2)
        let (lo, carry) = twoN.low.addingReportingOverflow(d)
        let hi = twoN.high &+ (carry ? 1 : 0)
        let twoD = d.multipliedFullWidth(by: 2)
        let q: UInt64
        if twoD.high == 0 {
            q = twoD.low.dividingFullWidth((high: hi, low: lo)).quotient
        } else {
            // d ≥ 2^63: the quotient is tiny, compute it by comparison.
            q = UInt64(exactly: (Double(n) / Double(d)).rounded(.toNearestOrAwayFromZero)) ?? 0
        }
        return negative ? -Int64(q) : Int64(q)
    }

    /// `scale10 × num / den` rounded half away from zero, as a fixed-point integer with
    /// `decimals` digits (e.g. `percent(412, 1000, decimals: 1)` = 412 meaning 41.2).
    @inline(__always)
    static func fixed(_ num: Int64, _ den: Int64, times factor: Int64, decimals: Int) -> Int64 {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        // num × factor × scale fits Int64 for every count this engine produces (< 2^40 × 10^4).
        return divide(num &* factor &* scale, den)
    }

    /// A `Double` rounded half away from zero to `decimals` digits, as a fixed-point integer.
    static func fixed(_ value: Double, decimals: Int) -> Int64 {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = value * scale
        // Values that are an exact tie after scaling need no correction; tiny binary noise such
        // as 17.15 × 10 = 171.49999… is nudged by a relative epsilon so it rounds like the decimal.
        let nudged = scaled + (scaled >= 0 ? 1 : -1) * Swift.max(scaled.magnitude, 1) * 1e-12
        return Int64(nudged.rounded(.toNearestOrAwayFromZero))
    }
}

/// Exact comparison of two non-negative rationals `a/b` and `c/d`; a zero denominator means
/// the value 0 (a metric over no sessions). Returns -1, 0 or 1.
@inline(__always)
func compareRatio(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> Int {
    let (a1, b1) = b == 0 ? (UInt64(0), UInt64(1)) : (a, b)
    let (c1, d1) = d == 0 ? (UInt64(0), UInt64(1)) : (c, d)
    let l = a1.multipliedFullWidth(by: d1)
    let r = c1.multipliedFullWidth(by: b1)
    if l.high != r.high { return l.high < r.high ? -1 : 1 }
    if l.low != r.low { return l.low < r.low ? -1 : 1 }
    return 0
}
