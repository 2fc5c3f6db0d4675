import GRDB

/// A chart annotation of a site (api.md §7.9).
struct AnnotationRecord: Sendable {
    var id: String
    var siteId: String
    /// `YYYY-MM-DD` (a calendar day of the site, no time zone).
    var date: String
    var title: String
    var description: String
    var color: String
    var icon: String
    /// The creating user's id (nil once that user is deleted).
    var createdBy: String?
    var createdAt: Int64
    var updatedAt: Int64

    static let defaultTitle = "Event"
    static let defaultColor = "#0d6efd"
    static let defaultIcon = "star"

    init(row: Row) {
        id = row["id"]; siteId = row["site_id"]; date = row["date"]; title = row["title"]
        description = row["description"]; color = row["color"]; icon = row["icon"]; createdBy = row["created_by"]
        createdAt = row["created_at"]; updatedAt = row["updated_at"]
    }

    init(id: String, siteId: String, date: String, title: String, description: String, color: String, icon: String,
         createdBy: String?, createdAt: Int64) {
        self.id = id; self.siteId = siteId; self.date = date; self.title = title; self.description = description
        self.color = color; self.icon = icon; self.createdBy = createdBy; self.createdAt = createdAt; updatedAt = createdAt
    }

    var json: JSONValue {
        .object([("id", .string(id)), ("siteId", .string(siteId)), ("date", .string(date)), ("title", .string(title)),
                 ("description", .string(description)), ("color", .string(color)), ("icon", .string(icon)),
                 ("createdBy", .optional(createdBy)), ("createdAt", .string(Clock.iso(createdAt))),
                 ("updatedAt", .string(Clock.iso(updatedAt)))])
    }
}

/// Annotation rows in the metadata store; they go with their site (ON DELETE CASCADE).
extension MetaStore {
    static func registerAnnotations(_ m: inout DatabaseMigrator) {
        m.registerMigration("v_annotations") { db in
            try db.execute(sql: """
                CREATE TABLE annotations (
                    id TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    date TEXT NOT NULL,
                    title TEXT NOT NULL,
                    description TEXT NOT NULL,
                    color TEXT NOT NULL,
                    icon TEXT NOT NULL,
                    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX annotations_site ON annotations(site_id, date, created_at);
                """)
        }
    }

    func insertAnnotation(_ a: AnnotationRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO annotations (id, site_id, date, title, description, color, icon, created_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [a.id, a.siteId, a.date, a.title, a.description, a.color, a.icon, a.createdBy,
                                 a.createdAt, a.updatedAt])
        }
    }

    func annotation(id: String) async throws -> AnnotationRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM annotations WHERE id = ?", arguments: [id]).map(AnnotationRecord.init(row:))
        }
    }

    /// A site's annotations with `from ≤ date ≤ to` (either bound optional), by date, then creation.
    /// `YYYY-MM-DD` strings order as their dates.
    func annotations(siteId: String, from: String?, to: String?) async throws -> [AnnotationRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM annotations WHERE site_id = ? AND (? IS NULL OR date >= ?) AND (? IS NULL OR date <= ?)
                ORDER BY date, created_at, id
                """, arguments: [siteId, from, from, to, to]).map(AnnotationRecord.init(row:))
        }
    }

    /// Writes every field of `a` but its site, creator and creation time; false when it is gone.
    func updateAnnotation(_ a: AnnotationRecord) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE annotations SET date = ?, title = ?, description = ?, color = ?, icon = ?, updated_at = ? WHERE id = ?
                """, arguments: [a.date, a.title, a.description, a.color, a.icon, a.updatedAt, a.id])
            return db.changesCount > 0
        }
    }

    func deleteAnnotation(id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM annotations WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }
}
