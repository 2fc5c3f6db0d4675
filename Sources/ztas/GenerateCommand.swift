public import ArgumentParser
public import ZTAWorkloads

// The conformance is public (an enum of ZTAWorkloads made an argument here), so its modules are imported publicly.
extension WorkloadProfile: ExpressibleByArgument {}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write realistic synthetic events (events.md §2 NDJSON) to stdout.",
        discussion: "Zipf paths, a referrer/UTM mix, 30-minute sessions, diurnal traffic, heatmap clicks, scrolls and moves, custom events. One site holds ~70% of the events. Deterministic for a seed.")

    @Option(help: "Number of events.") var rows: Int
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Number of sites.") var sites = 3
    @Option(help: "Days of history, ending 2026-04-15.") var days = 90
    @Option(help: "Data shape: synthetic (~460 B lines, mostly full form) or tracked (sparse ~270 B lines with the event mix of conformance/events.ndjson.gz).")
    var profile: WorkloadProfile = .synthetic

    func validate() throws {
        guard rows >= 0 else { throw ValidationError("--rows must be ≥ 0") }
        guard sites >= 1, days >= 1 else { throw ValidationError("--sites and --days must be ≥ 1") }
    }

    func run() throws {
        try WorkloadGenerator(rows: rows, seed: seed, sites: sites, days: days, profile: profile).write(toFileDescriptor: 1)
    }
}
