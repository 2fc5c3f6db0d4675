#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The event-level simulation behind `WorkloadGenerator`: sessions arrive over time (daily and
/// weekly cycles in each site's time zone), each plays out pageview by pageview, and the events
/// of all open sessions are merged in timestamp order through a min-heap.
final class SessionSimulator {
    /// One planned event of a session's current pageview.
    struct PendingEvent {
        var ts: Int64
        var type: UInt8
        /// 1: carries the session's acquisition (its first pageview); 2: its own external referrer.
        var flags: UInt8 = 0
        /// x, time_on_page, scroll_depth or the custom event index.
        var a: Int32 = 0
        /// y, or the custom event label index.
        var b: Int32 = 0
        /// element index, value in cents (custom events; -1 none) or referring blog index.
        var c: Int32 = 0
    }

    struct Session {
        var site: Int
        var visitorSlot: Int
        var visitor: VisitorState
        var id: UInt64
        var idLow: UInt64
        var acquisition: Int      // index into `acquisitions`; == acquisitions.count: a blog
        var blog: Int
        var path: Int             // index into the site's paths
        var pageviewsLeft: Int
        var fullForm: Bool        // writes every field, empty ones included
        var queueCount = 0
        var queuePos = 0
    }

    static let queueCapacity = 64
    static let ticksPerDay: Int64 = 86_400_000

    let generator: WorkloadGenerator
    /// The profile's page-level mix.
    private let mix: PageMix
    /// The `tracked` profile: sparse lines, short ids, `Z` or integer timestamps.
    private let tracked: Bool
    private var rng: Xoshiro256
    private var strings = EscapedStrings()
    private var sites: [SiteModel] = []
    private let siteTable: WeightedTable
    private let acquisitionTable: WeightedTable
    private var acquisitionStrings: [(referrer: Int, source: Int, medium: Int, campaign: Int, channel: Int)] = []
    private var blogs: [Int] = []
    private let blogTable: WeightedTable
    private var elements: [(selector: Int, text: Int)] = []
    private let elementTable: WeightedTable
    private var customEvents: [(name: Int, category: Int, labels: [Int])] = []
    private let customEventTable: WeightedTable
    private let deviceTable: WeightedTable
    private let platformTables: [WeightedTable]
    private var platformStrings: [[(browser: Int, os: Int)]] = []
    private var deviceStrings: [Int] = []
    private let countryTables: [WeightedTable]
    private var countryStrings: [(code: Int, regions: [Int])] = []
    private var channelStrings: [String: Int] = [:]
    private let empty: Int

    private var sessions: [Session] = []
    private var freeSlots: [Int] = []
    private var queues: [PendingEvent]
    private var heap = EventHeap()
    /// Arrival process: candidate arrivals at the peak rate, thinned by the daily curve.
    private var nextCandidate: Double
    private var candidateGap: Double = 1
    private var directChannel = 0
    private var referralChannel = 0

