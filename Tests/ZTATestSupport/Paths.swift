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
