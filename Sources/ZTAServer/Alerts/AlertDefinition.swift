/// The vocabulary of an alert (api.md §7.7): kinds, metrics, operators, periods, and the
/// `condition` text shown for it.
enum AlertType: String, Sendable, CaseIterable {
    case threshold, comparison, anomaly

    /// Minimum time between two firings of one alert (api.md §7.7 "Cool-down 1 h/24 h/6 h",
    /// listed in the order of the types: threshold 1 h, comparison 24 h, anomaly 6 h — decided).
    var coolDownMs: Int64 {
        switch self {
        case .threshold: 3_600_000
        case .comparison: 86_400_000
        case .anomaly: 6 * 3_600_000
        }
    }
}

enum AlertOperator: String, Sendable {
    case greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<="

    func holds(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .greater: value > threshold
        case .less: value < threshold
        case .greaterOrEqual: value >= threshold
        case .lessOrEqual: value <= threshold
        }
    }
}

/// The window an alert looks at: `[now − period, now)`.
enum AlertPeriod: String, Sendable {
    case hour = "1h", day = "24h", week = "7d"

    var ms: Int64 {
        switch self {
        case .hour: 3_600_000
        case .day: 86_400_000
        case .week: 7 * 86_400_000
        }
    }
}

/// The baseline of a comparison alert: the window shifted back by the period, 7 days or 30 days.
enum AlertCompareWith: String, Sendable {
    case previousPeriod = "previous_period", previousWeek = "previous_week", previousMonth = "previous_month"

    func shiftMs(_ period: AlertPeriod) -> Int64 {
        switch self {
        case .previousPeriod: period.ms
        case .previousWeek: 7 * 86_400_000
        case .previousMonth: 30 * 86_400_000
        }
    }
}

/// Anomaly sensitivity: fires when |value − mean| ≥ k · stddev.
enum AlertSensitivity: String, Sendable {
    case low, medium, high

    var k: Double {
        switch self {
        case .low: 3
        case .medium: 2
        case .high: 1.5
        }
    }
}

enum AlertChannel: String, Sendable {
    case email, webhook
}

/// A metric an alert watches (api.md §7.7).
enum AlertMetric: Sendable, Equatable {
    case pageviews, uniqueVisitors, sessions, bounceRate, avgSessionDuration
    /// Conversion rate over all of the site's goals: visitors completing any goal / visitors, %.
    case conversionRate
    case goalCompletions(String)
    case goalConversionRate(String)
    case funnelConversionRate(String)

    /// Parses the wire form (`pageviews`, `goal.<id>.completions`, `funnel.<id>.conversionRate`, …).
    init?(_ s: String) {
        switch s {
        case "pageviews": self = .pageviews
        case "uniqueVisitors": self = .uniqueVisitors
        case "sessions": self = .sessions
        case "bounceRate": self = .bounceRate
        case "avgSessionDuration": self = .avgSessionDuration
        case "conversionRate": self = .conversionRate
        default:
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty, parts[1].count <= 100 else { return nil }
            let id = String(parts[1])
            switch (parts[0], parts[2]) {
            case ("goal", "completions"): self = .goalCompletions(id)
            case ("goal", "conversionRate"): self = .goalConversionRate(id)
            case ("funnel", "conversionRate"): self = .funnelConversionRate(id)
            default: return nil
            }
        }
    }

    var wire: String {
        switch self {
        case .pageviews: "pageviews"
        case .uniqueVisitors: "uniqueVisitors"
        case .sessions: "sessions"
        case .bounceRate: "bounceRate"
        case .avgSessionDuration: "avgSessionDuration"
        case .conversionRate: "conversionRate"
        case .goalCompletions(let id): "goal.\(id).completions"
        case .goalConversionRate(let id): "goal.\(id).conversionRate"
        case .funnelConversionRate(let id): "funnel.\(id).conversionRate"
        }
    }

    /// The goal a metric names, if any.
    var goalId: String? {
        switch self {
        case .goalCompletions(let id), .goalConversionRate(let id): id
        default: nil
        }
    }

    var funnelId: String? {
        if case .funnelConversionRate(let id) = self { return id }
        return nil
    }
}

/// `condition` of an alert (api.md §7.7): `"pageviews > 1000"` for a threshold,
/// `"conversionRate < -20%"` for a comparison (the threshold is a % change), and for an anomaly
/// (no operator or threshold) `"pageviews anomaly (medium sensitivity)"` (decided).
enum AlertCondition {
    static func text(type: AlertType, metric: String, op: AlertOperator?, threshold: Double?,
                     sensitivity: AlertSensitivity) -> String {
        switch type {
        case .threshold:
            "\(metric) \(op?.rawValue ?? ">") \(number(threshold ?? 0))"
        case .comparison:
            "\(metric) \(op?.rawValue ?? ">") \(number(threshold ?? 0))%"
        case .anomaly:
            "\(metric) anomaly (\(sensitivity.rawValue) sensitivity)"
        }
    }

    /// A number as written in a condition: integers without a fraction (`1000`, `-20`), others
    /// in Swift's shortest round-trip form (`2.5`).
    static func number(_ v: Double) -> String {
        if v == v.rounded(), v.magnitude < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