    init(_ g: WorkloadGenerator) {
        generator = g
        mix = PageMix(g.profile)
        tracked = g.profile == .tracked
        rng = Xoshiro256(seed: g.seed)
        queues = []
        var st = EscapedStrings()
        empty = st.add("")
        let nSites = max(g.sites, 1)
        var setupRng = Xoshiro256(seed: g.seed ^ 0x5EED_5175)
        for i in 0..<nSites {
            sites.append(SiteModel(index: i, strings: &st, rng: &setupRng, poolSize: 20_000))
        }
        // One site carries ~70% of the traffic; the others share the rest, halving each time.
        var siteWeights = [1.0]
        if nSites > 1 {
            let rest = (0..<(nSites - 1)).map { 1 / pow(2.0, Double($0)) }
            let sum = rest.reduce(0, +)
            siteWeights = [0.7] + rest.map { 0.3 * $0 / sum }
        }
        siteTable = WeightedTable(siteWeights)

        let acq = WorkloadCatalog.acquisitions
        acquisitionTable = WeightedTable(acq.map(\.weight) + [WorkloadCatalog.blogReferralWeight])
        for c in ChannelClassifierNames.all { channelStrings[c] = st.add(c) }
        for a in acq {
            acquisitionStrings.append((st.add(a.referrer), st.add(a.utmSource), st.add(a.utmMedium),
                                       st.add(a.utmCampaign), channelStrings[a.channel]!))
        }
        let words = WorkloadCatalog.words, tlds = WorkloadCatalog.tlds
        var seenBlogs = Set<String>()
        while blogs.count < 300 {
            let host = words[setupRng.below(words.count)] + words[setupRng.below(words.count)]
                + String(setupRng.below(100)) + tlds[setupRng.below(tlds.count)]
            if seenBlogs.insert(host).inserted { blogs.append(st.add(host)) }
        }
        blogTable = .zipf(blogs.count, exponent: 1.0)
        // Every other vocabulary entry is written with \u escapes, so parsers meet both forms.
        for (i, e) in WorkloadCatalog.elements.enumerated() {
            elements.append((st.add(e.selector), st.add(e.text, asciiOnly: i % 2 == 1)))
        }
        elementTable = WeightedTable(WorkloadCatalog.elements.map(\.weight))
        for (i, e) in WorkloadCatalog.customEvents.enumerated() {
            customEvents.append((st.add(e.name), st.add(e.category),
                                 e.labels.map { st.add($0, asciiOnly: i % 2 == 1) }))
        }
        customEventTable = WeightedTable(WorkloadCatalog.customEvents.map(\.weight))
        deviceTable = WeightedTable(WorkloadCatalog.devices.map(\.weight))
        deviceStrings = WorkloadCatalog.devices.map { st.add($0.name) }
        platformTables = WorkloadCatalog.platforms.map { WeightedTable($0.map(\.weight)) }
        platformStrings = WorkloadCatalog.platforms.map { $0.map { (st.add($0.browser), st.add($0.os)) } }
        countryStrings = WorkloadCatalog.countries.map { (st.add($0.code), $0.regions.map { st.add($0) }) }
        // Audiences differ: the second site is US-heavy, the third German-speaking.
        countryTables = (0..<nSites).map { s in
            WeightedTable(WorkloadCatalog.countries.map { c in
                switch (s % 3, c.code) {
                case (1, "US"): c.weight * 3
                case (2, "DE"): c.weight * 6
                case (2, "AT"), (2, "CH"): c.weight * 4
                default: c.weight
                }
            })
        }

        strings = st
        // The arrival rate is set so that `rows` events fill `days`: estimate the events per
        // session with a pilot run, and the thinning acceptance from the daily curves.
        let start = Double(g.endMs) - Double(max(g.days, 1)) * Double(SessionSimulator.ticksPerDay)
        nextCandidate = start
        queues = [PendingEvent](repeating: PendingEvent(ts: 0, type: 0), count: SessionSimulator.queueCapacity)
        let eventsPerSession = pilotEventsPerSession()
        let acceptance = SessionSimulator.meanAcceptance
        let span = Double(g.endMs) - start
        let sessionsWanted = max(Double(g.rows) / eventsPerSession, 1)
        candidateGap = span * acceptance / sessionsWanted
        queues = []
        directChannel = channelStrings["direct"]!
        referralChannel = channelStrings["referral"]!
    }

    /// The mean of the daily-and-weekly curve relative to its peak (the thinning acceptance).
    static let meanAcceptance: Double = {
        let peak = WorkloadCatalog.hourly.max()! * WorkloadCatalog.weekly.max()!
        var sum = 0.0
        for w in WorkloadCatalog.weekly { for h in WorkloadCatalog.hourly { sum += w * h } }
        return sum / Double(24 * 7) / peak
    }()

    static let peak: Double = WorkloadCatalog.hourly.max()! * WorkloadCatalog.weekly.max()!

    /// Relative traffic at `ms` for an audience at `offsetMinutes`, in `0...1`.
    @inline(__always)
    static func intensity(_ ms: Int64, offsetMinutes: Int) -> Double {
        let local = ms + Int64(offsetMinutes) * 60_000
        let days = local >= 0 ? local / ticksPerDay : (local - ticksPerDay + 1) / ticksPerDay
        let hour = Int((local - days * ticksPerDay) / 3_600_000)
        let weekday = Int(((days % 7) + 7 + 3) % 7)  // 1970-01-01 was a Thursday; Monday = 0
        return WorkloadCatalog.hourly[hour] * WorkloadCatalog.weekly[weekday] / peak
    }

