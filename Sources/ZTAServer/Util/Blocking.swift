import Dispatch

/// Runs blocking work (WAL fsync, scans, bcrypt, imports) on GCD threads instead of Swift's
/// cooperative pool, which has only as many threads as cores: a blocked pool thread stalls every
/// request. Concurrent callers of `Database.ingest` then meet in one group commit.
enum Blocking {
    private static let queue = DispatchQueue(label: "ztas.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async {
                do { c.resume(returning: try work()) } catch { c.resume(throwing: error) }
            }
        }
    }
}
