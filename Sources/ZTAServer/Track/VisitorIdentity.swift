import Crypto
import Synchronization

/// Anonymous visitor ids (events.md §1): the first 8 bytes of SHA-256(daily salt ‖ site ‖ IP ‖
/// User-Agent). The salt is 32 random bytes held in memory only and replaced every UTC day; the
/// previous day's salt is kept (and only it) so a session running over midnight keeps its
/// visitor. Nothing here is ever written to disk, so yesterday's ids cannot be recomputed
/// after a restart or two days later.
final class VisitorIdentity: Sendable {
    private struct Salts { var day: Int64; var current: [UInt8]; var previous: [UInt8]? }
    private let salts = Mutex<Salts?>(nil)

    /// The visitor id under today's salt, and under yesterday's when there is one.
    func ids(site: String, ip: String, userAgent: String, nowMs: Int64) -> (current: UInt64, previous: UInt64?) {
        let day = nowMs / 86_400_000
        let (cur, prev) = salts.withLock { s -> ([UInt8], [UInt8]?) in
            if let v = s, v.day == day { return (v.current, v.previous) }
            let fresh = Secrets.randomBytes(32)
            // Only a salt from exactly the day before stays usable.
            let previous = s.flatMap { $0.day == day - 1 ? $0.current : nil }
            s = Salts(day: day, current: fresh, previous: previous)
            return (fresh, previous)
        }
        return (Self.hash(cur, site, ip, userAgent), prev.map { Self.hash($0, site, ip, userAgent) })
    }

    static func hash(_ salt: [UInt8], _ site: String, _ ip: String, _ ua: String) -> UInt64 {
        var h = SHA256()
        h.update(data: salt)
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        for part in [site, ip, ua] {
            var n = UInt32(part.utf8.count).bigEndian
            withUnsafeBytes(of: &n) { h.update(bufferPointer: $0) }
            h.update(data: Array(part.utf8))
        }
        let d = h.finalize()
        return d.withUnsafeBytes { b in (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(b[$1]) } }
    }
}
