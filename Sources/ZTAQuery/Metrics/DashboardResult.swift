/// One row of a dashboard breakdown panel: the dimension's value and its events.md §3 counts.
public struct DashboardRow: Sendable, Equatable {
    public var value: String
    public var pageviews: Int64
    /// Distinct visitors of the row.
    public var visitors: Int64
    public var sessions: Int64
}

/// One time-series bucket: its label (api.md §4) and counts.
public struct DashboardPoint: Sendable, Equatable {
    public var label: String
    public var pageviews: Int64
    public var visitors: Int64
}

/// The dashboard's panels (`GET /api/stats`, api.md §6) as typed values, from one
/// `AggregateExecutor` run. The dashboard's JSON is rendered from it, and the public stats page
/// (api.md §7.2) presents the same value with counts instead of percentages — so both show the
/// same numbers and nothing parses rendered JSON back.
///
/// Panels are kept already ordered and cut as events.md §3 orders them (metric descending, then
/// value ascending by bytes); where the two presentations order a panel differently both cuts
/// are kept (`countriesBySessions` / `countriesByVisitors`).
public struct DashboardResult: Sendable {
    public var window: TimeWindow
    public var summary: SummaryMetrics
    public var timeseries: [DashboardPoint]
    /// Top 10 paths by pageviews.
    public var topPages: [DashboardRow]
    /// Top 10 sources by sessions, `(direct)` included.
    public var topSources: [DashboardRow]
    /// `desktop`, `mobile`, `tablet` in that order, zero when absent.
    public var devices: [DashboardRow]
    /// Visitors summed over the known device classes (the denominator of device shares).
    public var deviceVisitorTotal: Int64
    /// Top 10 browsers by visitors (unknown omitted).
    public var browsers: [DashboardRow]
    /// Visitors summed over all known browsers (the denominator of browser shares).
    public var browserVisitorTotal: Int64
    /// Top 10 countries by sessions (unknown omitted).
    public var countriesBySessions: [DashboardRow]
    /// Top 10 countries by visitors (unknown omitted).
    public var countriesByVisitors: [DashboardRow]
    /// `direct`, `organic`, `referral`, `social`, `paid`, `email` in that order, zero when absent.
    public var channels: [DashboardRow]
    /// Visitors summed over all channels (the denominator of traffic-source shares).
    public var channelVisitorTotal: Int64

    static let deviceNames = ["desktop", "mobile", "tablet"]
    /// Rows of each list panel (top pages, sources, browsers, countries).
    static let topRows = 10
    static let channelNames = ["direct", "organic", "referral", "social", "paid", "email"]

    init(_ r: DashboardRequest, _ res: AggregateResult) {
        window = r.window
        summary = SummaryMetrics(res.total)
        timeseries = r.buckets.labels.enumerated().map { i, label in
            let acc = i < res.series.count ? res.series[i] : GroupAcc()
            return DashboardPoint(label: label, pageviews: acc.pageviews, visitors: acc.visitors)
        }
        func rows<S: Sequence>(_ list: S) -> [DashboardRow] where S.Element == BreakdownRow {
            list.map { DashboardRow(value: $0.value, pageviews: $0.acc.pageviews, visitors: $0.acc.visitors, sessions: $0.acc.sessions) }
        }
        func fixed(_ names: [String], _ list: [BreakdownRow]) -> [DashboardRow] {
            names.map { name in
                rows(list.filter { $0.value == name }).first ?? DashboardRow(value: name, pageviews: 0, visitors: 0, sessions: 0)
            }
        }
        topPages = rows((res.breakdowns[.page] ?? []).ordered(by: .pageviews).prefix(Self.topRows))
        topSources = rows((res.breakdowns[.source] ?? []).ordered(by: .sessions).prefix(10))

        let deviceRows = (res.breakdowns[.device] ?? []).filter { !$0.value.isEmpty }
        devices = fixed(Self.deviceNames, deviceRows)
        deviceVisitorTotal = deviceRows.reduce(0) { $0 + $1.acc.visitors }

        let browserRows = (res.breakdowns[.browser] ?? []).filter { !$0.value.isEmpty }
        browsers = rows(browserRows.ordered(by: .visitors).prefix(10))
        browserVisitorTotal = browserRows.reduce(0) { $0 + $1.acc.visitors }

        let countryRows = (res.breakdowns[.country] ?? []).filter { !$0.value.isEmpty }
        countriesBySessions = rows(countryRows.ordered(by: .sessions).prefix(10))
        countriesByVisitors = rows(countryRows.ordered(by: .visitors).prefix(10))

        let channelRows = res.breakdowns[.channel] ?? []
        channels = fixed(Self.channelNames, channelRows)
        channelVisitorTotal = channelRows.reduce(0) { $0 + $1.acc.visitors }
    }
}

extension QueryEngine {
    /// The dashboard's panels for `r` as typed values: the same scan and ordering as
    /// `dashboard(_:)`, which renders exactly this value.
    public func dashboardResult(_ r: DashboardRequest) throws -> DashboardResult {
        DashboardResult(r, try aggregates.aggregate(r.aggregateQuery))
    }

    /// English short name of an ISO 3166-1 code (the dashboard's `countries[].name`).
    public static func countryName(_ code: String) -> String { CountryNames.name(code) }
}
