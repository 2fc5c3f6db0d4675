import ZTAWorkloads
import XCTest
@testable import ZTAQuery

/// The branch-free selection kernels and the session-state layout the hot loops rely on.
final class KernelTests: XCTestCase {
    func testSelectWindowMatchesNaive() {
        var rng = SplitMix64(seed: 7)
        for round in 0..<200 {
            let n = Int(rng.next() % 700)
            let base: Int64 = round % 3 == 0 ? Int64.min + 5 : 1_772_000_000_000
            let ts = (0..<n).map { _ in base &+ Int64(rng.next() % 1000) }
            var from = base &+ Int64(rng.next() % 1000), to = base &+ Int64(rng.next() % 1000)
            if round % 5 == 0 { (from, to) = (to, from) }  // empty or inverted windows too
            let want = (0..<n).filter { ts[$0] >= from && ts[$0] < to }.map(Int32.init)
            var out = [Int32](repeating: -1, count: max(1, n))
            let k = ts.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    SessionKernel.selectWindow(n, ts: t.baseAddress ?? UnsafePointer(bitPattern: 8)!, from: from, to: to, out: o.baseAddress!)
                }
            }
            XCTAssertEqual(Array(out.prefix(k)), want, "round \(round)")
        }
    }

    func testSelectOwnedMatchesNaive() {
        var rng = SplitMix64(seed: 11)
        for round in 0..<200 {
            let n = Int(rng.next() % 700)
            let owners = (0..<n).map { _ in UInt8([0, 1, 2, 255][Int(rng.next() % 4)]) }
            let me = UInt8([0, 1, 2, 255][round % 4])
            let want = (0..<n).filter { owners[$0] == me }.map(Int32.init)
            var out = [Int32](repeating: -1, count: max(1, n))
            let k = owners.withUnsafeBufferPointer { o in
                out.withUnsafeMutableBufferPointer { s in
                    SessionKernel.selectOwned(n, owners: o.baseAddress ?? UnsafePointer(bitPattern: 8)!, me: me, out: s.baseAddress!)
                }
            }
            XCTAssertEqual(Array(out.prefix(k)), want, "round \(round)")
        }
    }

    /// States are probed at random: one state must fit one cache line.
    func testSessionStateIsOneCacheLine() {
        XCTAssertEqual(MemoryLayout<SessionState>.stride, 64)
    }
}
