import ZTAFuzzTargets

/// The `segment` fuzz target (Sources/ZTAFuzzTargets): libFuzzer under scripts/fuzz, a replayer otherwise.
@main
struct FuzzSegment {
    static func main() { FuzzMain.run(.segment) }
}
