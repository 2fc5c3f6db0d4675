import Foundation
public import ZTAClickHouse
public import ZTAEngine
public import ZTAStorage

/// A fixed-window limit: at most `limit` counted requests per `window` seconds.
public struct RateLimit: Sendable, Equatable {
    public var limit: Int
    public var window: Int
    public init(_ limit: Int, per window: Int) {
        self.limit = limit
        self.window = window
    }
}

/// The rate limits of api.md §1 (defaults), all adjustable (tests lower them).
public struct RateLimitConfig: Sendable {
    /// Authenticated `/api` requests but track, per user or API key: both must allow.
    public var userMinute = RateLimit(100, per: 60)
    public var userHour = RateLimit(1000, per: 3600)
    /// `/api/track` per client IP.
    public var track = RateLimit(1000, per: 60)
    /// Login attempts per IP, and failed logins per e-mail.
    public var login = RateLimit(20, per: 60)
    public var loginFailures = RateLimit(5, per: 900)
    public var register = RateLimit(10, per: 3600)
    public var forgot = RateLimit(3, per: 60)
    public var reset = RateLimit(5, per: 60)
    public var verifyReset = RateLimit(10, per: 60)
    /// Answers with 401, per IP.
    public var unauthorized = RateLimit(100, per: 60)
    /// Wrong codes per 2FA temporary token before it is void.
    public var twoFactorAttempts = 5
    /// 2FA validations per IP (decided: a password holder must not guess codes at the login rate).
    public var twoFactorIP = RateLimit(10, per: 60)
    /// Wrong 2FA codes per account across all its temporary tokens (a new password login does
    /// not reset it); once spent, validation answers 429 until the window ends.
    public var twoFactorFailures = RateLimit(10, per: 900)
    /// Team invitations (`POST /api/teams`) per inviting user, and per site (api.md §1).
    public var invitationsPerUser = RateLimit(10, per: 3600)
    public var invitationsPerSite = RateLimit(50, per: 86_400)
    /// `GET /api/invite` (no credentials) per client IP.
    public var inviteLookup = RateLimit(60, per: 60)
    /// `GET /api/public/stats` per client IP (api.md §1: 60/min).
    public var publicStats = RateLimit(60, per: 60)
    public init() {}

    /// Every request limit times `factor` (windows unchanged; the 2FA attempt count too): for
    /// fuzzers and load tests that would otherwise spend their budget on 429s.
    public mutating func scale(by factor: Int) {
        guard factor > 1 else { return }
        for kp in [\RateLimitConfig.userMinute, \.userHour, \.track, \.login, \.loginFailures, \.register, \.forgot,
                   \.reset, \.verifyReset, \.unauthorized, \.twoFactorIP, \.twoFactorFailures,
                   \.invitationsPerUser, \.invitationsPerSite, \.inviteLookup, \.publicStats] as [WritableKeyPath<RateLimitConfig, RateLimit>] {
            let (scaled, overflow) = self[keyPath: kp].limit.multipliedReportingOverflow(by: factor)
            self[keyPath: kp].limit = overflow ? Int.max : scaled
        }
    }
}