    /// Events per session averaged over a pilot of sessions (deterministic for the seed).
    private func pilotEventsPerSession() -> Double {
        let saved = rng
        rng = Xoshiro256(seed: generator.seed ^ 0x9170_7000)
        let n = 3000
        var total = 0
        for _ in 0..<n {
            var pageviews = drawPageviews()
            let device = deviceTable.sample(&rng)
            while pageviews > 0 {
                total += planPageview(into: 0, at: 0, device: device, first: false, path: 0)
                pageviews -= 1
            }
        }
        rng = saved
        return Double(total) / Double(n)
    }

    // MARK: Running

    /// Writes `generator.rows` lines, handing full buffers to `sink`.
    func run(_ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var out = LineWriter()
        var emitted = 0
        var arrival = drawArrival()
        while emitted < generator.rows {
            if let top = heap.top, top.ts <= arrival.ts {
                emitNext(slot: top.slot, to: &out)
                emitted += 1
                if out.isFull { try out.flush(sink) }
            } else {
                startSession(site: arrival.site, at: arrival.ts)
                arrival = drawArrival()
            }
        }
        try out.flush(sink)
    }

    /// The next session start and its site (thinning of a peak-rate Poisson process).
    private func drawArrival() -> (ts: Int64, site: Int) {
        while true {
            nextCandidate += rng.exponential(mean: candidateGap)
            let ts = Int64(nextCandidate)
            let site = siteTable.sample(&rng)
            if rng.unit() < SessionSimulator.intensity(ts, offsetMinutes: sites[site].offsetMinutes) {
                return (ts, site)
            }
        }
    }

    private func drawPageviews() -> Int {
        if rng.chance(0.45) { return 1 }
        var n = 2
        while n < 30 && rng.chance(0.62) { n += 1 }
        return n
    }

    private func startSession(site: Int, at ts: Int64) {
        // Returning visitor (not already in a session, and gone 30 minutes) or a new one.
        var slot = -1
        var visitor: VisitorState
        let known = sites[site].visitors.items.count
        if known > 0, rng.chance(mix.returningChance) {
            let s = rng.below(known)
            let v = sites[site].visitors[s]
            if !v.inSession, ts - v.lastSeen > 30 * 60_000 {
                slot = s
            }
        }
        if slot >= 0 {
            visitor = sites[site].visitors[slot]
            visitor.inSession = true
            sites[site].visitors[slot] = visitor
        } else {
            let device = deviceTable.sample(&rng)
            let country = countryTables[site].sample(&rng)
            let regions = countryStrings[country].regions
            visitor = VisitorState(id: (rng.next(), rng.next()), device: device,
                                   platform: platformTables[device].sample(&rng), country: country,
                                   region: regions.isEmpty || rng.chance(0.07) ? -1 : rng.below(regions.count),
                                   lastSeen: ts, inSession: true)
            slot = sites[site].visitors.add(visitor)
        }
        let acquisition = acquisitionTable.sample(&rng)
        let session = Session(site: site, visitorSlot: slot, visitor: visitor, id: rng.next(), idLow: rng.next(),
                              acquisition: acquisition,
                              blog: acquisition == acquisitionStrings.count ? blogTable.sample(&rng) : -1,
                              path: sites[site].pathTable.sample(&rng), pageviewsLeft: drawPageviews(),
                              fullForm: rng.chance(0.85) && !tracked)
        let index: Int
        if let free = freeSlots.popLast() {
            index = free
            sessions[index] = session
        } else {
            index = sessions.count
            sessions.append(session)
            queues.append(contentsOf: repeatElement(PendingEvent(ts: 0, type: 0), count: SessionSimulator.queueCapacity))
        }
        sessions[index].queueCount = planPageview(into: index, at: ts, device: visitor.device, first: true,
                                                  path: sessions[index].path)
        sessions[index].pageviewsLeft -= 1
        heap.push(ts: queues[index * SessionSimulator.queueCapacity].ts, slot: index)
    }

