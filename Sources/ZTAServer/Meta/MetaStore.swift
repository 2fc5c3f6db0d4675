import GRDB

/// The server's metadata (users, login sessions, sites, imports, reset tokens, API keys) in
/// `DATA/meta.sqlite`: a GRDB `DatabasePool` (SQLite WAL mode, concurrent readers) whose schema
/// is built by versioned migrations. Events never go here; they live in the engine's files.
final class MetaStore: Sendable {
    let pool: DatabasePool

    init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    /// Schema history. Never edit a registered migration: add a new one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY,
                    email TEXT NOT NULL UNIQUE,
                    name TEXT,
                    password_hash TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    totp_secret TEXT,
                    totp_enabled INTEGER NOT NULL DEFAULT 0,
                    totp_last_step INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE login_sessions (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    last_active_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    device TEXT NOT NULL,
                    ip_masked TEXT NOT NULL,
                    revoked_at INTEGER
                );
                CREATE INDEX login_sessions_user ON login_sessions(user_id);
                CREATE TABLE sites (
                    id TEXT PRIMARY KEY,
                    owner_id TEXT NOT NULL REFERENCES users(id),
                    domain TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    timezone TEXT NOT NULL,
                    public INTEGER NOT NULL DEFAULT 0,
                    exclude_paths TEXT NOT NULL DEFAULT '[]',
                    data_retention INTEGER,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX sites_owner ON sites(owner_id);
                CREATE TABLE site_members (
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    role TEXT NOT NULL,
                    joined_at INTEGER NOT NULL,
                    PRIMARY KEY (site_id, user_id)
                );
                CREATE TABLE password_resets (
                    token_hash TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                );
                CREATE TABLE imports (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    engine_id INTEGER,
                    site_id TEXT NOT NULL,
                    source TEXT NOT NULL,
                    format TEXT NOT NULL,
                    status TEXT NOT NULL,
                    accepted INTEGER NOT NULL DEFAULT 0,
                    rejected INTEGER NOT NULL DEFAULT 0,
                    date_start TEXT,
                    date_end TEXT,
                    days INTEGER,
                    imported_at INTEGER NOT NULL,
                    imported_by TEXT NOT NULL
                );
                CREATE INDEX imports_site ON imports(site_id);
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    site_id TEXT,
                    key_hash TEXT NOT NULL UNIQUE,
                    key_prefix TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    last_used INTEGER,
                    revoked_at INTEGER
                );
                """)
        }
        registerGoalsFunnels(&m)
        // Alerts (api.md §7.7) and their firing history; both go with their site.
        m.registerMigration("v_alerts") { db in
            try db.execute(sql: """
                CREATE TABLE alerts (
                    id TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
                    name TEXT NOT NULL,
                    type TEXT NOT NULL,
                    metric TEXT NOT NULL,
                    operator TEXT,
                    threshold REAL,
                    period TEXT NOT NULL,
                    compare_with TEXT NOT NULL,
                    sensitivity TEXT NOT NULL,
                    notifications TEXT NOT NULL,
                    enabled INTEGER NOT NULL DEFAULT 1,
                    last_triggered INTEGER,
                    trigger_count INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX alerts_site ON alerts(site_id, created_at);
                CREATE TABLE alert_history (
                    id TEXT PRIMARY KEY,
                    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    triggered_at INTEGER NOT NULL,
                    metric TEXT NOT NULL,
                    value REAL NOT NULL,
                    threshold REAL,
                    condition TEXT NOT NULL,
                    notifications_sent TEXT NOT NULL,
                    acknowledged_by TEXT,
                    acknowledged_at INTEGER
                );
                CREATE INDEX alert_history_alert ON alert_history(alert_id, triggered_at);
                """)
        }
        m.registerMigration("v_webhooks") { db in
            // Webhooks (api.md §7.8). `secret` signs deliveries (HMAC-SHA256), so it is kept as
            // is: a signing key, not a password; it is never returned after creation.
            try db.execute(sql: """
                CREATE TABLE webhooks (
                    id TEXT PRIMARY KEY,
                    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    description TEXT,
                    secret TEXT NOT NULL,
                    active INTEGER NOT NULL DEFAULT 1,
                    failure_count INTEGER NOT NULL DEFAULT 0,
                    disabled_reason TEXT,
                    last_triggered INTEGER,
                    created_by TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX webhooks_site ON webhooks(site_id);
                """)
        }
        registerActivityLog(&m)
        registerTeams(&m)
        registerShares(&m)
        registerAnnotations(&m)
        return m
    }
}
