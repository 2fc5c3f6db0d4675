import GRDB

/// Alert rows (api.md §7.7): CRUD, the evaluator's firing record, history pages, acknowledgement.
extension MetaStore {
    func insertAlert(_ a: AlertRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO alerts (id, site_id, created_by, name, type, metric, operator, threshold, period, compare_with,
                                    sensitivity, notifications, enabled, last_triggered, trigger_count, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [a.id, a.siteId, a.createdBy, a.name, a.type.rawValue, a.metric, a.op?.rawValue, a.threshold,
                                 a.period.rawValue, a.compareWith.rawValue, a.sensitivity.rawValue, a.notificationsJSON,
                                 a.enabled, a.lastTriggered, a.triggerCount, a.createdAt, a.updatedAt])
        }
    }

    func alert(_ id: String) async throws -> AlertRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(AlertRecord.init(row:))
        }
    }

    /// A site's alerts, newest first.
    func alerts(site: String) async throws -> [AlertRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts WHERE site_id = ? ORDER BY created_at DESC, id",
                             arguments: [site]).map(AlertRecord.init(row:))
        }
    }

    /// Every enabled alert (the evaluator's round), oldest first.
    func enabledAlerts() async throws -> [AlertRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts WHERE enabled = 1 ORDER BY created_at, id").map(AlertRecord.init(row:))
        }
    }

    /// Writes the editable fields of `a` and reads the row back in one transaction; nil when the
    /// alert was deleted meanwhile. Firing bookkeeping (`last_triggered`, `trigger_count`) is
    /// left as the evaluator wrote it.
    func updateAlert(_ a: AlertRecord) async throws -> AlertRecord? {
        try await pool.write { db -> AlertRecord? in
            try db.execute(sql: """
                UPDATE alerts SET name = ?, operator = ?, threshold = ?, period = ?, compare_with = ?, sensitivity = ?,
                                  notifications = ?, enabled = ?, updated_at = ? WHERE id = ?
                """, arguments: [a.name, a.op?.rawValue, a.threshold, a.period.rawValue, a.compareWith.rawValue,
                                 a.sensitivity.rawValue, a.notificationsJSON, a.enabled, a.updatedAt, a.id])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [a.id]).map(AlertRecord.init(row:))
        }
    }

    /// Deletes an alert and its history; false when it was already gone.
    func deleteAlert(_ id: String) async throws -> Bool {
        try await pool.write { db -> Bool in
            try db.execute(sql: "DELETE FROM alerts WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// Records a firing, if the alert is still enabled and out of its cool-down: the check and
    /// the write are one statement in one transaction, so two evaluators (or a PATCH disabling
    /// it meanwhile) can't both fire it. Returns false when nothing was recorded.
    func recordTrigger(_ t: AlertTriggerRecord, coolDownMs: Int64) async throws -> Bool {
        try await pool.write { db -> Bool in
            try db.execute(sql: """
                UPDATE alerts SET last_triggered = ?, trigger_count = trigger_count + 1
                WHERE id = ? AND enabled = 1 AND (last_triggered IS NULL OR last_triggered <= ?)
                """, arguments: [t.triggeredAt, t.alertId, t.triggeredAt - coolDownMs])
            guard db.changesCount == 1 else { return false }
            let sent = String(decoding: JSONCoding.write(.array(t.notificationsSent.map { .string($0) })), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO alert_history (id, alert_id, site_id, triggered_at, metric, value, threshold, condition, notifications_sent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [t.id, t.alertId, t.siteId, t.triggeredAt, t.metric, t.value, t.threshold, t.condition, sent])
            return true
        }
    }

    /// One page of an alert's history, newest first, and the total count.
    func alertHistory(_ alertId: String, limit: Int, offset: Int) async throws -> (Int, [AlertTriggerRecord]) {
        try await pool.read { db -> (Int, [AlertTriggerRecord]) in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert_history WHERE alert_id = ?", arguments: [alertId]) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM alert_history WHERE alert_id = ? ORDER BY triggered_at DESC, id DESC LIMIT ? OFFSET ?
                """, arguments: [alertId, limit, offset]).map(AlertTriggerRecord.init(row:))
            return (total, rows)
        }
    }

    /// Marks a firing of `alertId` acknowledged (the first acknowledgement is kept); false when
    /// no such firing exists.
    func acknowledgeTrigger(_ triggerId: String, alertId: String, by userId: String, at nowMs: Int64) async throws -> Bool {
        try await pool.write { db -> Bool in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert_history WHERE id = ? AND alert_id = ?",
                                   arguments: [triggerId, alertId]) == 1 else { return false }
            try db.execute(sql: """
                UPDATE alert_history SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL
                """, arguments: [userId, nowMs, triggerId])
            return true
        }
    }
}
