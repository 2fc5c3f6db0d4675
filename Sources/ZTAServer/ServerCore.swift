import Foundation
import Synchronization
import Logging
import ZTAEngine
import ZTAQuery

/// Everything the handlers share: configuration, the event database, the metadata store, tokens,
/// rate limits, metrics and the tracking state. One per running server.
final class ServerCore: Sendable {
    let config: ServerConfig
    /// The local embedded database: the WAL every tracked event is acknowledged from, and the
    /// engine's own maintenance.
    let db: Database
    /// The store the handlers query, import into and delete from (the seam of issue 14). The
    /// embedded `db` itself unless another store holds the events.
    let events: any EventBackend
    let meta: MetaStore
    let tokens: TokenService
    let limiter = RateLimiter()
    let clients: ClientAddressResolver
    let metrics: ServerMetrics
    let identity = VisitorIdentity()
    let sessions = SessionTracker()
    let imports = ImportRegistry()
    let twoFactor = TwoFactorChallenges()
    let siteCache = SiteCache()
    let userAgents = UserAgentCache()
    /// Aggregate queries wait here for a slot (bounded memory; see `QueryGate`).
    let queryGate: QueryGate
    /// Country and region of tracked visitors (`GEOIP_DB`); nil: they stay empty.
    let geoIP: GeoIPResolver?
    let logger: Logger
    let startedAt = Date()
    /// Flush by age, compaction and retention; driven by `MaintenanceService`.
    let maintenance: MaintenanceScheduler
    /// Makes tracked events durable, one WAL write per round of concurrent requests.
    let ingestWriter: IngestWriter
    /// A bcrypt hash of a random password, verified against for unknown e-mails so that a login
    /// takes as long whether or not the account exists.
    let dummyHash: String
    /// The dashboard and tracking scripts, hashed and compressed once.
    let web: StaticAssets
    /// Webhook registry, queues and senders (api.md §7.8).
    let webhooks: WebhookService
    /// Goal and funnel figures for alerts.
    let alertTargets: any AlertTargetMetrics = GoalAlertTargets()
    /// Where a firing alert's `alert` webhook event goes (the site's webhooks; tests put a
    /// recorder).
    let alertWebhooks: Mutex<any AlertWebhookSink>

    init(config: ServerConfig, db: Database, meta: MetaStore, tokens: TokenService, logger: Logger, dummyHash: String,
         clients: ClientAddressResolver, geoIP: GeoIPResolver? = nil, events: (any EventBackend)? = nil) {
        self.config = config
        self.db = db
        self.events = events ?? db
        self.meta = meta
        self.tokens = tokens
        self.clients = clients
        self.logger = logger
        self.dummyHash = dummyHash
        self.geoIP = geoIP
        let metrics = ServerMetrics()
        self.metrics = metrics
        self.webhooks = WebhookService(config: config, meta: meta, metrics: metrics, logger: logger)
        self.alertWebhooks = Mutex(WebhookAlertSink(service: webhooks))
        self.web = StaticAssets.load(publicURL: config.publicURL)
        self.queryGate = QueryGate(width: config.queryConcurrency, onIdle: { QueryEngine.releaseCachedMemory() })
        self.ingestWriter = IngestWriter(db: db, events: self.events, backgroundFlushRows: config.backgroundFlush ? config.storeOptions.flushRows * 3 / 4 : nil)
        self.maintenance = MaintenanceScheduler(database: db, policy: config.compactionPolicy,
                                                interval: config.maintenanceInterval,
                                                retentionDays: { [meta] in Self.retentionDays(meta) },
                                                events: self.events,
                                                afterWork: { AllocatorTrim.releaseFreeMemory() })
        connectActivityLog()
    }

    /// Closes the event store when it is not the embedded `db` (which `db.close()` closes):
    /// stops the ClickHouse shipper; the outbox keeps what was not shipped for the next start.
    func closeEventStore() {
        if events !== db { try? events.close() }
    }

    /// Events in the store (segments plus memtable), for `/metrics`.
    var storedEvents: Int {
        db.store.segmentList.reduce(0) { $0 + $1.rows } + db.store.memtableRows
    }
}

extension ServerCore {
    /// Queues a webhook event for the site's active webhooks subscribed to `event` and returns
    /// at once (no I/O; deliveries happen on their own tasks). `data` is the event's `data`
    /// object of api.md §7.8, e.g. for `alert`: `{ siteId, alertId, alertName, condition,
    /// metric, currentValue, threshold, operator }`.
    func emitWebhook(siteId: String, event: WebhookEvent, data: JSONValue) {
        webhooks.emit(siteId: siteId, event: event, data: data)
    }
}
