/// The shape of the generated traffic: which event mix, how lines are written.
public enum WorkloadProfile: String, CaseIterable, Sendable {
    /// The original benchmark shape: ~460-byte lines, 85% of sessions written in full form (every
    /// field, empty ones included), UUID ids, a few timestamps with a UTC offset.
    case synthetic
    /// The shape of tracked traffic as in `conformance/events.ndjson.gz`: sparse lines (defaults
    /// omitted), `v…`/`s…` 16-hex ids, `ts` as `…T…Z` with milliseconds (~75%) or integer ms
    /// (~25%), and the event mix pageview 23%, scroll 18%, heartbeat 18%, engagement 17%,
    /// click 15.5%, move 6%, custom event 2%.
    case tracked
}

/// What happens on one page, per profile (the expected counts per pageview set the event mix).
struct PageMix: Sendable {
    /// Heartbeats stop after this long on the page.
    var heartbeatLimitMs: Int64
    /// Chance of scrolling on a page open more than 4 s, and the most scroll events per page.
    var scrollChance: Double
    var maxScrolls: Int
    /// Mean clicks per page on desktop and on other devices (Poisson).
    var clicksDesktop: Double
    var clicksOther: Double
    var rageChance: Double
    /// Mean mouse moves per page on desktop and tablet (Poisson).
    var moves: Double
    var customEventChance: Double
    var engagementChance: Double
    /// Chance that a returning visitor starts a session (else a new one).
    var returningChance: Double

    static let synthetic = PageMix(heartbeatLimitMs: 600_000, scrollChance: 0.8, maxScrolls: 3,
                                   clicksDesktop: 1.0, clicksOther: 0.75, rageChance: 0.01, moves: 1.4,
                                   customEventChance: 0.1, engagementChance: 0.92, returningChance: 0.35)
    /// Tuned so that the mix matches the conformance file within a percentage point.
    static let tracked = PageMix(heartbeatLimitMs: 60_000, scrollChance: 0.54, maxScrolls: 2,
                                 clicksDesktop: 0.75, clicksOther: 0.55, rageChance: 0.005, moves: 0.42,
                                 customEventChance: 0.087, engagementChance: 0.74, returningChance: 0.45)

    init(heartbeatLimitMs: Int64, scrollChance: Double, maxScrolls: Int, clicksDesktop: Double,
         clicksOther: Double, rageChance: Double, moves: Double, customEventChance: Double,
         engagementChance: Double, returningChance: Double) {
        self.heartbeatLimitMs = heartbeatLimitMs
        self.scrollChance = scrollChance
        self.maxScrolls = maxScrolls
        self.clicksDesktop = clicksDesktop
        self.clicksOther = clicksOther
        self.rageChance = rageChance
        self.moves = moves
        self.customEventChance = customEventChance
        self.engagementChance = engagementChance
        self.returningChance = returningChance
    }

    init(_ profile: WorkloadProfile) {
        switch profile {
        case .synthetic: self = .synthetic
        case .tracked: self = .tracked
        }
    }
}
