import ZTAFuzzTargets
#if FUZZING
import CFuzzerDriver
import Glibc
#endif

/// Built by scripts/fuzz (`-sanitize=fuzzer,address -D FUZZING`): libFuzzer's driver, which
/// takes libFuzzer's flags. Built plainly: replays the files and directories given as arguments.
@main
struct FuzzNDJSON {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzTarget.ndjson.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
        #else
        FuzzReplay.main(.ndjson)
        #endif
    }
}
