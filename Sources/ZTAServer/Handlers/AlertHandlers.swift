/// `/api/alerts` (api.md §7.7): CRUD, history, acknowledgement. Reads need a viewer role and a
/// `read` key, writes (and acknowledging) admin/owner and a `write` key (§3; the key scope is
/// checked by the route's auth policy). Checks run in api.md §1's order: parameters as listed in
/// §7.7, then site visibility, role, resource lookups.
extension ServerCore {
    static let alertTypeMessage = "Invalid alert type. Must be: threshold, comparison, or anomaly"
    static let alertPeriodMessage = "Invalid period. Must be: 1h, 24h, or 7d"

    func listAlerts(_ call: Call) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        let (site, _) = try await authorizedSite(call, siteId, minRole: .viewer)
        let alerts = try await meta.alerts(site: site.id)
        return .json(.object([("alerts", .array(alerts.map(\.json)))]))
    }

    func createAlert(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let siteId = body["siteId"]?.stringValue, !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        guard let name = try Self.alertName(body["name"]) else { throw APIError.badRequest("Alert name is required") }
        guard let type = body["type"]?.stringValue.flatMap(AlertType.init(rawValue:)) else {
            throw APIError.badRequest(Self.alertTypeMessage)
        }
        guard let rawMetric = body["metric"], !rawMetric.isNull else { throw APIError.required("metric") }
        guard let metric = rawMetric.stringValue.flatMap(AlertMetric.init) else { throw APIError.badRequest("Invalid metric") }
        guard let notifications = try Self.alertChannels(body["notifications"]) else {
            throw APIError.badRequest("At least one notification channel is required")
        }
        var op: AlertOperator? = nil, threshold: Double? = nil, period = AlertPeriod.hour
        if type != .anomaly {
            // An anomaly ignores operator and threshold, and always looks at the last hour.
            guard let o = body["operator"], !o.isNull else { throw APIError.required("operator") }
            guard let parsed = o.stringValue.flatMap(AlertOperator.init(rawValue:)),
                  type == .threshold || parsed == .greater || parsed == .less else { throw APIError.invalid("operator") }
            op = parsed
            guard let t = body["threshold"], !t.isNull else { throw APIError.badRequest("Threshold is required") }
            guard let value = t.doubleValue, value.isFinite else { throw APIError.invalid("threshold") }
            threshold = value
            guard let p = body["period"], !p.isNull else { throw APIError.required("period") }
            guard let parsedPeriod = p.stringValue.flatMap(AlertPeriod.init(rawValue:)) else {
                throw APIError.badRequest(Self.alertPeriodMessage)
            }
            period = parsedPeriod
        }
        let compareWith = try Self.alertEnum(body["compareWith"], "compareWith", AlertCompareWith.init(rawValue:)) ?? .previousPeriod
        let sensitivity = try Self.alertEnum(body["sensitivity"], "sensitivity", AlertSensitivity.init(rawValue:)) ?? .medium

        let (site, _) = try await authorizedSite(call, siteId, minRole: .admin)
        try await checkAlertTarget(metric, site: site.id)
        let alert = AlertRecord(id: Secrets.id("alert"), siteId: site.id, createdBy: try call.user.id, name: name, type: type,
                                metric: metric.wire, op: op, threshold: threshold, period: period, compareWith: compareWith,
                                sensitivity: sensitivity, notifications: notifications, createdAt: call.nowMs)
        try await meta.insertAlert(alert)
        await recordActivity(call, .alertCreated, target: ActivityTarget(type: "alert", id: alert.id, name: alert.name), siteId: alert.siteId)
        return .json(.object([("alert", alert.json)]), status: .created)
    }

    func updateAlert(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let id = body["id"]?.stringValue, !id.isEmpty else { throw APIError.badRequest("Alert ID required") }
        // Parameters first (api.md §1); the ones whose validity depends on the alert's type are
        // checked once it is found.
        var enabled: Bool? = nil
        if let e = body["enabled"], !e.isNull {
            guard let b = e.boolValue else { throw APIError.invalid("enabled") }
            enabled = b
        }
        var name: String? = nil
        if let n = body["name"], !n.isNull {
            guard let s = try Self.alertName(n) else { throw APIError.badRequest("Alert name is required") }
            name = s
        }
        var op: AlertOperator? = nil
        if let o = body["operator"], !o.isNull {
            guard let parsed = o.stringValue.flatMap(AlertOperator.init(rawValue:)) else { throw APIError.invalid("operator") }
            op = parsed
        }
        var threshold: Double? = nil
        if let t = body["threshold"], !t.isNull {
            guard let v = t.doubleValue, v.isFinite else { throw APIError.invalid("threshold") }
            threshold = v
        }
        var period: AlertPeriod? = nil
        if let p = body["period"], !p.isNull {
            guard let parsed = p.stringValue.flatMap(AlertPeriod.init(rawValue:)) else { throw APIError.badRequest(Self.alertPeriodMessage) }
            period = parsed
        }
        let compareWith = try Self.alertEnum(body["compareWith"], "compareWith", AlertCompareWith.init(rawValue:))
        let sensitivity = try Self.alertEnum(body["sensitivity"], "sensitivity", AlertSensitivity.init(rawValue:))
        var notifications: [AlertChannel]? = nil
        if let n = body["notifications"] {
            guard let channels = try Self.alertChannels(n) else {
                throw APIError.badRequest("At least one notification channel is required")
            }
            notifications = channels
        }

        var alert = try await managedAlert(call, id, minRole: .admin)
        if let enabled { alert.enabled = enabled }
        if let name { alert.name = name }
        if alert.type != .anomaly {
            if let op {
                guard alert.type == .threshold || op == .greater || op == .less else { throw APIError.invalid("operator") }
                alert.op = op
            }
            if let threshold { alert.threshold = threshold }
            if let period { alert.period = period }
        }
        if let compareWith { alert.compareWith = compareWith }
        if let sensitivity { alert.sensitivity = sensitivity }
        if let notifications { alert.notifications = notifications }
        alert.updatedAt = call.nowMs
        guard let saved = try await meta.updateAlert(alert) else { throw APIError(404, "Alert not found") }
        await recordActivity(call, .alertUpdated, target: ActivityTarget(type: "alert", id: saved.id, name: saved.name),
                             siteId: saved.siteId, metadata: Self.activityFields(body))
        return .json(.object([("alert", saved.json)]))
    }

    func deleteAlert(_ call: Call) async throws -> Reply.Out {
        guard let id = call.query["id"], !id.isEmpty else { throw APIError.badRequest("Alert ID required") }
        let alert = try await managedAlert(call, id, minRole: .admin)
        guard try await meta.deleteAlert(alert.id) else { throw APIError(404, "Alert not found") }
        await recordActivity(call, .alertDeleted, target: ActivityTarget(type: "alert", id: alert.id, name: alert.name), siteId: alert.siteId)
        return .ok("Alert deleted successfully")
    }

    func alertHistory(_ call: Call) async throws -> Reply.Out {
        let limit = try pageParam(call.query["limit"], default: 50, range: 1...100)
        let offset = try pageParam(call.query["offset"], default: 0, range: 0...Int(Int32.max), name: "offset")
        let alert = try await managedAlert(call, call.pathParams["id"], minRole: .viewer)
        let (total, rows) = try await meta.alertHistory(alert.id, limit: limit, offset: offset)
        return .json(.object([
            ("alert", .object([("id", .string(alert.id)), ("name", .string(alert.name))])),
            ("history", .array(rows.map(\.json))),
            ("pagination", .object([("total", .int(total)), ("limit", .int(limit)), ("offset", .int(offset)),
                                    ("hasMore", .bool(offset + rows.count < total))])),
        ]))
    }

    func acknowledgeAlert(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let triggerId = body["triggerId"]?.stringValue, !triggerId.isEmpty else {
            throw APIError.badRequest("Trigger ID required")
        }
        let alert = try await managedAlert(call, call.pathParams["id"], minRole: .admin)
        guard try await meta.acknowledgeTrigger(triggerId, alertId: alert.id, by: try call.user.id, at: call.nowMs) else {
            throw APIError(404, "Trigger not found")
        }
        await recordActivity(call, .alertAcknowledged, target: ActivityTarget(type: "alert", id: alert.id, name: alert.name),
                             siteId: alert.siteId, metadata: [("triggerId", .string(triggerId))])
        return .ok()
    }

    /// The alert an id names, if the caller may act on its site with `minRole`: unknown, or of a
    /// site the caller can't see → 404 `Alert not found`; too weak a role → 403.
    func managedAlert(_ call: Call, _ id: String?, minRole: SiteRole) async throws -> AlertRecord {
        guard let id, !id.isEmpty else { throw APIError.badRequest("Alert ID required") }
        guard let alert = try await meta.alert(id) else { throw APIError(404, "Alert not found") }
        _ = try await authorizedSite(call, alert.siteId, minRole: minRole, denied: APIError(404, "Alert not found"))
        return alert
    }

    /// 404 `Goal not found: <id>` / `Funnel not found: <id>` when the metric names a goal or
    /// funnel that is not one of the site's.
    func checkAlertTarget(_ metric: AlertMetric, site: String) async throws {
        if let g = metric.goalId, !(try await alertTargets.goalExists(site: site, id: g, meta: meta)) {
            throw APIError(404, "Goal not found: \(g)")
        }
        if let f = metric.funnelId, !(try await alertTargets.funnelExists(site: site, id: f, meta: meta)) {
            throw APIError(404, "Funnel not found: \(f)")
        }
    }

    /// A present name, trimmed: nil when missing or blank; 400 when not a string or too long.
    static func alertName(_ v: JSONValue?) throws(APIError) -> String? {
        guard let v, !v.isNull else { return nil }
        guard let raw = v.stringValue else { throw APIError.invalid("name") }
        let name = raw.trimmingCharacters(" ")
        if name.isEmpty { return nil }
        // Unicode scalars as sent, as JSON Schema's maxLength counts (graphemes have no byte bound).
        if raw.unicodeScalars.count > 100 { throw APIError.badRequest("name must be at most 100 characters") }
        return name
    }

    /// `notifications`: nil when missing or empty; each entry `email` or `webhook` (duplicates
    /// dropped, first order kept).
    static func alertChannels(_ v: JSONValue?) throws(APIError) -> [AlertChannel]? {
        guard let v, !v.isNull else { return nil }
        guard let arr = v.arrayValue else { throw APIError.invalid("notifications") }
        if arr.isEmpty { return nil }
        var out: [AlertChannel] = []
        for e in arr {
            guard let s = e.stringValue else { throw APIError.invalid("notifications") }
            guard let c = AlertChannel(rawValue: s) else { throw APIError.badRequest("Invalid notification channel: \(s)") }
            if !out.contains(c) { out.append(c) }
        }
        return out
    }

    /// An optional enum field: nil when absent, `Invalid <field>` when not one of its values.
    static func alertEnum<T>(_ v: JSONValue?, _ field: String, _ make: (String) -> T?) throws(APIError) -> T? {
        guard let v, !v.isNull else { return nil }
        guard let t = v.stringValue.flatMap(make) else { throw APIError.invalid(field) }
        return t
    }
}
