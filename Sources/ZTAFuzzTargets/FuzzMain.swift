#if FUZZING
import CFuzzerDriver
import Glibc
#endif

/// The whole `main` of every fuzz executable (`Fuzz/Sources/Fuzz*/`), so each of them is one line.
/// Built by scripts/fuzz (`-sanitize=fuzzer,address -D FUZZING`): libFuzzer's driver, which takes
/// libFuzzer's flags. Built plainly: replays the files and directories given as arguments.
public enum FuzzMain {
    #if FUZZING
    /// The target of this process: libFuzzer calls back through a C function pointer, which
    /// cannot capture it. Set once, before the driver starts.
    nonisolated(unsafe) static var target: FuzzTarget = .auth
    #endif

    public static func run(_ target: FuzzTarget) {
        #if FUZZING
        Self.target = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
        #else
        FuzzReplay.main(target)
        #endif
    }
}

#if FUZZING
/// libFuzzer's callback. The sanitizer runtime links libFuzzer's own `main` too, which calls it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzMain.target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#endif
