import Foundation
import Logging
import ZTAEngine
import ZTAQuery

/// Sends the `alert` webhook event (api.md §7.8) of a firing; the webhooks feature supplies it.
protocol AlertWebhookSink: Sendable {
    /// Whether the site has an active webhook subscribed to `alert`.
    func wantsAlert(site: String) async -> Bool
    /// Queues the event `data` for the site's `alert` webhooks (never waits for delivery).
    func emitAlert(site: String, data: JSONValue) async
}

/// The site's webhooks (api.md §7.8): the ones subscribed to `alert` get the event, queued
/// without waiting for delivery.
struct WebhookAlertSink: AlertWebhookSink {
    let service: WebhookService

    func wantsAlert(site: String) async -> Bool {
        service.hooks(siteId: site).contains { $0.subscribes(to: .alert) }
    }

    func emitAlert(site: String, data: JSONValue) async {
        service.emit(siteId: site, event: .alert, data: data)
    }
}

/// Why an alert fires: the value compared (the metric, or the % change of a comparison) and the
/// threshold it was compared with (nil for an anomaly).
struct AlertVerdict: Sendable, Equatable {
    var value: Double
    var threshold: Double?
}

/// Anomaly detection of api.md §7.7: the current value against the same hour of previous days.
enum AnomalyRule {
    /// Days of history needed before an anomaly can fire.
    static let minimumDays = 7
    /// Days looked back.
    static let days = 28

    /// Fires when at least `minimumDays` of `history` (values of the hours that had data) exist
    /// and |value − mean| ≥ k · stddev (population). A value equal to the mean never fires (with a
    /// flat history, stddev 0, any other value does).
    static func fires(value: Double, history: [Double], k: Double) -> Bool {
        guard history.count >= minimumDays else { return false }
        let n = Double(history.count)
        let mean = history.reduce(0, +) / n
        let variance = history.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let deviation = abs(value - mean)
        return deviation > 0 && deviation >= k * variance.squareRoot()
    }
}

extension ServerCore {
    /// One evaluation round at `nowMs` (api.md §7.7, every 5 minutes from `AlertService`; tests
    /// call it with simulated times): every enabled alert out of its cool-down is checked on
    /// `[now − period, now)` and fired when its rule holds. Returns the firings recorded.
    @discardableResult
    func evaluateAlerts(nowMs: Int64) async -> [AlertTriggerRecord] {
        let alerts: [AlertRecord]
        do { alerts = try await meta.enabledAlerts() } catch {
            logger.error("alert evaluation: cannot read alerts", metadata: ["error": "\(error)"])
            return []
        }
        var fired: [AlertTriggerRecord] = []
        for alert in alerts {
            // Cool-down first: no query for an alert that could not fire anyway.
            if let last = alert.lastTriggered, nowMs - last < alert.type.coolDownMs { continue }
            do {
                guard let site = try await site(alert.siteId),
                      let verdict = try await checkAlert(alert, site: site, nowMs: nowMs) else { continue }
                if let t = try await fireAlert(alert, verdict, nowMs: nowMs) { fired.append(t) }
            } catch {
                // A busy query gate (503) or a failed query skips this alert until the next round.
                logger.warning("alert evaluation failed", metadata: ["alert": "\(alert.id)", "error": "\(error)"])
            }
        }
        return fired
    }

    /// The verdict when `alert`'s rule holds at `nowMs`, nil when it does not (or can't be
    /// evaluated: a comparison with a zero baseline, an anomaly with < 7 days of history, a
    /// goal or funnel deleted since).
    func checkAlert(_ alert: AlertRecord, site: SiteRecord, nowMs: Int64) async throws -> AlertVerdict? {
        guard let metric = AlertMetric(alert.metric), let tz = SiteTimeZone(site.timezone) else { return nil }
        let events = self.events
        let siteId = site.id
        // Traffic metrics read the typed summary; goal and funnel metrics come from their feature.
        let valueOf: @Sendable (TimeWindow) throws -> Double
        if let base = Self.summaryValue(metric) {
            valueOf = { w in base(try events.queries.summary(site: siteId, window: w)) }
        } else if let f = try await alertTargets.valueFunction(metric, site: site, db: events, meta: meta) {
            valueOf = f
        } else {
            return nil
        }
        let window: @Sendable (Int64, Int64) -> TimeWindow = { from, to in TimeWindow(from: from, to: to, timeZone: tz) }
        switch alert.type {
        case .threshold:
            guard let op = alert.op, let threshold = alert.threshold else { return nil }
            let p = alert.period.ms
            let value = try await queryGate.run { try valueOf(window(nowMs - p, nowMs)) }
            return op.holds(value, threshold) ? AlertVerdict(value: value, threshold: threshold) : nil
        case .comparison:
            guard let op = alert.op, let threshold = alert.threshold else { return nil }
            let p = alert.period.ms, shift = alert.compareWith.shiftMs(alert.period)
            let (cur, base) = try await queryGate.run {
                (try valueOf(window(nowMs - p, nowMs)), try valueOf(window(nowMs - shift - p, nowMs - shift)))
            }
            if base == 0 { return nil }  // no baseline, no % change
            let change = 100 * (cur - base) / base
            let rounded = (change * 100).rounded(.toNearestOrAwayFromZero) / 100
            return op.holds(change, threshold) ? AlertVerdict(value: rounded, threshold: threshold) : nil
        case .anomaly:
            // The hour just ended and the same hour of each of the 28 days before, oldest first.
            let hour: Int64 = 3_600_000, day: Int64 = 86_400_000
            let windows = (0...AnomalyRule.days).reversed().map { k in window(nowMs - Int64(k) * day - hour, nowMs - Int64(k) * day) }
            let isTraffic = Self.summaryValue(metric) != nil
            let (values, hadData) = try await queryGate.run { () -> ([Double], [Bool]) in
                // One scan for the 29 hours' traffic (which hours had data at all).
                let sums = try events.queries.summaries(site: siteId, windows: windows)
                let hadData = sums.map { $0.pageviews > 0 || $0.events > 0 || $0.sessions > 0 }
                let values = try isTraffic ? sums.map { Self.summaryValue(metric)?($0) ?? 0 } : windows.map(valueOf)
                return (values, hadData)
            }
            guard let current = values.last else { return nil }
            let history = zip(values.dropLast(), hadData.dropLast()).filter { $0.1 }.map(\.0)
            return AnomalyRule.fires(value: current, history: history, k: alert.sensitivity.k)
                ? AlertVerdict(value: current, threshold: nil) : nil
        }
    }

