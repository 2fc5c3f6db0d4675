import Foundation

/// Replays inputs through a target without libFuzzer: what the fuzz executables do when built
/// without `-D FUZZING` (`FuzzNDJSON Fuzz/corpus/ndjson Fuzz/regressions/ndjson`).
public enum FuzzReplay {
    /// The regular files directly inside `path`, sorted by name, or `path` itself when it is a file.
    public static func inputs(at path: String) -> [URL] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return [] }
        if !isDir.boolValue { return [URL(fileURLWithPath: path)] }
        let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { URL(fileURLWithPath: path).appendingPathComponent($0) }
    }

    /// Runs every input under `paths` through `target`; prints and returns how many ran.
    @discardableResult
    public static func run(_ target: FuzzTarget, paths: [String]) -> Int {
        var count = 0
        for path in paths {
            for url in inputs(at: path) {
                guard let data = try? Data(contentsOf: url) else { continue }
                target.run(Array(data))
                count += 1
            }
        }
        print("\(target.productName): \(count) inputs replayed without a failure")
        return count
    }

    /// The entry point of a fuzz executable built without libFuzzer: arguments are files or
    /// directories of inputs.
    public static func main(_ target: FuzzTarget) {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.isEmpty {
            print("usage: \(target.productName) FILE|DIR… (replays inputs; build with scripts/fuzz to fuzz)")
            return
        }
        run(target, paths: args)
    }
}