/// Everything `ztas serve` is configured with: flags first, then the environment.
public struct ServerConfig: Sendable {
    /// The data directory: events (the engine's files) and `meta.sqlite`.
    public var dataDirectory: String
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 8080
    /// `PUBLIC_URL`: base of links (reset mails, tracking code).
    public var publicURL = "http://127.0.0.1:8080"
    /// `JWT_SECRET` (≥ 32 characters); generated and kept in the data directory when absent.
    public var jwtSecret: String?
    /// `ALLOW_REGISTRATION` (default true; the first user can always register).
    public var allowRegistration = true
    /// `TRUSTED_PROXIES`: peers (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    public var trustedProxies: [String] = []
    /// `METRICS_TOKEN`: when set, `/metrics` wants `Bearer <token>`.
    public var metricsToken: String?
    /// `GEOIP_DB`: a MaxMind DB file (`.mmdb`, e.g. GeoLite2-City) giving tracked events their
    /// country and region; without one both stay empty. An unreadable file stops the start.
    public var geoIPDatabase: String?
    public var rateLimits = RateLimitConfig()
    /// "Now" of every request, ms since the epoch (nil: the system clock). Tests inject a clock
    /// they can move (invitation expiry) instead of sleeping.
    public var clock: (@Sendable () -> Int64)? = nil
    /// Request body limits (api.md §1), bytes.
    public var maxBody = 1 << 20
    public var maxTrackBody = 256 << 10
    public var maxImportBody = 100 << 20
    /// Google Analytics imports (api.md §8): a row claiming more pageviews than this is rejected,
    /// and rows past this many synthetic events in one import are rejected, so an import's time
    /// and disk use stay bounded whatever its rows claim.
    public var gaMaxPageviewsPerRow = 1_000_000
    public var gaMaxEventsPerImport = 10_000_000
    /// bcrypt cost (≥ 10).
    public var bcryptCost: UInt8 = 10
    /// Create the demo user and site on start.
    public var demo = false
    /// Rows the demo site is filled with.
    public var demoRows = 1_000_000
    /// Query threads of the engine.
    public var queryThreads = 2
    /// Aggregate queries (stats, stats-api, heatmaps, JSON export) executed at once; more wait
    /// in arrival order. One per `queryThreads` cores: a query already uses that many.
    public var queryConcurrency = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// A streamed export whose client reads nothing for this long is ended (its query slot freed).
    public var exportStallTimeout: Duration = .seconds(30)
    /// Connections with no request in flight are closed after this long (keep-alive idle).
    public var idleTimeout: Duration = .seconds(60)
    /// A request body (JSON endpoints) must arrive within this long (slow-body clients).
    public var bodyReadTimeout: Duration = .seconds(30)
    /// `DEV_MAIL_LOG` / `--dev-mail-log`: write the reset link into the log (no SMTP here). Off by
    /// default: a link is a credential and logs are read by more people than the account owner;
    /// without it the log only says that a reset was requested.
    public var logResetLinks = false
    /// `MAINTENANCE_INTERVAL_SECONDS`: pause between background maintenance passes (memtable
    /// flush by age, compaction, daily retention). Default 60.
    public var maintenanceInterval: Double = 60
    /// `ALERT_INTERVAL_SECONDS`: pause between alert evaluation rounds (api.md §7.7: 5 min).
    /// 0 turns the evaluator off.
    public var alertInterval: Double = 300
    /// Memtable flush thresholds and block size of the event store (tests make them small).
    public var storeOptions = StoreOptions()
    /// Flush the memtable on a background thread once it holds 3/4 of `storeOptions.flushRows`,
    /// so that tracked requests do not wait for the flush (tests turn it off for exact counts).
    public var backgroundFlush = true
    /// The seam the event store writes through: the real file system, or a fault-injecting one
    /// in tests (a full disk under `/api/track`).
    public var fileSystem: FileSystemSeam = POSIXFileSystem()
    /// Which partitions the background maintenance compacts.
    public var compactionPolicy = CompactionPolicy()
    /// `--events clickhouse://…` / `ZTAS_EVENTS`: the events live in ClickHouse (tracked events
    /// are acknowledged from `DATA/clickhouse-outbox/` and shipped in the background); nil: the
    /// embedded store in the data directory. Metadata stays in `DATA/meta.sqlite` either way.
    public var events: ClickHouseConfig?
    /// Batch size, linger and backoff of the ClickHouse shipper.
    public var clickHouseShipping = OutboxShipper.Options()
    /// `WEBHOOK_ALLOW_HTTP`: webhook URLs may use `http` (default: `https` only).
    public var webhookAllowHTTP = false
    /// `WEBHOOK_ALLOW_PRIVATE`: webhooks may point to loopback, private, link-local, CGNAT, ULA…
    /// addresses (default: refused at creation and at every delivery, after DNS resolution).
    public var webhookAllowPrivate = false
    /// Resolves webhook host names for the SSRF guard (tests inject one).
    public var webhookResolver: any WebhookHostResolver = SystemHostResolver()
    /// Waits between a failed attempt and the next one (api.md §7.8: 5 s, then 25 s).
    public var webhookRetryDelays: [Duration] = [.seconds(5), .seconds(25)]
    /// How a retry waits (tests record the delays instead of sleeping through them).
    public var webhookSleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    /// One attempt's time limit (connect, then each read).
    public var webhookTimeout: Duration = .seconds(5)
    /// Pending deliveries per webhook; past it the oldest is dropped (and counted).
    public var webhookQueueLimit = 10_000
    /// Concurrent deliveries per webhook.
    public var webhookSendersPerHook = 4
    /// `WEBHOOK_MAX_DELIVERIES_PER_SECOND`: delivery attempts per second over all webhooks
    /// (0: unlimited). Each attempt costs about as much CPU as a tracked request, and a site
    /// with 10 `pageview` webhooks asks for 10 per pageview: unpaced, delivery took ~30 % of
    /// the tracking throughput of a 2-core server. Past the pace, queues drop their oldest
    /// (counted in `zta_webhook_dropped_total`). 500/s is 43 M deliveries a day.
    public var webhookMaxDeliveriesPerSecond = 500
    /// Sessions followed for `session_end`/`goal` events, over all sites.
    public var webhookSessionLimit = 200_000
    /// How often ended sessions are looked for (a `session_end` goes out at most this late).
    public var webhookSweepInterval: Duration = .seconds(30)

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        // The memtable is the server's largest resident structure under tracking load (~250 B
        // a row with its dictionaries, twice while a frozen one is being flushed): a quarter of
        // the engine's default keeps it near 100 MB; compaction merges the smaller segments.
        storeOptions.flushRows = 250_000
    }

    /// Applies `PUBLIC_URL`, `JWT_SECRET`, `ALLOW_REGISTRATION`, `TRUSTED_PROXIES`, `METRICS_TOKEN`, `DEV_MAIL_LOG`,
    /// `GEOIP_DB`, `RATE_LIMIT_{TRACK_PER_MINUTE,USER_PER_MINUTE,USER_PER_HOUR}`, `RATE_LIMIT_MULTIPLIER`,
    /// `MEMTABLE_FLUSH_ROWS`, `MAINTENANCE_INTERVAL_SECONDS`, `ALERT_INTERVAL_SECONDS`, `WEBHOOK_MAX_DELIVERIES_PER_SECOND`, `WEBHOOK_ALLOW_HTTP` and `WEBHOOK_ALLOW_PRIVATE` from `env`.
    public mutating func apply(environment env: [String: String]) {
        if let v = env["PUBLIC_URL"], !v.isEmpty { publicURL = v.hasSuffix("/") ? String(v.dropLast()) : v }
        if let v = env["JWT_SECRET"], !v.isEmpty { jwtSecret = v }
        if let v = env["ALLOW_REGISTRATION"]?.lowercased() { allowRegistration = !(v == "false" || v == "0" || v == "no") }
        if let v = env["TRUSTED_PROXIES"] {
            trustedProxies = v.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        }
        if let v = env["METRICS_TOKEN"], !v.isEmpty { metricsToken = v }
        if let v = env["DEV_MAIL_LOG"]?.lowercased(), v == "1" || v == "true" || v == "yes" { logResetLinks = true }
        if let v = env["GEOIP_DB"], !v.isEmpty { geoIPDatabase = v }
        // Operators (and benchmarks) may move the main limits: requests per minute / hour.
        if let v = env["RATE_LIMIT_TRACK_PER_MINUTE"].flatMap(Int.init), v > 0 { rateLimits.track = RateLimit(v, per: 60) }
        if let v = env["RATE_LIMIT_USER_PER_MINUTE"].flatMap(Int.init), v > 0 { rateLimits.userMinute = RateLimit(v, per: 60) }
        if let v = env["RATE_LIMIT_USER_PER_HOUR"].flatMap(Int.init), v > 0 { rateLimits.userHour = RateLimit(v, per: 3600) }
        // Scales every limit (login, register, 401s, …) after the ones above; the API fuzzer uses it.
        if let v = env["RATE_LIMIT_MULTIPLIER"].flatMap(Int.init), v > 1 { rateLimits.scale(by: v) }
        if let v = env["MEMTABLE_FLUSH_ROWS"].flatMap(Int.init), v >= 1000 { storeOptions.flushRows = v }
        if let v = env["MAINTENANCE_INTERVAL_SECONDS"].flatMap(Double.init), v > 0, v.isFinite { maintenanceInterval = v }
        if let v = env["ALERT_INTERVAL_SECONDS"].flatMap(Double.init), v >= 0, v.isFinite { alertInterval = v }
        if let v = env["WEBHOOK_MAX_DELIVERIES_PER_SECOND"].flatMap(Int.init), v >= 0 { webhookMaxDeliveriesPerSecond = v }
        if let v = env["WEBHOOK_ALLOW_HTTP"]?.lowercased() { webhookAllowHTTP = v == "1" || v == "true" || v == "yes" }
        if let v = env["WEBHOOK_ALLOW_PRIVATE"]?.lowercased() { webhookAllowPrivate = v == "1" || v == "true" || v == "yes" }
    }
}
