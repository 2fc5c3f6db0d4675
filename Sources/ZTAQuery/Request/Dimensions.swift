public import ZTAFormat

/// A breakdown property / filter property (api.md §4, §6; events.md §3).
public enum Dimension: String, CaseIterable, Sendable {
    case page, entryPage = "entry_page", source, referrer, channel, country, region, device, browser, os
    case utmSource = "utm_source", utmMedium = "utm_medium", utmCampaign = "utm_campaign"
    case eventName = "event_name"

    /// The stored column the dimension reads.
    public var column: Column {
        switch self {
        case .page, .entryPage: .path
        case .source, .referrer: .referrer
        case .channel: .channel
        case .country: .country
        case .region: .region
        case .device: .device
        case .browser: .browser
        case .os: .os
        case .utmSource: .utmSource
        case .utmMedium: .utmMedium
        case .utmCampaign: .utmCampaign
        case .eventName: .name
        }
    }

    /// Session-level dimensions take the value of the session's entry pageview (events.md §3).
    public var isSessionLevel: Bool { self != .page && self != .eventName }

    /// The api.md order of `property` values, used in the error message.
    static let breakdownOrder: [Dimension] = [.page, .entryPage, .source, .referrer, .channel, .country, .region,
                                              .device, .browser, .os, .utmSource, .utmMedium, .utmCampaign, .eventName]

    /// Filter properties: every breakdown property but `entry_page` (events.md §6.4).
    static func filterProperty(_ name: String) -> Dimension? {
        guard let d = Dimension(rawValue: name), d != .entryPage else { return nil }
        return d
    }

    /// The value a session without an entry has (events.md §6.1).
    package var noEntryValue: String { self == .channel ? "direct" : "" }
}

/// A metric of the stats API (events.md §3).
public enum Metric: String, CaseIterable, Sendable {
    case visitors, pageviews, sessions, bounces, bounceRate = "bounce_rate", visitDuration = "visit_duration"
    case viewsPerVisit = "views_per_visit", events, avgTimeOnPage = "avg_time_on_page"

    /// Parses a metric name; `visits` is an alias of `sessions`.
    static func parse(_ s: String) -> Metric? {
        s == "visits" ? .sessions : Metric(rawValue: s)
    }
}

/// The session-level columns an entry can carry (every session-level dimension's column).
let sessionColumns: [Column] = [.path, .referrer, .channel, .country, .region, .device, .browser, .os,
                                .utmSource, .utmMedium, .utmCampaign]
