import ZTAFuzzTargets

/// The `filters` fuzz target (Sources/ZTAFuzzTargets): libFuzzer under scripts/fuzz, a replayer otherwise.
@main
struct FuzzFilters {
    static func main() { FuzzMain.run(.filters) }
}
