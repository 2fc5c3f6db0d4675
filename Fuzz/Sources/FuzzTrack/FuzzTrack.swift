import ZTAFuzzTargets

/// The `track` fuzz target (Sources/ZTAFuzzTargets): libFuzzer under scripts/fuzz, a replayer otherwise.
@main
struct FuzzTrack {
    static func main() { FuzzMain.run(.track) }
}
