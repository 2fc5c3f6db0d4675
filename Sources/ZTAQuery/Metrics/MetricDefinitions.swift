/// Every metric of events.md §3 and api.md §7.5/§7.6, in one place: each is either defined here
/// or named here with the single function that computes it ("how is X computed" is one hop).
/// Rates and means are exact integer ratios rounded half away from zero (`Rounding`).
///
/// events.md §3, over what the filters kept (`AggregateExecutor` runs the pass; the additive
/// parts are the fields of `GroupAcc`, the derived ones its computed properties):
/// - `pageviews`, `events`: kept `pageview` / `event` rows — `GroupAcc.pageviews` / `.events`,
///   summed per session block by `SessionFold.fold` (row-level groups: `SessionPass`).
/// - `visitors`: distinct `visitor` of kept pageview/event rows — `GroupAcc.visitors`, counted
///   from the session table's distinct (group, visitor) pairs in `AggregateExecutor` (per
///   bucket: per (bucket, visitor)).
/// - `sessions` / `bounces` / `visit_duration` / `views_per_visit`: counting sessions and their
///   properties (bounce: one pageview and no event; duration: max − min ts over all events) —
///   `GroupAcc.sessions`, `.bounces`, `.durMs`, `.spv`; derived by `bounceRate1dp`,
///   `visitDuration`, `viewsPerVisit2dp` below.
/// - `avg_time_on_page`: `GroupAcc.engSum / engCnt` over engagement rows with time_on_page > 0.
/// - `conversions` / `conversion_rate` (goals): `GoalFolds.stats` with `goalConversionRate1dp`.
///
/// api.md §7.5 (goals), from the rows of `ConversionScan`: `GoalFolds.stats` counts
/// `completions` (kept completion events), `uniqueCompletions` (distinct completing visitors),
/// `visitors`, the value sum, and the per-day / per-source / per-page groups; the formulas are
/// below. api.md §7.6 (funnels): `FunnelFolds.bestRun` (depth and best run per visitor) and
/// `FunnelFolds.stats` (visitors per step, times), with the formulas below.
enum MetricDefinitions {
    // MARK: events.md §3

    /// `bounce_rate` = 100 × bounces / sessions, 1dp (0 without sessions).
    static func bounceRate1dp(bounces: Int64, sessions: Int64) -> Int64 {
        Rounding.fixed(bounces, sessions, times: 100, decimals: 1)
    }

    /// `visit_duration` = mean session duration in seconds, rounded.
    static func visitDuration(durationMs: Int64, sessions: Int64) -> Int64 {
        Rounding.divide(durationMs, sessions &* 1000)
    }

    /// `views_per_visit` = kept pageviews of counted sessions / sessions, 2dp.
    static func viewsPerVisit2dp(pageviews: Int64, sessions: Int64) -> Int64 {
        Rounding.fixed(pageviews, sessions, times: 1, decimals: 2)
    }

    /// `avg_time_on_page` = mean positive `time_on_page` of kept engagement rows, rounded.
    static func avgTimeOnPage(sum: Int64, count: Int64) -> Int64 { Rounding.divide(sum, count) }

    // MARK: api.md §7.5 goals

    /// `conversionRate` (goal, day, source or page group) = 100 × completing visitors / visitors, 1dp.
    static func goalConversionRate1dp(completers: Int64, visitors: Int64) -> Int64 {
        Rounding.fixed(completers, visitors, times: 100, decimals: 1)
    }

    /// `totalValue` = Σ completion values (event goals: the event's non-zero `value`, else the
    /// goal's; `GoalMatcher.completionValue`), 2dp.
    static func totalValue2dp(_ sum: Double) -> Int64 { Rounding.fixed(sum, decimals: 2) }

    /// `avgValue` = totalValue / completions (0 without completions), 2dp.
    static func avgValue2dp(_ sum: Double, completions: Int64) -> Int64 {
        completions == 0 ? 0 : Rounding.fixed(sum / Double(completions), decimals: 2)
    }

    // MARK: api.md §7.6 funnels

    /// `overallConversionRate` and a day's `conversionRate` = 100 × completions / visitors, 2dp.
    static func funnelConversionRate2dp(completions: Int64, visitors: Int64) -> Int64 {
        Rounding.fixed(completions, visitors, times: 100, decimals: 2)
    }

    /// `dropOffRate` = 100 × dropOff / visitors(k−1), 1dp (0 at k = 1 or without visitors).
    static func dropOffRate1dp(dropOff: Int64, previous: Int64) -> Int64 {
        Rounding.fixed(dropOff, previous, times: 100, decimals: 1)
    }

    /// `progressRate` = 100 × visitors(k) / visitors(1), 1dp.
    static func progressRate1dp(visitors: Int64, first: Int64) -> Int64 {
        Rounding.fixed(visitors, first, times: 100, decimals: 1)
    }

    /// `avgTimeOnStep`, `avgTimeToComplete`: mean of exact millisecond differences, in seconds
    /// rounded (0 when there is nothing to average).
    static func meanSeconds(totalMs: Int64, count: Int64) -> Int64 {
        Rounding.divide(totalMs, count &* 1000)
    }
}
