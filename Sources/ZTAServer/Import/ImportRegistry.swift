import Synchronization

/// The sites with an import running (api.md §8: one at a time per site).
final class ImportRegistry: Sendable {
    private let running = Mutex<Set<String>>([])

    /// Claims the site; false when an import of it is already running.
    func begin(_ site: String) -> Bool { running.withLock { $0.insert(site).inserted } }

    func end(_ site: String) { _ = running.withLock { $0.remove(site) } }

    func isRunning(_ site: String) -> Bool { running.withLock { $0.contains(site) } }
}

