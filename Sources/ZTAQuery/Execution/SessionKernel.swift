import ZTAFormat

/// The per-row kernel of the session pass, kept in small standalone functions with explicit
/// pointer parameters so the hot loops run in registers (closures nested around a long loop
/// spill everything to the stack).
enum SessionKernel {
    /// Indices of the rows with `from <= ts < to`, branch-free; returns their count. A standalone
    /// function so the running count stays in a register (inside the executor's nested closures
    /// it was spilled to the stack on every row).
    @inline(never)
    static func selectWindow(_ n: Int, ts: UnsafePointer<Int64>, from: Int64, to: Int64,
                             out: UnsafeMutablePointer<Int32>) -> Int {
        if to <= from { return 0 }
        var k = 0
        // One unsigned compare for the range; Bool → Int without a branch.
        let span = UInt64(bitPattern: to &- from)
        for i in 0..<n {
            out[k] = Int32(truncatingIfNeeded: i)
            let inside = UInt64(bitPattern: ts[i] &- from) < span
            k &+= Int(unsafeBitCast(inside, to: UInt8.self))
        }
        return k
    }

    /// Indices of the rows whose owner byte is `me`, branch-free; returns their count.
    @inline(never)
    static func selectOwned(_ n: Int, owners: UnsafePointer<UInt8>, me: UInt8, out: UnsafeMutablePointer<Int32>) -> Int {
        var k = 0
        // Owners alternate at random between workers: a branch here mispredicts half the time.
        // (d - 1) >> 63 is all ones exactly when d == 0.
        for i in 0..<n {
            out[k] = Int32(truncatingIfNeeded: i)
            let d = Int(owners[i] ^ me)
            k &+= ((d &- 1) >> 63) & 1
        }
        return k
    }

}
