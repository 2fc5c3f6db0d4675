/// One synthetic site: its id, audience time zone, pages (Zipf-distributed) and the pool of
/// visitors who may come back.
struct SiteModel {
    let index: Int
    let name: Int               // index into the generator's escaped strings
    let offsetMinutes: Int      // the audience's UTC offset, shaping the daily curve
    let paths: [Int]            // escaped-string indices, most visited first
    let pathTable: WeightedTable
    var visitors: VisitorPool

    init(index: Int, strings: inout EscapedStrings, rng: inout Xoshiro256, poolSize: Int) {
        self.index = index
        let names = WorkloadCatalog.siteNames
        name = strings.add(index < names.count ? names[index] : "site_\(index + 1)")
        offsetMinutes = WorkloadCatalog.siteOffsets[index % WorkloadCatalog.siteOffsets.count] * 60
        let raw = SiteModel.makePaths(kind: index % 3, rng: &rng)
        paths = raw.map { strings.add($0) }
        pathTable = .zipf(raw.count, exponent: 1.05)
        visitors = VisitorPool(capacity: poolSize)
    }

    /// Page paths for a product site (0), a news site (1) or a documentation site (2).
    static func makePaths(kind: Int, rng: inout Xoshiro256) -> [String] {
        let w = WorkloadCatalog.words
        func word() -> String { w[rng.below(w.count)] }
        func slug(_ n: Int) -> String { (0..<n).map { _ in word() }.joined(separator: "-") }
        var paths: [String]
        var seen = Set<String>()
        func add(_ p: String) { if seen.insert(p).inserted { paths.append(p) } }
        switch kind {
        case 0:
            paths = []
            for p in ["/", "/pricing", "/features", "/signup", "/blog", "/docs", "/login", "/about", "/changelog",
                      "/integrations", "/customers", "/security", "/contact", "/careers", "/legal/privacy"] { add(p) }
            for _ in 0..<260 { add("/blog/\(slug(rng.int(3, 6)))") }
            for _ in 0..<320 { add("/docs/\(word())/\(slug(rng.int(2, 4)))") }
            for _ in 0..<120 { add("/products/\(word())/\(slug(2))") }
        case 1:
            paths = []
            let sections = ["politics", "tech", "business", "local", "sports", "culture", "science", "opinion"]
            for p in ["/", "/news", "/subscribe", "/login"] + sections.map({ "/news/\($0)" }) { add(p) }
            for _ in 0..<1600 { add("/news/\(sections[rng.below(sections.count)])/\(slug(rng.int(3, 7)))") }
        default:
            paths = []
            let versions = ["v1", "v2", "latest"]
            for p in ["/", "/docs", "/docs/latest/getting-started", "/docs/latest/installation", "/search"] { add(p) }
            for _ in 0..<700 {
                add("/docs/\(versions[rng.below(versions.count)])/\(word())/\(slug(rng.int(1, 4)))")
            }
        }
        return paths
    }
}

/// A visitor as the sessions of the same person see it.
struct VisitorState {
    var id: (UInt64, UInt64)
    var device: Int
    var platform: Int
    var country: Int
    var region: Int       // -1: none
    var lastSeen: Int64
    var inSession: Bool
}

/// The most recent visitors of a site, a ring buffer: returning visitors are drawn from it.
struct VisitorPool {
    private(set) var items: [VisitorState] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a visitor and returns its slot (overwriting the oldest when full).
    mutating func add(_ v: VisitorState) -> Int {
        if items.count < capacity {
            items.append(v)
            return items.count - 1
        }
        let slot = next
        items[slot] = v
        next = (next + 1) % capacity
        return slot
    }

    subscript(slot: Int) -> VisitorState {
        get { items[slot] }
        set { items[slot] = newValue }
    }
}
