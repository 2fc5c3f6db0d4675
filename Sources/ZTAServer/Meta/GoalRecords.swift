import GRDB
import ZTAQuery

/// A stored goal (api.md §7.5), site-scoped.
struct GoalRecord: Sendable {
    var id: String
    var siteId: String
    var name: String
    var type: GoalType
    var path: String?
    var matchType: MatchType
    var eventAction: String?
    var eventCategory: String?
    var eventLabel: String?
    var durationSeconds: Int?
    var value: Double
    var createdAt: Int64
    var updatedAt: Int64

    init(id: String, siteId: String, name: String, type: GoalType, path: String?, matchType: MatchType,
         eventAction: String?, eventCategory: String?, eventLabel: String?, durationSeconds: Int?, value: Double,
         createdAt: Int64, updatedAt: Int64) {
        self.id = id; self.siteId = siteId; self.name = name; self.type = type; self.path = path; self.matchType = matchType
        self.eventAction = eventAction; self.eventCategory = eventCategory; self.eventLabel = eventLabel
        self.durationSeconds = durationSeconds; self.value = value; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    init(row: Row) {
        id = row["id"]; siteId = row["site_id"]; name = row["name"]
        type = GoalType(rawValue: row["type"] as String) ?? .pageview
        path = row["path"]; matchType = MatchType(rawValue: row["match_type"] as String) ?? .exact
        eventAction = row["event_action"]; eventCategory = row["event_category"]; eventLabel = row["event_label"]
        durationSeconds = row["duration_seconds"]; value = row["value"]
        createdAt = row["created_at"]; updatedAt = row["updated_at"]
    }

    /// What the engine evaluates.
    var definition: GoalDefinition {
        GoalDefinition(id: id, name: name, type: type, path: path, matchType: matchType, eventAction: eventAction,
                       eventCategory: eventCategory, eventLabel: eventLabel, durationSeconds: durationSeconds, value: value)
    }

    /// api.md §7 Goal: create fields (defaults applied) + id, createdAt, updatedAt (+ the list's figures).
    func json(summary: GoalSummary? = nil) -> JSONValue {
        var m: [(String, JSONValue)] = [("id", .string(id)), ("siteId", .string(siteId)), ("name", .string(name)),
                                        ("type", .string(type.rawValue)), ("value", Self.number(value))]
        switch type {
        case .pageview:
            m.append(("path", .optional(path))); m.append(("matchType", .string(matchType.rawValue)))
        case .event:
            m.append(("eventAction", .optional(eventAction))); m.append(("eventCategory", .optional(eventCategory)))
            m.append(("eventLabel", .optional(eventLabel)))
        case .duration:
            m.append(("durationSeconds", durationSeconds.map { .int($0) } ?? .null))
        }
        m.append(("createdAt", .string(Clock.iso(createdAt)))); m.append(("updatedAt", .string(Clock.iso(updatedAt))))
        if let s = summary {
            m.append(("completions", .int(s.completions)))
            m.append(("conversionRate", .double(s.conversionRate)))
        }
        return .object(m)
    }

    static func number(_ v: Double) -> JSONValue {
        v == v.rounded() && v.magnitude < 9e15 ? .int(Int64(v)) : .double(v)
    }
}

/// One stored funnel step (`id` = `step_<n>`).
struct FunnelStepRecord: Sendable {
    var name: String
    var type: FunnelStepType
    var path: String?
    var matchType: MatchType?
    var eventAction: String?
    var eventCategory: String?
    var goalId: String?

    func json(index: Int) -> JSONValue {
        var m: [(String, JSONValue)] = [("id", .string("step_\(index + 1)")), ("name", .string(name)), ("type", .string(type.rawValue))]
        switch type {
        case .pageview:
            m.append(("path", .optional(path))); m.append(("matchType", .string((matchType ?? .exact).rawValue)))
        case .event:
            m.append(("eventAction", .optional(eventAction))); m.append(("eventCategory", .optional(eventCategory)))
        case .goal:
            m.append(("goalId", .optional(goalId)))
        }
        return .object(m)
    }

    init(name: String, type: FunnelStepType, path: String?, matchType: MatchType?, eventAction: String?,
         eventCategory: String?, goalId: String?) {
        self.name = name; self.type = type; self.path = path; self.matchType = matchType
        self.eventAction = eventAction; self.eventCategory = eventCategory; self.goalId = goalId
    }

    /// From the stored JSON (written by `json(index:)`).
    init?(stored v: JSONValue) {
        guard let t = v["type"]?.stringValue.flatMap(FunnelStepType.init(rawValue:)) else { return nil }
        type = t
        name = v["name"]?.stringValue ?? ""
        path = v["path"]?.stringValue
        matchType = v["matchType"]?.stringValue.flatMap(MatchType.init(rawValue:))
        eventAction = v["eventAction"]?.stringValue
        eventCategory = v["eventCategory"]?.stringValue
        goalId = v["goalId"]?.stringValue
    }

    /// The engine's step; `goals` resolves goal steps (a deleted goal never matches).
    func definition(goals: [String: GoalRecord]) -> FunnelStepDefinition {
        FunnelStepDefinition(name: name, type: type, path: path, matchType: matchType ?? .exact, eventAction: eventAction,
                             eventCategory: eventCategory, goal: goalId.flatMap { goals[$0]?.definition })
    }
}

/// A stored funnel (api.md §7.6), site-scoped; steps are kept as JSON text.
struct FunnelRecord: Sendable {
    var id: String
    var siteId: String
    var name: String
    var steps: [FunnelStepRecord]
    var timeWindow: Int
    var createdAt: Int64
    var updatedAt: Int64