    /// The traffic metric read from a summary (`SummaryMetrics`), nil for goal/funnel metrics.
    static func summaryValue(_ m: AlertMetric) -> (@Sendable (SummaryMetrics) -> Double)? {
        switch m {
        case .pageviews: { Double($0.pageviews) }
        case .uniqueVisitors: { Double($0.uniqueVisitors) }
        case .sessions: { Double($0.sessions) }
        case .bounceRate: { $0.bounceRate }
        case .avgSessionDuration: { Double($0.avgSessionDuration) }
        default: nil
        }
    }

    /// Records a firing (the cool-down re-checked in the same write, so it is reserved before
    /// anything is sent), then "e-mails" the creator and emits the `alert` webhook event.
    func fireAlert(_ alert: AlertRecord, _ v: AlertVerdict, nowMs: Int64) async throws -> AlertTriggerRecord? {
        let creator = try await alert.createdBy.asyncFlatMap { try await userById($0) }
        let hooks = alertWebhooks.withLock { $0 }
        var sent: [String] = []
        if alert.notifications.contains(.email), creator != nil { sent.append(AlertChannel.email.rawValue) }
        if alert.notifications.contains(.webhook), await hooks.wantsAlert(site: alert.siteId) {
            sent.append(AlertChannel.webhook.rawValue)
        }
        let trigger = AlertTriggerRecord(id: Secrets.id("trigger"), alertId: alert.id, siteId: alert.siteId, triggeredAt: nowMs,
                                         metric: alert.metric, value: v.value, threshold: v.threshold,
                                         condition: alert.condition, notificationsSent: sent)
        guard try await meta.recordTrigger(trigger, coolDownMs: alert.type.coolDownMs) else { return nil }
        await recordSystemActivity(.alertTriggered, target: ActivityTarget(type: "alert", id: alert.id, name: alert.name),
                                   siteId: alert.siteId, metadata: [("triggerId", .string(trigger.id)),
                                                                    ("condition", .string(alert.condition)),
                                                                    ("value", .double(v.value))], nowMs: nowMs)
        if sent.contains(AlertChannel.email.rawValue), let creator { mailAlert(alert, trigger, to: creator) }
        if sent.contains(AlertChannel.webhook.rawValue) {
            await hooks.emitAlert(site: alert.siteId, data: .object([
                ("siteId", .string(alert.siteId)), ("alertId", .string(alert.id)), ("alertName", .string(alert.name)),
                ("condition", .string(alert.condition)), ("metric", .string(alert.metric)),
                ("currentValue", .double(v.value)), ("threshold", v.threshold.map { JSONValue.double($0) } ?? .null),
                ("operator", alert.op.map { JSONValue.string($0.rawValue) } ?? .null),
            ]))
        }
        return trigger
    }

    /// The alert e-mail. No SMTP in this build: as with password reset links (api.md §2 note 2),
    /// `--dev-mail-log` writes the message (recipient included) to the log; otherwise the log
    /// only says that one was due, naming the user by id.
    func mailAlert(_ alert: AlertRecord, _ t: AlertTriggerRecord, to user: UserRecord) {
        let subject = "Alert: \(alert.name)"
        let text = "\(alert.condition) — value \(AlertCondition.number(t.value)) at \(Clock.iso(t.triggeredAt))"
        if config.logResetLinks {
            logger.notice("alert e-mail (no SMTP configured)", metadata: [
                "to": "\(user.email)", "subject": "\(subject)", "body": "\(text)", "alert": "\(alert.id)", "trigger": "\(t.id)",
            ])
        } else {
            logger.notice("alert e-mail due (no SMTP configured; --dev-mail-log writes it)",
                          metadata: ["user": "\(user.id)", "alert": "\(alert.id)", "trigger": "\(t.id)"])
        }
    }
}

extension Optional {
    /// `flatMap` with an async transform.
    func asyncFlatMap<U>(_ f: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let w = self else { return nil }
        return try await f(w)
    }
}
