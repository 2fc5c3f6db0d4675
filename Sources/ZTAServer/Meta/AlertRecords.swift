import GRDB

/// An alert (api.md §7.7), as stored in `alerts`.
struct AlertRecord: Sendable {
    var id: String
    var siteId: String
    /// The user who created it (e-mailed when it fires); nil once that account is deleted.
    var createdBy: String?
    var name: String
    var type: AlertType
    var metric: String
    var op: AlertOperator?
    var threshold: Double?
    var period: AlertPeriod
    var compareWith: AlertCompareWith
    var sensitivity: AlertSensitivity
    var notifications: [AlertChannel]
    var enabled: Bool
    var lastTriggered: Int64?
    var triggerCount: Int
    var createdAt: Int64
    var updatedAt: Int64

    init(id: String, siteId: String, createdBy: String?, name: String, type: AlertType, metric: String,
         op: AlertOperator?, threshold: Double?, period: AlertPeriod, compareWith: AlertCompareWith,
         sensitivity: AlertSensitivity, notifications: [AlertChannel], createdAt: Int64) {
        self.id = id; self.siteId = siteId; self.createdBy = createdBy; self.name = name; self.type = type
        self.metric = metric; self.op = op; self.threshold = threshold; self.period = period
        self.compareWith = compareWith; self.sensitivity = sensitivity; self.notifications = notifications
        self.enabled = true; self.lastTriggered = nil; self.triggerCount = 0
        self.createdAt = createdAt; self.updatedAt = createdAt
    }

    /// Rows written by this server only; an unreadable enum value (a hand-edited database)
    /// falls back to the default rather than trapping.
    init(row: Row) {
        id = row["id"]; siteId = row["site_id"]; createdBy = row["created_by"]; name = row["name"]
        type = AlertType(rawValue: row["type"]) ?? .threshold
        metric = row["metric"]
        op = (row["operator"] as String?).flatMap(AlertOperator.init(rawValue:))
        threshold = row["threshold"]
        period = AlertPeriod(rawValue: row["period"]) ?? .hour
        compareWith = AlertCompareWith(rawValue: row["compare_with"]) ?? .previousPeriod
        sensitivity = AlertSensitivity(rawValue: row["sensitivity"]) ?? .medium
        let raw: String = row["notifications"]
        notifications = (JSONCoding.parse(Array(raw.utf8))?.arrayValue ?? [])
            .compactMap { $0.stringValue.flatMap(AlertChannel.init(rawValue:)) }
        enabled = row["enabled"]; lastTriggered = row["last_triggered"]; triggerCount = row["trigger_count"]
        createdAt = row["created_at"]; updatedAt = row["updated_at"]
    }

    var notificationsJSON: String {
        String(decoding: JSONCoding.write(.array(notifications.map { .string($0.rawValue) })), as: UTF8.self)
    }

    var condition: String {
        AlertCondition.text(type: type, metric: metric, op: op, threshold: threshold, sensitivity: sensitivity)
    }

    /// api.md §7 Alert: the create fields with defaults applied, `id`, timestamps, `condition`,
    /// `enabled`, `lastTriggered`, `triggerCount`. An anomaly has no operator or threshold (null).
    var json: JSONValue {
        .object([
            ("id", .string(id)), ("siteId", .string(siteId)), ("name", .string(name)), ("type", .string(type.rawValue)),
            ("metric", .string(metric)),
            ("notifications", .array(notifications.map { .string($0.rawValue) })),
            ("operator", op.map { JSONValue.string($0.rawValue) } ?? .null),
            ("threshold", threshold.map { JSONValue.double($0) } ?? .null),
            ("period", .string(period.rawValue)), ("compareWith", .string(compareWith.rawValue)),
            ("sensitivity", .string(sensitivity.rawValue)),
            ("condition", .string(condition)), ("enabled", .bool(enabled)),
            ("lastTriggered", Clock.isoValue(lastTriggered)), ("triggerCount", .int(triggerCount)),
            ("createdAt", .string(Clock.iso(createdAt))), ("updatedAt", .string(Clock.iso(updatedAt))),
        ])
    }
}

/// One firing of an alert (`GET /api/alerts/{id}/history`).
struct AlertTriggerRecord: Sendable {
    var id: String
    var alertId: String
    var siteId: String
    var triggeredAt: Int64
    var metric: String
    var value: Double
    var threshold: Double?
    var condition: String
    var notificationsSent: [String]
    var acknowledgedBy: String?
    var acknowledgedAt: Int64?

    init(id: String, alertId: String, siteId: String, triggeredAt: Int64, metric: String, value: Double,
         threshold: Double?, condition: String, notificationsSent: [String]) {
        self.id = id; self.alertId = alertId; self.siteId = siteId; self.triggeredAt = triggeredAt
        self.metric = metric; self.value = value; self.threshold = threshold; self.condition = condition
        self.notificationsSent = notificationsSent; self.acknowledgedBy = nil; self.acknowledgedAt = nil
    }

    init(row: Row) {
        id = row["id"]; alertId = row["alert_id"]; siteId = row["site_id"]; triggeredAt = row["triggered_at"]
        metric = row["metric"]; value = row["value"]; threshold = row["threshold"]; condition = row["condition"]
        let raw: String = row["notifications_sent"]
        notificationsSent = (JSONCoding.parse(Array(raw.utf8))?.arrayValue ?? []).compactMap(\.stringValue)
        acknowledgedBy = row["acknowledged_by"]; acknowledgedAt = row["acknowledged_at"]
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("triggeredAt", .string(Clock.iso(triggeredAt))), ("metric", .string(metric)),
            ("value", .double(value)), ("threshold", threshold.map { JSONValue.double($0) } ?? .null),
            ("condition", .string(condition)),
            ("notificationsSent", .array(notificationsSent.map { .string($0) })),
            ("acknowledged", .bool(acknowledgedAt != nil)),
            ("acknowledgedBy", .optional(acknowledgedBy)), ("acknowledgedAt", Clock.isoValue(acknowledgedAt)),
        ])
    }
}