    init(id: String, siteId: String, name: String, steps: [FunnelStepRecord], timeWindow: Int, createdAt: Int64, updatedAt: Int64) {
        self.id = id; self.siteId = siteId; self.name = name; self.steps = steps; self.timeWindow = timeWindow
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    init(row: Row) {
        id = row["id"]; siteId = row["site_id"]; name = row["name"]; timeWindow = row["time_window"]
        createdAt = row["created_at"]; updatedAt = row["updated_at"]
        let raw: String = row["steps"]
        steps = JSONCoding.parse(Array(raw.utf8))?.arrayValue?.compactMap(FunnelStepRecord.init(stored:)) ?? []
    }

    var stepsJSON: String {
        String(decoding: JSONCoding.write(.array(steps.enumerated().map { $1.json(index: $0) })), as: UTF8.self)
    }

    var goalIds: [String] { steps.compactMap(\.goalId) }

    /// What the engine evaluates; `goals` = the site's goals by id.
    func definition(goals: [String: GoalRecord]) -> FunnelDefinition {
        FunnelDefinition(id: id, name: name, steps: steps.map { $0.definition(goals: goals) }, timeWindow: timeWindow)
    }

    /// api.md §7 Funnel (+ the list's figures).
    func json(stats: FunnelStats? = nil) -> JSONValue {
        var m: [(String, JSONValue)] = [("id", .string(id)), ("siteId", .string(siteId)), ("name", .string(name)),
                                        ("steps", .array(steps.enumerated().map { $1.json(index: $0) })),
                                        ("timeWindow", .int(timeWindow)),
                                        ("createdAt", .string(Clock.iso(createdAt))), ("updatedAt", .string(Clock.iso(updatedAt)))]
        if let s = stats {
            m.append(("totalVisitors", .int(s.totalVisitors)))
            m.append(("completions", .int(s.completions)))
            m.append(("conversionRate", .double(s.overallConversionRate)))
        }
        return .object(m)
    }
}

/// Goal and funnel storage (migration `v_goals_funnels`).
extension MetaStore {
    /// The site's goals, newest first.
    func goals(siteId: String) async throws -> [GoalRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM goals WHERE site_id = ? ORDER BY created_at DESC, rowid DESC",
                             arguments: [siteId]).map(GoalRecord.init(row:))
        }
    }

    func goal(id: String) async throws -> GoalRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM goals WHERE id = ?", arguments: [id]).map(GoalRecord.init(row:)) }
    }

    /// The site's funnels, newest first.
    func funnels(siteId: String) async throws -> [FunnelRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM funnels WHERE site_id = ? ORDER BY created_at DESC, rowid DESC",
                             arguments: [siteId]).map(FunnelRecord.init(row:))
        }
    }

    func funnel(id: String) async throws -> FunnelRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM funnels WHERE id = ?", arguments: [id]).map(FunnelRecord.init(row:)) }
    }

    static func insertGoal(_ db: GRDB.Database, _ g: GoalRecord) throws {
        try db.execute(sql: """
            INSERT INTO goals (id, site_id, name, type, path, match_type, event_action, event_category, event_label,
                               duration_seconds, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [g.id, g.siteId, g.name, g.type.rawValue, g.path, g.matchType.rawValue, g.eventAction,
                             g.eventCategory, g.eventLabel, g.durationSeconds, g.value, g.createdAt, g.updatedAt])
    }

    static func updateGoal(_ db: GRDB.Database, _ g: GoalRecord) throws {
        try db.execute(sql: """
            UPDATE goals SET name = ?, path = ?, match_type = ?, event_action = ?, event_category = ?, event_label = ?,
                             duration_seconds = ?, value = ?, updated_at = ? WHERE id = ?
            """, arguments: [g.name, g.path, g.matchType.rawValue, g.eventAction, g.eventCategory, g.eventLabel,
                             g.durationSeconds, g.value, g.updatedAt, g.id])
    }

    static func insertFunnel(_ db: GRDB.Database, _ f: FunnelRecord) throws {
        try db.execute(sql: """
            INSERT INTO funnels (id, site_id, name, steps, time_window, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [f.id, f.siteId, f.name, f.stepsJSON, f.timeWindow, f.createdAt, f.updatedAt])
    }

    static func updateFunnel(_ db: GRDB.Database, _ f: FunnelRecord) throws {
        try db.execute(sql: "UPDATE funnels SET name = ?, steps = ?, time_window = ?, updated_at = ? WHERE id = ?",
                       arguments: [f.name, f.stepsJSON, f.timeWindow, f.updatedAt, f.id])
    }

    /// Registers the goals/funnels tables.
    static func registerGoalsFunnels(_ m: inout DatabaseMigrator) {
        m.registerMigration("v_goals_funnels") { db in
            try db.execute(sql: """
                CREATE TABLE goals (
                    id TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    type TEXT NOT NULL,
                    path TEXT,
                    match_type TEXT NOT NULL DEFAULT 'exact',
                    event_action TEXT,
                    event_category TEXT,
                    event_label TEXT,
                    duration_seconds INTEGER,
                    value REAL NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX goals_site ON goals(site_id);
                CREATE TABLE funnels (
                    id TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    steps TEXT NOT NULL,
                    time_window INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX funnels_site ON funnels(site_id);
                """)
        }
    }
}
