import GRDB
import Prometheus
import ZTAEngine

/// Every action of api.md §7.10; raw value = the logged `action`, its prefix before the first dot = `type`
/// unless `type` says otherwise (e.g. share.* are type "site").
enum ActivityAction: String, Sendable, CaseIterable {
    case authLogin = "auth.login", authLogout = "auth.logout", authFailedLogin = "auth.failed_login",
         authPasswordChanged = "auth.password_changed", authPasswordReset = "auth.password_reset",
         auth2FAEnabled = "auth.2fa_enabled", auth2FADisabled = "auth.2fa_disabled"
    case sessionRevoked = "session.revoked", sessionsBulkRevoked = "sessions.bulk_revoked"
    case siteCreated = "site.created", siteUpdated = "site.updated", siteDeleted = "site.deleted"
    case shareCreated = "share.created", shareRevoked = "share.revoked"
    case teamMemberInvited = "team.member_invited", teamMemberAccepted = "team.member_accepted",
         teamMemberDeclined = "team.member_declined", teamMemberRemoved = "team.member_removed",
         teamRoleChanged = "team.role_changed", teamOwnershipTransferred = "team.ownership_transferred"
    case apiKeyCreated = "api_key.created", apiKeyRevoked = "api_key.revoked"
    case goalCreated = "goal.created", goalUpdated = "goal.updated", goalDeleted = "goal.deleted"
    case funnelCreated = "funnel.created", funnelUpdated = "funnel.updated", funnelDeleted = "funnel.deleted"
    case annotationCreated = "annotation.created", annotationUpdated = "annotation.updated", annotationDeleted = "annotation.deleted"
    case alertCreated = "alert.created", alertUpdated = "alert.updated", alertDeleted = "alert.deleted",
         alertTriggered = "alert.triggered", alertAcknowledged = "alert.acknowledged"
    case webhookCreated = "webhook.created", webhookUpdated = "webhook.updated", webhookDeleted = "webhook.deleted",
         webhookFailed = "webhook.failed", webhookDisabled = "webhook.disabled"
    case exportRequested = "export.requested"
    case importCompleted = "import.completed", importDeleted = "import.deleted"

    /// The logged `type` (api.md §7.10 groups session.* under auth and share.* under site).
    var type: String {
        switch self {
        case .sessionRevoked, .sessionsBulkRevoked: return "auth"
        case .shareCreated, .shareRevoked: return "site"
        default:
            return rawValue.split(separator: ".", maxSplits: 1).first.map(String.init) ?? rawValue
        }
    }

    /// Every `type` an entry can have: the values `GET /api/activity-log?type=` accepts.
    static let types: Set<String> = Set(allCases.map(\.type))
}

/// What an action acted on (Activity.target of api.md §7).
struct ActivityTarget: Sendable {
    var type: String
    var id: String?
    var name: String?
    var email: String?

    init(type: String, id: String? = nil, name: String? = nil, email: String? = nil) {
        self.type = type; self.id = id; self.name = name; self.email = email
    }
}

/// One row of `activity_log`, as written and as read back.
struct ActivityEntry: Sendable {
    var id: String
    var timestamp: Int64
    var type: String
    var action: String
    var actorId: String?
    var actorEmail: String?
    var actorName: String?
    var target: ActivityTarget
    /// A JSON object, as text.
    var metadata: String
    var siteId: String?
    /// `a.b.***.***` (never the raw address); empty for entries without a request (the alert
    /// evaluator, webhook deliveries).
    var ipMasked: String
    /// The parsed device label ("Chrome on macOS"), never the raw User-Agent; empty without a request.
    var device: String

    init(id: String, timestamp: Int64, type: String, action: String, actorId: String?, actorEmail: String?,
         actorName: String?, target: ActivityTarget, metadata: String, siteId: String?, ipMasked: String, device: String) {
        self.id = id; self.timestamp = timestamp; self.type = type; self.action = action
        self.actorId = actorId; self.actorEmail = actorEmail; self.actorName = actorName; self.target = target
        self.metadata = metadata; self.siteId = siteId; self.ipMasked = ipMasked; self.device = device
    }

    init(row: Row) {
        id = row["id"]; timestamp = row["timestamp"]; type = row["type"]; action = row["action"]
        actorId = row["actor_id"]; actorEmail = row["actor_email"]; actorName = row["actor_name"]
        target = ActivityTarget(type: row["target_type"], id: row["target_id"], name: row["target_name"],
                                email: row["target_email"])
        metadata = row["metadata"]; siteId = row["site_id"]
        let ip: String? = row["ip_masked"], dev: String? = row["device"]
        ipMasked = ip ?? ""; device = dev ?? ""
    }

