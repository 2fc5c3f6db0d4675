import Foundation

/// Where the tests find the repository and the shared contract, from this file's path (so a
/// clean clone next to `../shared` works wherever it is checked out).
public enum TestPaths {
    /// The repository root (Tests/ZTATestSupport/<this file> → root).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `../shared/conformance`: the conformance kit (events, queries, answers).
    public static let conformanceKit = root.deletingLastPathComponent().appendingPathComponent("shared/conformance")

    /// A new, empty directory under the system's temporary directory, named for `label`.
    public static func temporaryDirectory(_ label: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-\(label)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Runs a program to its end: its exit status and what it wrote (stdout and stderr together).
public func runProcess(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}
