import ArgumentParser
import ZTAEngine

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum and footer of a data directory; exit non-zero naming each bad file and offset.")

    @OptionGroup var data: DataOption

    func run() throws {
        let report = Database.verify(path: data.path)
        for p in report.problems {
            writeStderr("BAD \(p.file ?? data.path)" + (p.offset.map { " offset \($0)" } ?? "") + ": \(p.message)\n")
        }
        writeStdout("{\"ok\":\(report.isClean),\"segments\":\(report.segmentsChecked),\"walFiles\":\(report.walFilesChecked),\"rows\":\(report.rows),\"problems\":\(report.problems.count)}\n")
        if !report.isClean { throw ExitCode(1) }
    }
}
