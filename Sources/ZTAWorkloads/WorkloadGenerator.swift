#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Synthetic analytics traffic as NDJSON import lines (`events.md` §2), for tests, benchmarks
/// and `ztas generate`.
///
/// What it produces: one site with ~70% of the events and the others sharing the rest; sessions
/// of one or more pageviews (about 45% bounce) with heartbeats every 30 s, engagement events with
/// `time_on_page`, scrolls with `scroll_depth`, clicks on page elements at viewport positions
/// (desktop 1280×1024, tablet 768×1024, mobile 375×667; occasional rage bursts), mouse moves and
/// custom events with name/category/label/value; Zipf-distributed paths; a referrer mix of
/// search engines, social networks, referring sites, direct traffic and UTM campaigns on each
/// session's first pageview; returning visitors (next session after ≥ 30 minutes); traffic that
/// follows the time of day and week of each site's audience; device, browser, OS, country and
/// region distributions. Lines are in timestamp order, ~460 bytes on average; `ts` is an ISO
/// string (a few with an offset) or integer ms; about half the lines leave `channel` out; 85% of
/// the sessions write every field (empty ones included, as an exporter would), the rest only the
/// non-empty ones; some texts use `\uXXXX` escapes and some referrers carry `www.` or capitals.
///
/// That is the `synthetic` profile; `tracked` (`WorkloadProfile`) writes the shape of tracked
/// traffic instead, from the same simulation.
///
/// The output depends only on the parameters: the same seed gives the same bytes.
public struct WorkloadGenerator: Sendable {
    /// Lines to produce.
    public let rows: Int
    public let seed: UInt64
    /// Number of sites (`site_alpha`, `site_beta`, … then `site_<n>`).
    public let sites: Int
    /// Length of the time range, ending at `endMs`.
    public let days: Int
    /// End of the time range, ms since the epoch (sessions still open at the end may run past it).
    public let endMs: Int64
    /// The shape of the lines (event mix, sparseness, id and timestamp forms).
    public let profile: WorkloadProfile

    /// 2026-04-15T00:00:00Z.
    public static let defaultEndMs: Int64 = 1_776_211_200_000

    public init(rows: Int, seed: UInt64, sites: Int = 3, days: Int = 90, endMs: Int64 = WorkloadGenerator.defaultEndMs,
                profile: WorkloadProfile = .synthetic) {
        self.rows = max(rows, 0)
        self.seed = seed
        self.sites = max(sites, 1)
        self.days = max(days, 1)
        self.endMs = endMs
        self.profile = profile
    }

    /// The site ids the generator uses, the big one first.
    public var siteIds: [String] {
        (0..<sites).map { $0 < WorkloadCatalog.siteNames.count ? WorkloadCatalog.siteNames[$0] : "site_\($0 + 1)" }
    }

    /// Produces every line, handing them to `sink` in buffers of whole lines (about 1 MiB each).
    public func write(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if rows == 0 { return }
        try SessionSimulator(self).run(sink)
    }

    /// Writes every line to a file descriptor (e.g. 1 for standard output).
    public func write(toFileDescriptor fd: Int32) throws {
        try write { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WorkloadWriteError(errno: errno)
                }
                offset += n
            }
        }
    }

    /// Every line in one array (for tests and small data sets).
    public func generate() -> [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(rows * 470)
        write { all.append(contentsOf: $0) }
        return all
    }
}

/// Writing generated lines to a file descriptor failed.
public struct WorkloadWriteError: Error, Equatable {
    public var errno: Int32
}

@inline(__always)
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
