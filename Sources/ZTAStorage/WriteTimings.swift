/// How long the write path's two blocking steps take, for `/metrics`: a group commit (one WAL
/// write plus its fsync, which every acknowledged `/api/track` request waits for) and a memtable
/// flush (encode + write + fsync the segments, swap the manifest). A tail-latency stall of
/// tracking shows up here as a slow commit — or as a flush on the append path (`inlineFlushes`).
public struct WriteTimings: Sendable, Equatable {
    /// Upper bounds (seconds) of the histogram buckets; one more bucket counts what is slower.
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    /// A latency histogram: counts per bucket (not cumulative; the last is "above every bound").
    public struct Histogram: Sendable, Equatable {
        public var counts = [Int](repeating: 0, count: WriteTimings.bounds.count + 1)
        public var sumSeconds = 0.0
        public var maxSeconds = 0.0
        public var count: Int { counts.reduce(0, +) }

        mutating func record(_ seconds: Double) {
            var b = 0
            while b < WriteTimings.bounds.count && seconds > WriteTimings.bounds[b] { b += 1 }
            counts[b] += 1
            sumSeconds += seconds
            maxSeconds = max(maxSeconds, seconds)
        }
    }

    /// Group commits: WAL write + fsync.
    public var commits = Histogram()
    /// Memtable flushes, wherever they ran.
    public var flushes = Histogram()
    /// Flushes that ran inside an append (its writers waited for the whole flush).
    public var inlineFlushes = 0

    public init() {}
}
