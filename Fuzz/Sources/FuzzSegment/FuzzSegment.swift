import ZTAFuzzTargets
#if FUZZING
import CFuzzerDriver
import Glibc

/// libFuzzer's callback. The sanitizer runtime links libFuzzer's own `main` too, which calls it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.segment.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#endif

/// Built by scripts/fuzz (`-sanitize=fuzzer,address -D FUZZING`): libFuzzer's driver, which
/// takes libFuzzer's flags. Built plainly: replays the files and directories given as arguments.
@main
struct FuzzSegment {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
        #else
        FuzzReplay.main(.segment)
        #endif
    }
}