    /// Writes the next event of a session and plans what follows.
    private func emitNext(slot: Int, to out: inout LineWriter) {
        let q = slot * SessionSimulator.queueCapacity
        let e = queues[q + sessions[slot].queuePos]
        writeLine(e, session: sessions[slot], to: &out)
        sessions[slot].queuePos += 1
        if sessions[slot].queuePos < sessions[slot].queueCount {
            heap.replaceTop(ts: queues[q + sessions[slot].queuePos].ts)
            return
        }
        if sessions[slot].pageviewsLeft > 0 {
            let site = sessions[slot].site
            let path = sites[site].pathTable.sample(&rng)
            sessions[slot].path = path
            sessions[slot].pageviewsLeft -= 1
            sessions[slot].queuePos = 0
            sessions[slot].queueCount = planPageview(into: slot, at: e.ts + Int64(rng.int(300, 6000)),
                                                     device: sessions[slot].visitor.device, first: false, path: path)
            heap.replaceTop(ts: queues[q].ts)
            return
        }
        // Session over: the visitor may come back after 30 minutes.
        let s = sessions[slot]
        if sites[s.site].visitors[s.visitorSlot].id == s.visitor.id {
            sites[s.site].visitors[s.visitorSlot].lastSeen = e.ts
            sites[s.site].visitors[s.visitorSlot].inSession = false
        }
        heap.popTop()
        freeSlots.append(slot)
    }

    /// Plans one pageview and what happens on the page, sorted by time; returns the count.
    private func planPageview(into slot: Int, at t: Int64, device: Int, first: Bool, path: Int) -> Int {
        let base = slot * SessionSimulator.queueCapacity
        var n = 0
        func add(_ e: PendingEvent) {
            if n < SessionSimulator.queueCapacity {
                queues[base + n] = e
                n += 1
            }
        }
        var pageview = PendingEvent(ts: t, type: 0)
        if first {
            pageview.flags = 1
        } else if rng.chance(0.02) {
            pageview.flags = 2
            pageview.c = Int32(blogTable.sample(&rng))
        }
        add(pageview)
        let dwellSeconds = min(max(rng.logNormal(median: 32, sigma: 1.05), 3), 1800)
        let dwell = Int64(dwellSeconds * 1000) + Int64(rng.below(1000))
        func at() -> Int64 { t + 400 + Int64(rng.below(Int(max(dwell - 800, 1)))) }
        let (width, height) = (WorkloadCatalog.devices[device].width, WorkloadCatalog.devices[device].height)
        let pageScale = device == 1 ? 1.7 : device == 2 ? 1.2 : 1.0

        // Heartbeats every 30 s while the page stays open.
        var hb: Int64 = 30_000
        while hb < dwell && hb <= mix.heartbeatLimitMs {
            add(PendingEvent(ts: t + hb + Int64(rng.below(250)), type: 3))
            hb += 30_000
        }
        // Scrolls: each reports the deepest point reached so far.
        if dwellSeconds > 4, rng.chance(mix.scrollChance) {
            let deepest = rng.chance(0.22) ? 100 : Int(pow(rng.unit(), 0.65) * 100)
            let k = rng.int(1, mix.maxScrolls)
            var times = (0..<k).map { _ in at() }
            times.sort()
            for (i, ts) in times.enumerated() {
                let depth = i == k - 1 ? deepest : deepest * (i + 1) / k
                add(PendingEvent(ts: ts, type: 5, a: Int32(depth)))
            }
        }
        // Clicks on page elements, near their usual place.
        let clicks = min(rng.poisson(mean: device == 0 ? mix.clicksDesktop : mix.clicksOther), 6)
        for _ in 0..<clicks {
            let el = elementTable.sample(&rng)
            let spec = WorkloadCatalog.elements[el]
            let x = Int32(min(max(spec.x * Double(width) + rng.normal() * 14, 0), Double(width - 1)))
            let y = Int32(max(spec.y * pageScale + rng.normal() * 9, 0))
            add(PendingEvent(ts: at(), type: 4, a: x, b: y, c: Int32(el)))
        }
        // Now and then a rage click: a burst within one second on one spot.
        if rng.chance(mix.rageChance) {
            let el = elementTable.sample(&rng)
            let spec = WorkloadCatalog.elements[el]
            let x0 = spec.x * Double(width), y0 = spec.y * pageScale
            var ts = at()
            for _ in 0..<rng.int(5, 12) {
                let x = Int32(min(max(x0 + Double(rng.int(-8, 8)), 0), Double(width - 1)))
                add(PendingEvent(ts: ts, type: 4, a: x, b: Int32(max(y0 + Double(rng.int(-8, 8)), 0)), c: Int32(el)))
                ts += Int64(rng.int(40, 80))
            }
        }
        // Mouse moves (not on phones).
        if device != 1 {
            for _ in 0..<min(rng.poisson(mean: mix.moves), 8) {
                add(PendingEvent(ts: at(), type: 6, a: Int32(rng.below(Int(width))),
                                 b: Int32(rng.below(Int(Double(height) * 1.8)))))
            }
        }
        // Custom events.
        if rng.chance(mix.customEventChance) {
            let ev = customEventTable.sample(&rng)
            let spec = WorkloadCatalog.customEvents[ev]
            let cents: Int32 = switch spec.value {
            case .none: -1
            case .one: 100
            case .cents(let lo, let hi): Int32(rng.int(lo, hi))
            }
            add(PendingEvent(ts: at(), type: 1, a: Int32(ev), b: Int32(rng.below(spec.labels.count)), c: cents))
        }
        if rng.chance(mix.engagementChance) {
            add(PendingEvent(ts: t + dwell, type: 2, a: Int32(dwellSeconds)))
        }
        // Insertion sort by time (the pageview, at t, stays first).
        if n > 2 {
            for i in 2..<n {
                let e = queues[base + i]
                var j = i
                while j > 1 && queues[base + j - 1].ts > e.ts {
                    queues[base + j] = queues[base + j - 1]
                    j -= 1
                }
                queues[base + j] = e
            }
        }
        return n
    }

