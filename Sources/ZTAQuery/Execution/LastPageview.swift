public import ZTAFormat
public import ZTAStorage

extension QueryEngine {
    /// The newest pageview `ts` of `site` before `before` (ms), or nil: the site list's "last
    /// pageview" (api.md §7.1), read from whichever store holds the events.
    ///
    /// Chunks are visited newest first and the scan stops once no remaining chunk can hold a
    /// later one — on the embedded store usually one block; on ClickHouse one day slice.
    public func lastPageview(site: String, before: Int64) throws -> Int64? {
        let plan = try source.scanPlan(ScanRequest(site: site, from: 0, to: before, columns: ColumnSet([.ts, .type])))
        var best: Int64? = nil
        let pv = EventType.pageview.rawValue
        for task in plan.tasks.sorted(by: { $0.maxTs > $1.maxTs }) {
            if let b = best, task.maxTs <= b { break }
            let c = try task.load()
            for i in 0..<c.count where c.type[i] == pv && c.ts[i] < before {
                if best.map({ c.ts[i] > $0 }) ?? true { best = c.ts[i] }
            }
        }
        return best
    }
}
