import GRDB

/// The events a webhook can subscribe to (api.md §7.8).
public enum WebhookEvent: String, Sendable, CaseIterable {
    case pageview, event, goal, alert
    case sessionEnd = "session_end"
    case activity
    /// Only sent by `POST /api/webhooks/{id}/test`; not subscribable.
    case test

    /// `availableEvents` of `GET /api/webhooks`, in the spec's order.
    static let subscribable: [WebhookEvent] = [.pageview, .event, .goal, .alert, .sessionEnd, .activity]
}

/// A webhook row (api.md §7 `Webhook`).
struct WebhookRecord: Sendable {
    var id: String
    var siteId: String
    var url: String
    var events: [String]
    var description: String?
    var secret: String
    var active: Bool
    var failureCount: Int
    var disabledReason: String?
    var lastTriggered: Int64?
    var createdBy: String?
    var createdAt: Int64
    var updatedAt: Int64

    static let limitPerSite = 10
    static let disabledForFailures = "Too many consecutive failures"
    static let failuresBeforeDisable = 10

    init(row: Row) {
        id = row["id"]; siteId = row["site_id"]; url = row["url"]; description = row["description"]
        secret = row["secret"]; active = row["active"]; failureCount = row["failure_count"]
        disabledReason = row["disabled_reason"]; lastTriggered = row["last_triggered"]; createdBy = row["created_by"]
        createdAt = row["created_at"]; updatedAt = row["updated_at"]
        let raw: String = row["events"]
        events = JSONCoding.parse(Array(raw.utf8))?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    init(id: String, siteId: String, url: String, events: [String], description: String?, secret: String,
         createdBy: String?, createdAt: Int64) {
        self.id = id; self.siteId = siteId; self.url = url; self.events = events; self.description = description
        self.secret = secret; active = true; failureCount = 0; disabledReason = nil; lastTriggered = nil
        self.createdBy = createdBy; self.createdAt = createdAt; updatedAt = createdAt
    }

    static func eventsJSON(_ events: [String]) -> String {
        String(decoding: JSONCoding.write(.array(events.map { .string($0) })), as: UTF8.self)
    }

    /// The API object, without the secret.
    var json: [(String, JSONValue)] {
        [("id", .string(id)), ("siteId", .string(siteId)), ("url", .string(url)),
         ("events", .array(events.map { .string($0) })), ("description", .optional(description)),
         ("active", .bool(active)), ("failureCount", .int(failureCount)),
         ("disabledReason", .optional(disabledReason)), ("lastTriggered", Clock.isoValue(lastTriggered)),
         ("createdAt", .string(Clock.iso(createdAt))), ("updatedAt", .string(Clock.iso(updatedAt)))]
    }
}

/// The fields `PATCH /api/webhooks` may change (nil: unchanged).
struct WebhookChanges: Sendable {
    var url: String?
    var events: [String]?
    /// `.some(nil)`: cleared.
    var description: String??
    var active: Bool?
}

/// Webhook rows in the metadata store. Writes that depend on a count (the 10-per-site limit)
/// or on the previous state (failure counting) happen inside one write transaction.
extension MetaStore {
    enum WebhookInsert: Sendable { case inserted(WebhookRecord), limitReached }

    func webhook(id: String) async throws -> WebhookRecord? {
        try await pool.read { db in try Self.webhook(db, id) }
    }

    static func webhook(_ db: GRDB.Database, _ id: String) throws -> WebhookRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM webhooks WHERE id = ?", arguments: [id]).map(WebhookRecord.init(row:))
    }

    func webhooks(siteId: String) async throws -> [WebhookRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhooks WHERE site_id = ? ORDER BY created_at, id", arguments: [siteId])
                .map(WebhookRecord.init(row:))
        }
    }

    /// Every active webhook (loaded once at start into the delivery registry).
    func activeWebhooks() async throws -> [WebhookRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhooks WHERE active = 1 ORDER BY site_id, created_at, id")
                .map(WebhookRecord.init(row:))
        }
    }

    /// Inserts unless the site already has `WebhookRecord.limitPerSite` webhooks (counted in the
    /// same transaction, so concurrent creations can't overshoot).
    func insertWebhook(_ w: WebhookRecord) async throws -> WebhookInsert {
        try await pool.write { db in
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhooks WHERE site_id = ?", arguments: [w.siteId]) ?? 0
            if n >= WebhookRecord.limitPerSite { return .limitReached }
            try db.execute(sql: """
                INSERT INTO webhooks (id, site_id, url, events, description, secret, active, failure_count, created_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?)
                """, arguments: [w.id, w.siteId, w.url, WebhookRecord.eventsJSON(w.events), w.description, w.secret,
                                 w.createdBy, w.createdAt, w.updatedAt])
            return .inserted(w)
        }
    }

    /// Applies `changes`; `active: true` resets `failureCount` and `disabledReason`. Nil when
    /// the webhook is gone.
    func updateWebhook(id: String, _ changes: WebhookChanges, nowMs: Int64) async throws -> WebhookRecord? {
        try await pool.write { db in
            guard var w = try Self.webhook(db, id) else { return nil }
            if let url = changes.url { w.url = url }
            if let events = changes.events { w.events = events }
            if let d = changes.description { w.description = d }
            if let active = changes.active {
                if active {
                    w.failureCount = 0
                    w.disabledReason = nil
                }
                w.active = active
            }
            w.updatedAt = nowMs
            try db.execute(sql: """
                UPDATE webhooks SET url = ?, events = ?, description = ?, active = ?, failure_count = ?, disabled_reason = ?,
                updated_at = ? WHERE id = ?
                """, arguments: [w.url, WebhookRecord.eventsJSON(w.events), w.description, w.active, w.failureCount,
                                 w.disabledReason, w.updatedAt, w.id])
            return w
        }
    }

    func deleteWebhook(id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM webhooks WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// What a finished delivery did to its webhook.
    enum DeliveryEffect: Sendable, Equatable { case unchanged, failureCounted(Int), disabled }

    /// Records a delivery's outcome: a success resets `failureCount` (and stamps
    /// `lastTriggered`); a failure increments it and the 10th consecutive one disables the webhook.
    func recordDelivery(webhookId: String, success: Bool, nowMs: Int64) async throws -> DeliveryEffect {
        try await pool.write { db in
            if success {
                try db.execute(sql: "UPDATE webhooks SET failure_count = 0, last_triggered = ? WHERE id = ?",
                               arguments: [nowMs, webhookId])
                return .unchanged
            }
            guard let w = try Self.webhook(db, webhookId), w.active else { return .unchanged }
            let n = w.failureCount + 1
            if n >= WebhookRecord.failuresBeforeDisable {
                try db.execute(sql: """
                    UPDATE webhooks SET failure_count = ?, active = 0, disabled_reason = ?, last_triggered = ?, updated_at = ? WHERE id = ?
                    """, arguments: [n, WebhookRecord.disabledForFailures, nowMs, nowMs, webhookId])
                return .disabled
            }
            try db.execute(sql: "UPDATE webhooks SET failure_count = ?, last_triggered = ? WHERE id = ?",
                           arguments: [n, nowMs, webhookId])
            return .failureCounted(n)
        }
    }
}
