import ZTAFuzzTargets

/// The `auth` fuzz target (Sources/ZTAFuzzTargets): libFuzzer under scripts/fuzz, a replayer otherwise.
@main
struct FuzzAuth {
    static func main() { FuzzMain.run(.auth) }
}