    // MARK: Writing

    private func writeLine(_ e: PendingEvent, session s: Session, to out: inout LineWriter) {
        let site = sites[s.site]
        out.raw("{\"ts\":")
        let style = rng.below(100)
        if style < 25 {
            out.int(e.ts)
        } else {
            out.byte(0x22)
            out.isoTimestamp(e.ts, offsetMinutes: style < 28 && !tracked ? site.offsetMinutes : 0)
            out.byte(0x22)
        }
        out.raw(",\"site\":\"")
        strings.write(site.name, to: &out)
        out.raw("\",\"type\":\"")
        switch e.type {
        case 0: out.raw("pageview")
        case 1: out.raw("event")
        case 2: out.raw("engagement")
        case 3: out.raw("heartbeat")
        case 4: out.raw("click")
        case 5: out.raw("scroll")
        default: out.raw("move")
        }
        if tracked {
            out.raw("\",\"visitor\":\"v")
            out.hex16(s.visitor.id.0)
            out.raw("\",\"session\":\"s")
            out.hex16(s.id)
        } else {
            out.raw("\",\"visitor\":\"")
            out.uuid(s.visitor.id.0, s.visitor.id.1)
            out.raw("\",\"session\":\"")
            out.uuid(s.id, s.idLow)
        }
        out.raw("\",\"path\":\"")
        strings.write(site.paths[s.path], to: &out)
        out.byte(0x22)

        var channel = directChannel
        if e.flags == 1 {
            if s.acquisition < acquisitionStrings.count {
                let a = acquisitionStrings[s.acquisition]
                writeField(",\"referrer\":\"", a.referrer, always: s.fullForm, to: &out)
                writeField(",\"utm_source\":\"", a.source, always: s.fullForm, to: &out)
                writeField(",\"utm_medium\":\"", a.medium, always: s.fullForm, to: &out)
                writeField(",\"utm_campaign\":\"", a.campaign, always: s.fullForm, to: &out)
                channel = a.channel
            } else {
                writeBlogReferrer(blogs[s.blog], fullForm: s.fullForm, to: &out)
                channel = referralChannel
            }
        } else if e.flags == 2 {
            writeBlogReferrer(blogs[Int(e.c)], fullForm: s.fullForm, to: &out)
            channel = referralChannel
        } else if s.fullForm {
            out.raw(",\"referrer\":\"\",\"utm_source\":\"\",\"utm_medium\":\"\",\"utm_campaign\":\"\"")
        }
        if rng.chance(0.5) {
            out.raw(",\"channel\":\"")
            strings.write(channel, to: &out)
            out.byte(0x22)
        }
        out.raw(",\"device\":\"")
        strings.write(deviceStrings[s.visitor.device], to: &out)
        let platform = platformStrings[s.visitor.device][s.visitor.platform]
        out.raw("\",\"browser\":\"")
        strings.write(platform.browser, to: &out)
        out.raw("\",\"os\":\"")
        strings.write(platform.os, to: &out)
        out.byte(0x22)
        let country = countryStrings[s.visitor.country]
        writeField(",\"country\":\"", country.code, always: s.fullForm, to: &out)
        writeField(",\"region\":\"", s.visitor.region < 0 ? empty : country.regions[s.visitor.region],
                   always: s.fullForm, to: &out)

        switch e.type {
        case 1:
            let ev = customEvents[Int(e.a)]
            writeField(",\"name\":\"", ev.name, always: true, to: &out)
            writeField(",\"category\":\"", ev.category, always: s.fullForm, to: &out)
            writeField(",\"label\":\"", ev.labels[Int(e.b)], always: s.fullForm, to: &out)
            if e.c >= 0 {
                out.raw(",\"value\":")
                out.money(Int(e.c))
            } else if s.fullForm {
                out.raw(",\"value\":0")
            }
        case 2:
            writeNumber(",\"time_on_page\":", e.a, to: &out)
        case 4:
            writeNumber(",\"x\":", e.a, to: &out)
            writeNumber(",\"y\":", e.b, to: &out)
            let el = elements[Int(e.c)]
            writeField(",\"element\":\"", el.selector, always: true, to: &out)
            writeField(",\"text\":\"", el.text, always: s.fullForm, to: &out)
        case 5:
            writeNumber(",\"scroll_depth\":", e.a, to: &out)
        case 6:
            writeNumber(",\"x\":", e.a, to: &out)
            writeNumber(",\"y\":", e.b, to: &out)
        default:
            break
        }
        if s.fullForm {
            // The remaining fields at their defaults, as an exporter that writes every column would.
            if e.type != 1 { out.raw(",\"name\":\"\",\"category\":\"\",\"label\":\"\",\"value\":0") }
            if e.type != 2 { out.raw(",\"time_on_page\":0") }
            if e.type != 4 && e.type != 6 { out.raw(",\"x\":0,\"y\":0") }
            if e.type != 5 { out.raw(",\"scroll_depth\":0") }
            if e.type != 4 { out.raw(",\"element\":\"\",\"text\":\"\"") }
        }
        out.raw("}\n")
    }

