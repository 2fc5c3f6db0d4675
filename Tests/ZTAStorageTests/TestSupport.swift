import Foundation
import ZTAWorkloads
import ZTAFormat


/// A fresh temporary directory, removed by the caller.
func makeTempDirectory(_ label: String) -> String {
    let dir = NSTemporaryDirectory() + "ztas-\(label)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Random events of a few sites over a few months, strings including empty and unicode values.
func randomEvents(_ n: Int, rng: inout SplitMix64, sites: [String] = ["site_a", "site_b"], importId: UInt32 = 0) -> [EventRecord] {
    let paths = ["/", "/pricing", "/docs/a", "/blog/ünïcødé", "", "/🚀"]
    let base: Int64 = 1_767_225_600_000 // 2026-01-01
    return (0..<n).map { i in
        var e = EventRecord()
        e.ts = base + Int64(rng.next() % (90 * 86_400_000))
        e.site = sites[Int(rng.next() % UInt64(sites.count))]
        e.type = EventType(rawValue: UInt8(rng.next() % 7))!
        e.visitor = rng.next()
        e.session = rng.next() % 1000
        e.path = paths[Int(rng.next() % UInt64(paths.count))]
        e.referrer = ["", "google.com", "news.ycombinator.com"][Int(rng.next() % 3)]
        e.country = ["", "DE", "US"][Int(rng.next() % 3)]
        e.value = Double(i) * 0.5
        e.timeOnPage = Int32(truncatingIfNeeded: rng.next() % 600)
        e.x = Int32(truncatingIfNeeded: rng.next() % 1280)
        e.y = Int32(truncatingIfNeeded: rng.next() % 4000)
        e.scrollDepth = Int8(rng.next() % 101)
        e.element = ["", "button#go", "a.nav"][Int(rng.next() % 3)]
        e.importId = importId
        return e
    }
}
