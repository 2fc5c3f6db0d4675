import XCTest
import ZTAWorkloads
@testable import ZTAQuery

/// The goal folds' distinct-count structures against Swift's `Set` on random keys: every
/// insert's "was it new" answer and the final counts must agree, across table growth and with
/// keys that collide in the low or high 32 bits.
final class DistinctCountTests: XCTestCase {
    func testDistinctPairsAgreesWithSet() {
        var rng = SplitMix64(seed: 0xD157_1C7)
        for round in 0..<20 {
            var pairs = DistinctPairs(expected: round % 3 == 0 ? 0 : 64)
            var reference = Set<UInt64>()
            // Few groups × few visitors: many repeats; the edges of both halves included.
            let groups: [UInt32] = [0, 1, 2, 7, UInt32.max - 1] + (0..<5).map { _ in UInt32.random(in: 0...1000, using: &rng) }
            let visitors = [0, 1, 63, 64, Int(UInt32.max - 1)] + (0..<200).map { _ in Int.random(in: 0..<100_000, using: &rng) }
            for _ in 0..<5000 {
                let k = DistinctPairs.key(groups.randomElement(using: &rng)!, visitors.randomElement(using: &rng)!)
                XCTAssertEqual(pairs.insert(k), reference.insert(k).inserted)
            }
            XCTAssertEqual(pairs.count, reference.count)
        }
    }

    func testPairKeysAreDistinctPerGroupAndVisitor() {
        XCTAssertNotEqual(DistinctPairs.key(1, 0), DistinctPairs.key(0, 1))
        XCTAssertNotEqual(DistinctPairs.key(0, 1 << 32 - 2), DistinctPairs.key(1, 0))
        XCTAssertEqual(DistinctPairs.key(3, 5), 3 << 32 | 5)
    }

    func testDenseBitsetAgreesWithSet() {
        var rng = SplitMix64(seed: 0xD157_1C7)
        var bits = DenseBitset(capacity: 1000)
        var reference = Set<Int>()
        for _ in 0..<3000 {
            let i = Int.random(in: 0..<1000, using: &rng)
            XCTAssertEqual(bits.insert(i), reference.insert(i).inserted)
        }
        XCTAssertEqual(bits.count, reference.count)
        XCTAssertTrue(bits.insert(999) || reference.contains(999))
    }
}