    @inline(__always)
    private func writeField(_ key: StaticString, _ value: Int, always: Bool, to out: inout LineWriter) {
        if !always && strings.length(value) == 0 { return }
        out.raw(key)
        strings.write(value, to: &out)
        out.byte(0x22)
    }

    /// A number field; the tracked profile leaves zeros out (the default, as a tracker would).
    @inline(__always)
    private func writeNumber(_ key: StaticString, _ value: Int32, to out: inout LineWriter) {
        if tracked && value == 0 { return }
        out.raw(key)
        out.int(Int64(value))
    }

    private func writeBlogReferrer(_ host: Int, fullForm: Bool, to out: inout LineWriter) {
        writeField(",\"referrer\":\"", host, always: true, to: &out)
        if fullForm { out.raw(",\"utm_source\":\"\",\"utm_medium\":\"\",\"utm_campaign\":\"\"") }
    }
}

/// The channel names, as stored.
enum ChannelClassifierNames {
    static let all = ["direct", "organic", "referral", "social", "paid", "email"]
}

/// A binary min-heap of (next event time, session slot).
struct EventHeap {
    private var ts: [Int64] = []
    private var slots: [Int] = []

    var top: (ts: Int64, slot: Int)? { ts.isEmpty ? nil : (ts[0], slots[0]) }

    mutating func push(ts t: Int64, slot: Int) {
        ts.append(t)
        slots.append(slot)
        var i = ts.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if ts[parent] <= ts[i] { break }
            ts.swapAt(parent, i)
            slots.swapAt(parent, i)
            i = parent
        }
    }

    /// Changes the top's time and restores the heap.
    mutating func replaceTop(ts t: Int64) {
        ts[0] = t
        siftDown(0)
    }

    mutating func popTop() {
        let last = ts.count - 1
        ts.swapAt(0, last)
        slots.swapAt(0, last)
        ts.removeLast()
        slots.removeLast()
        if !ts.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = ts.count
        while true {
            let l = 2 * i + 1
            if l >= n { return }
            var m = l
            if l + 1 < n && ts[l + 1] < ts[l] { m = l + 1 }
            if ts[i] <= ts[m] { return }
            ts.swapAt(i, m)
            slots.swapAt(i, m)
            i = m
        }
    }
}
