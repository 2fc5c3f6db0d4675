import ArgumentParser
import ZTAEngine
import ZTAFormat

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a site's events: all of them, one import's, or those before a date (retention).")

    @OptionGroup var data: DataOption
    @Option(help: "The site.") var site: String
    @Option(name: .customLong("import"), help: "Delete the events of this import id.") var importId: UInt32?
    @Option(help: "Delete events before this UTC date (YYYY-MM-DD).") var before: String?
    @Flag(help: "Delete every event of the site.") var all = false

    func validate() throws {
        let n = (importId != nil ? 1 : 0) + (before != nil ? 1 : 0) + (all ? 1 : 0)
        guard n == 1 else { throw ValidationError("give exactly one of --import, --before, --all") }
        if let before, parseUTCDate(before) == nil { throw ValidationError("Invalid date format. Use YYYY-MM-DD") }
    }

    func run() throws {
        let db = try Database(path: data.path)
        let removed: Int
        if let importId {
            removed = try db.deleteImport(site: site, importId: importId)
        } else if let before {
            removed = try db.applyRetention(site: site, cutoff: parseUTCDate(before)!)
        } else {
            removed = try db.deleteSite(site)
        }
        try db.close()
        writeStdout("{\"deletedRecords\":\(removed)}\n")
    }
}

/// `YYYY-MM-DD` → ms at 00:00 UTC.
func parseUTCDate(_ s: String) -> Int64? {
    let p = s.split(separator: "-", omittingEmptySubsequences: false)
    guard p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
          let y = Int64(p[0]), let m = Int64(p[1]), let d = Int64(p[2]), (1...12).contains(m), (1...31).contains(d) else { return nil }
    return CivilDays.days(year: y, month: m, day: d) * 86_400_000
}
