import ZTAFormat

/// Where an event lives: its site and its UTC calendar month.
public struct PartitionKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var site: String
    /// `yyyy-mm` of the event's `ts` in UTC.
    public var month: String

    public init(site: String, month: String) {
        self.site = site
        self.month = month
    }

    public init(site: String, ts: Int64) {
        self.site = site
        self.month = PartitionKey.month(of: ts)
    }

    public static func < (a: PartitionKey, b: PartitionKey) -> Bool {
        (a.site, a.month) < (b.site, b.month)
    }

    public var description: String { "\(site)/\(month)" }

    /// `yyyy-mm` of a UTC timestamp in ms (proleptic Gregorian, days-from-civil inverse).
    public static func month(of ts: Int64) -> String {
        let (y, m) = yearMonth(ofMs: ts)
        let ys = String(y), ms = String(m)
        return String(repeating: "0", count: max(0, 4 - ys.count)) + ys + "-" + (m < 10 ? "0" : "") + ms
    }

    static func yearMonth(ofMs ts: Int64) -> (Int64, Int64) {
        let d = CivilDays.date(days: CivilDays.days(ofMs: ts))
        return (d.year, d.month)
    }

    /// `[start, end)` of the month in ms.
    public var range: (Int64, Int64) {
        let parts = month.split(separator: "-")
        let y = Int64(parts[0]) ?? 1970, m = Int64(parts[1]) ?? 1
        let start = CivilDays.days(year: y, month: m, day: 1) * 86_400_000
        let end = (m == 12 ? CivilDays.days(year: y + 1, month: 1, day: 1) : CivilDays.days(year: y, month: m + 1, day: 1)) * 86_400_000
        return (start, end)
    }
}

/// The in-memory rows of one partition: immutable sealed chunks plus a small active builder.
/// Sealing keeps query snapshots cheap: only the active part (≤ `sealRows`) is copied.
final class MemPartition {
    static let sealRows = 16_384
    private(set) var sealed: [ColumnChunk] = []
    private var active = ColumnChunkBuilder()
    private var activeSnapshot: ColumnChunk?
    private(set) var rows = 0
    private(set) var minTs = Int64.max
    private(set) var maxTs = Int64.min

    func append(_ r: EventRecord) {
        active.append(r)
        activeSnapshot = nil
        rows += 1
        if r.ts < minTs { minTs = r.ts }
        if r.ts > maxTs { maxTs = r.ts }
        if active.count >= MemPartition.sealRows {
            sealed.append(active.build())
            active.removeAll(keepingCapacity: true)
        }
    }

    /// Every row as chunks (sealed chunks shared, the active part built once per change).
    func chunks() -> [ColumnChunk] {
        if active.count == 0 { return sealed }
        if activeSnapshot == nil { activeSnapshot = active.build() }
        return sealed + [activeSnapshot!]
    }
}

/// All partitions' in-memory rows since the last flush. Not thread-safe: the store guards it.
final class Memtable {
    private(set) var partitions: [PartitionKey: MemPartition] = [:]
    private(set) var rows = 0
    /// Wall-clock ms of the first row appended, for flush-by-age.
    private(set) var firstAppendAt: Int64?

    func append(_ records: [EventRecord], now: Int64) {
        if records.isEmpty { return }
        if firstAppendAt == nil { firstAppendAt = now }
        for r in records {
            let key = PartitionKey(site: r.site, ts: r.ts)
            let p: MemPartition
            if let existing = partitions[key] { p = existing } else {
                p = MemPartition()
                partitions[key] = p
            }
            p.append(r)
        }
        rows += records.count
    }

    var isEmpty: Bool { rows == 0 }
}
