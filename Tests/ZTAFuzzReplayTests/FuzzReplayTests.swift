import ZTAWorkloads
import Foundation
import XCTest
import ZTAFuzzTargets
import ZTATestSupport

/// CI replays every committed seed and every crash input found so far (`Fuzz/corpus/<target>`,
/// `Fuzz/regressions/<target>`) through the same entry functions the fuzzers call, without
/// sanitizers, plus a few hundred deterministic mutations of each seed. A broken invariant or a
/// trap in the code under test stops the test process with the failing target's message; the
/// mutated input being run is then in `$TMPDIR/ztas-fuzz-replay-last-<target>`.
final class FuzzReplayTests: XCTestCase {
    static let fuzzDirectory = TestPaths.root.appendingPathComponent("Fuzz")

    /// Where the mutation replay leaves the input it is running (a reproducer after a trap).
    static func lastInput(_ target: FuzzTarget) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ztas-fuzz-replay-last-\(target.rawValue)")
    }

    func inputs(_ kind: String, _ target: FuzzTarget) -> [[UInt8]] {
        let dir = Self.fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        return FuzzReplay.inputs(at: dir.path).compactMap { try? Data(contentsOf: $0) }.map { Array($0) }
    }

    func testEveryTargetHasSeeds() {
        for target in FuzzTarget.allCases {
            XCTAssertFalse(inputs("corpus", target).isEmpty, "no seeds in Fuzz/corpus/\(target.rawValue)")
        }
    }

    func testCorpusAndRegressionsReplay() {
        for target in FuzzTarget.allCases {
            for input in inputs("corpus", target) + inputs("regressions", target) { target.run(input) }
        }
    }

    func testMutatedSeedsReplay() {
        var rng = SplitMix64(seed: 0x5EED)
        for target in FuzzTarget.allCases {
            let seeds = inputs("corpus", target)
            for seed in seeds {
                for _ in 0..<(target == .segment ? 120 : 100) {
                    let input = Mutator.mutate(seed, other: seeds[Int(rng.next() % UInt64(seeds.count))], rng: &rng)
                    // A trap stops the process: the input is left where the message says.
                    try? Data(input).write(to: Self.lastInput(target))
                    target.run(input)
                }
            }
        }
    }
}
