import ArgumentParser
import ZTAFormat
import ZTAStorage

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a segment's layout: columns, encodings, blocks, sizes and compression ratios.")

    @Argument(help: "A segment file (.zseg).")
    var file: String

    func run() throws {
        let mapped = try MappedFile(path: file)
        let reader = try SegmentReader(bytes: mapped.bytes, file: file)
        writeStdout(reader.describe() + "\n")
    }
}