    /// api.md §7 `Activity`.
    var json: JSONValue {
        var actor: JSONValue = .null
        if let actorId {
            actor = .object([("id", .string(actorId)), ("email", .optional(actorEmail)), ("name", .optional(actorName))])
        }
        var t: [(String, JSONValue)] = [("type", .string(target.type))]
        if let v = target.id { t.append(("id", .string(v))) }
        if let v = target.name { t.append(("name", .string(v))) }
        if let v = target.email { t.append(("email", .string(v))) }
        let meta = JSONCoding.parse(Array(metadata.utf8)).flatMap { $0.isObject ? $0 : nil } ?? .object([])
        return .object([("id", .string(id)), ("timestamp", .string(Clock.iso(timestamp))), ("type", .string(type)),
                        ("action", .string(action)), ("actor", actor), ("target", .object(t)), ("metadata", meta),
                        ("siteId", .optional(siteId)), ("ipAddress", .string(ipMasked)), ("userAgent", .string(device))])
    }

    func insert(_ db: GRDB.Database) throws {
        try db.execute(sql: """
            INSERT INTO activity_log (id, timestamp, type, action, actor_id, actor_email, actor_name, target_type,
                target_id, target_name, target_email, metadata, site_id, ip_masked, device)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, timestamp, type, action, actorId, actorEmail, actorName, target.type, target.id,
                             target.name, target.email, metadata, siteId, ipMasked, device])
    }
}

extension MetaStore {
    /// The activity log (api.md §7.10). A site's entries go with the site (`ON DELETE CASCADE`);
    /// the actor is a snapshot (id, e-mail, name), not a foreign key, so other members keep the
    /// history of a user who left or deleted the account.
    static func registerActivityLog(_ m: inout DatabaseMigrator) {
        m.registerMigration("v_activity") { db in
            try db.execute(sql: """
                CREATE TABLE activity_log (
                    id TEXT PRIMARY KEY,
                    timestamp INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    action TEXT NOT NULL,
                    actor_id TEXT,
                    actor_email TEXT,
                    actor_name TEXT,
                    target_type TEXT NOT NULL,
                    target_id TEXT,
                    target_name TEXT,
                    target_email TEXT,
                    metadata TEXT NOT NULL DEFAULT '{}',
                    site_id TEXT REFERENCES sites(id) ON DELETE CASCADE,
                    ip_masked TEXT,
                    device TEXT
                );
                CREATE INDEX activity_log_site ON activity_log(site_id, timestamp);
                CREATE INDEX activity_log_actor ON activity_log(actor_id, timestamp);
                CREATE INDEX activity_log_time ON activity_log(timestamp);
                """)
        }
    }
}

extension ServerCore {
    /// Records `action` by the call's principal (or `actor` when the call has none, e.g. a login),
    /// with the masked client IP and parsed device label login sessions use. Never throws: a failure is
    /// logged and counted, the user's action still succeeds.
    func recordActivity(_ call: Call?, _ action: ActivityAction, target: ActivityTarget, siteId: String? = nil,
                        metadata: [(String, JSONValue)] = [], actor: UserRecord? = nil) async {
        let who = call?.principal?.user ?? actor
        var details = metadata
        // An API key acts as its user; which key did it is worth keeping (its id, never the secret).
        if let key = call?.principal?.apiKey, !details.contains(where: { $0.0 == "apiKeyId" }) {
            details.append(("apiKeyId", .string(key.id)))
        }
        let entry = ActivityEntry(
            id: Secrets.id("act"), timestamp: call?.nowMs ?? Clock.nowMs(), type: action.type, action: action.rawValue,
            actorId: who?.id, actorEmail: who?.email, actorName: who?.name, target: target,
            metadata: String(decoding: JSONCoding.write(.object(details)), as: UTF8.self), siteId: siteId,
            ipMasked: call.map { ClientAddressResolver.masked($0.clientIP) } ?? "",
            device: call.map { UserAgentParser.parse($0.header("User-Agent") ?? "").label } ?? "")
        await recordActivity(entry)
    }

    /// Writes a prepared entry and, for a site's entry, queues the `activity` webhook event
    /// (api.md §7.8). Never throws (see above).
    func recordActivity(_ entry: ActivityEntry) async {
        do {
            try await meta.pool.write { db in try entry.insert(db) }
        } catch {
            // Typically the site was deleted between the action and this write (the FK refuses it).
            metrics.activityRecordFailed()
            logger.error("activity log write failed", metadata: ["action": "\(entry.action)", "error": "\(error)"])
            return
        }
        if let siteId = entry.siteId {
            emitWebhook(siteId: siteId, event: .activity, data: entry.json)
        }
    }
}

extension ServerMetrics {
    /// Activity entries that could not be written (`zta_activity_log_failures_total`).
    func activityRecordFailed() {
        registry.makeCounter(descriptor: Self.name("zta_activity_log_failures_total", "Activity log entries not written"))
            .increment()
    }
}
