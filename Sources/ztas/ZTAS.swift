import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct ZTAS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ztas",
        abstract: "Privacy-first web analytics with an embedded columnar event store.",
        subcommands: [
            ImportCommand.self, IngestCommand.self, QueryCommand.self, HeatmapCommand.self,
            GenerateCommand.self, VerifyCommand.self, InspectCommand.self, CompactCommand.self,
            DeleteCommand.self, BenchCommand.self, ServeCommand.self, ClickHouseCommand.self, MigrateCommand.self,
        ]
    )
}

/// The `--data` option every command that touches a data directory shares.
struct DataOption: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $ZTAS_DATA or ./ztas-data).")
    var data: String?

    var path: String {
        if let data { return data }
        if let env = getenv("ZTAS_DATA") { return String(cString: env) }
        return "./ztas-data"
    }
}
