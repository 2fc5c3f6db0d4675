import ArgumentParser
import ZTAEngine
import ZTAStorage

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge the small segments of each partition into one, re-sorted and re-encoded.")

    @OptionGroup var data: DataOption
    @Option(help: "Only this site.") var site: String?
    @Flag(help: "Only report what would be merged.") var dryRun = false

    func run() throws {
        let db = try Database(path: data.path)
        let start = monotonicSeconds()
        let candidates = db.store.compactionCandidates(site: site)
        var segmentsBefore = 0, bytesBefore = 0, bytesAfter = 0
        var progress = ProgressBar(label: "compact")
        for (i, (key, count)) in candidates.enumerated() {
            segmentsBefore += count
            if dryRun {
                let bytes = db.store.segmentList.filter { $0.partition == key }.reduce(0) { $0 + $1.bytes }
                bytesBefore += bytes
                writeStderr("would merge \(count) segments of \(key) (\(bytes) bytes)\n")
                continue
            }
            let r = try db.store.compact(key)
            bytesBefore += r.bytesBefore
            bytesAfter += r.bytesAfter
            progress.update(done: i + 1, total: candidates.count, unit: "partitions")
        }
        progress.finish()
        try db.close()
        let secs = monotonicSeconds() - start
        writeStdout("{\"dryRun\":\(dryRun),\"partitions\":\(candidates.count),\"segmentsBefore\":\(segmentsBefore),\"segmentsAfter\":\(dryRun ? segmentsBefore : candidates.count),\"bytesBefore\":\(bytesBefore),\"bytesAfter\":\(dryRun ? bytesBefore : bytesAfter),\"seconds\":\(secs)}\n")
    }
}
