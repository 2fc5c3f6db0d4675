import ZTAFuzzTargets

/// The `ndjson` fuzz target (Sources/ZTAFuzzTargets): libFuzzer under scripts/fuzz, a replayer otherwise.
@main
struct FuzzNDJSON {
    static func main() { FuzzMain.run(.ndjson) }
}
