import ArgumentParser
import ZTAEngine
import ZTAStorage

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge the segments of each partition into one, re-sorted and re-encoded with fresh dictionaries.",
        discussion: "Refuses while another process (a running server) holds the data directory. Each partition is replaced with one manifest swap: a crash leaves it before or after, never both.")

    @OptionGroup var data: DataOption
    @Option(help: "Only this site.") var site: String?
    @Flag(help: "Only report what would be merged.") var dryRun = false

    func run() throws {
        let db = try Database(path: data.path)
        let plan = db.compactionPlan(site: site)
        let segmentsBefore = plan.reduce(0) { $0 + $1.1.count }
        let bytesBefore = plan.reduce(0) { $0 + $1.1.reduce(0) { $0 + $1.bytes } }
        if dryRun {
            for (key, segs) in plan {
                writeStderr("would merge \(segs.count) segments of \(key) (\(segs.reduce(0) { $0 + $1.rows }) rows, \(segs.reduce(0) { $0 + $1.bytes }) bytes)\n")
            }
            try db.close()
            writeStdout("{\"dryRun\":true,\"partitions\":\(plan.count),\"segmentsBefore\":\(segmentsBefore),\"bytesBefore\":\(bytesBefore)}\n")
            return
        }
        var bar = ProgressBar(label: "compact")
        let s = try db.compact(site: site) { done, total in bar.update(done: done, total: total, unit: "partitions") }
        bar.finish()
        try db.close()
        writeStdout("{\"dryRun\":false,\"partitions\":\(s.partitions),\"segmentsBefore\":\(s.segmentsBefore),\"segmentsAfter\":\(s.segmentsAfter),\"bytesBefore\":\(s.bytesBefore),\"bytesAfter\":\(s.bytesAfter),\"rows\":\(s.rows),\"seconds\":\(s.seconds),\"rowsPerSecond\":\(Int(Double(s.rows) / max(s.seconds, 1e-9)))}\n")
    }
}
