import Crypto
import Logging
import Synchronization
import ZTAFormat
import ZTAQuery

/// Webhook delivery (api.md §7.8). The active webhooks of every site are held in memory
/// (loaded at start, reloaded for a site after each change to its webhooks), so emitting an
/// event is a dictionary lookup and a queue append: `/api/track` never waits for a delivery or
/// reads SQLite for one. An event's delivery is built once (`PendingDelivery`, a reference)
/// and appended to each subscriber's queue; the subscriber lists are computed per site when
/// the webhooks change, not per request. Each webhook drains its bounded queue with a few
/// sender tasks on `WebhookExecutor` (a low-priority thread of their own, also the HTTP
/// client's event loop); a delivery is attempted at once, then after each of `retryDelays`
/// while the failure is a network error, a timeout, 429 or 5xx.
///
/// The pending queues are in memory only: a crash or restart loses what was not yet delivered
/// (at-least-once holds for the deliveries that were attempted; see docs/architecture.md).
final class WebhookService: Sendable {
    /// A site's active webhooks and, per event kind of the track path, its subscribers.
    struct SiteHooks {
        var all: [WebhookHook] = []
        var pageview: [WebhookHook] = []
        var event: [WebhookHook] = []
        var goal: [WebhookHook] = []
        /// Some webhook needs the open-session bookkeeping (`session_end` or `goal`).
        var followSessions = false

        init(_ hooks: [WebhookHook]) {
            all = hooks
            for h in hooks {
                let s = h.settings.events
                if s.contains(.pageview) { pageview.append(h) }
                if s.contains(.event) { event.append(h) }
                if s.contains(.goal) { goal.append(h) }
                if s.contains(.sessionEnd) || s.contains(.goal) { followSessions = true }
            }
        }
    }

    private struct Registry {
        var bySite: [String: SiteHooks] = [:]
        var byId: [String: WebhookHook] = [:]
        /// Reload generations per site: only the newest reload's read is applied.
        var generation: [String: UInt64] = [:]
    }

    private let registry = Mutex(Registry())
    /// Goal matchers of the sites with a `goal` subscriber, loaded when a webhook or goal changes
    /// (never on the track path), with a generation per site like the registry.
    private let goalMatchers = Mutex<(bySite: [String: [GoalMatcher]], generation: [String: UInt64])>(([:], [:]))
    /// Sites with at least one active webhook: zero makes `tracked` return at once.
    private let siteCount = Atomic<Int>(0)
    private let tasks = Mutex<(next: UInt64, running: [UInt64: Task<Void, Never>], stopped: Bool)>((0, [:], false))
    let sessions: WebhookSessions
    let transport: WebhookTransport
    /// The thread deliveries run on.
    let executor: WebhookExecutor
    let addressGuard: WebhookAddressGuard
    private let meta: MetaStore
    private let metrics: ServerMetrics
    private let logger: Logger
    private let allowHTTP: Bool
    private let retryDelays: [Duration]
    private let sleep: @Sendable (Duration) async throws -> Void
    private let queueLimit: Int
    private let sendersPerHook: Int
    /// Server-wide spacing of delivery attempts (`ServerConfig.webhookMaxDeliveriesPerSecond`).
    let pacer: DeliveryPacer
    /// Time of deliveries and sessions (tests may move it).
    let now: @Sendable () -> Int64
    /// Where `webhook.failed` / `webhook.disabled` are logged (the activity log; `ServerCore` sets it).
    let activitySink = Mutex<WebhookActivitySink?>(nil)

    init(config: ServerConfig, meta: MetaStore, metrics: ServerMetrics, logger: Logger,
         now: @escaping @Sendable () -> Int64 = { Clock.nowMs() }) {
        self.meta = meta
        self.metrics = metrics
        self.logger = logger
        self.now = now
        allowHTTP = config.webhookAllowHTTP
        retryDelays = config.webhookRetryDelays
        sleep = config.webhookSleep
        queueLimit = max(1, config.webhookQueueLimit)
        sendersPerHook = max(1, config.webhookSendersPerHook)
        pacer = DeliveryPacer(perSecond: config.webhookMaxDeliveriesPerSecond)
        sessions = WebhookSessions(limit: max(0, config.webhookSessionLimit))
        executor = WebhookExecutor()
        transport = WebhookTransport(timeout: config.webhookTimeout, executor: executor)
        addressGuard = WebhookAddressGuard(resolver: config.webhookResolver, allowPrivate: config.webhookAllowPrivate)
    }

    // MARK: Registry

    /// Loads every active webhook (server start).
    func loadAll() async throws {
        let all = try await meta.activeWebhooks()
        var bySite: [String: [WebhookRecord]] = [:]
        for w in all { bySite[w.siteId, default: []].append(w) }
        for (site, records) in bySite { apply(site: site, records: records, generation: nil) }
        for site in sitesWithGoalSubscribers() { await reloadGoals(siteId: site) }
    }

    /// Re-reads a site's active webhooks after a change (create, update, delete, disable).
    func reload(siteId: String) async {
        let gen = registry.withLock { r -> UInt64 in
            let g = (r.generation[siteId] ?? 0) &+ 1
            r.generation[siteId] = g
            return g
        }
        do {
            let records = try await meta.webhooks(siteId: siteId).filter(\.active)
            apply(site: siteId, records: records, generation: gen)
            await reloadGoals(siteId: siteId)
        } catch {
            logger.error("webhook reload failed", metadata: ["siteId": "\(siteId)", "error": "\(error)"])
        }
    }

    /// Forgets a deleted site's webhooks and sessions.
    func forget(siteId: String) {
        apply(site: siteId, records: [], generation: nil)
        sessions.forget(site: siteId)
        goalMatchers.withLock { g in
            g.bySite.removeValue(forKey: siteId)
            g.generation[siteId] = (g.generation[siteId] ?? 0) &+ 1
        }
    }

    private func apply(site: String, records: [WebhookRecord], generation: UInt64?) {
        var retired: [WebhookHook] = []
        let applied = registry.withLock { r -> Bool in
            if let generation, r.generation[site] != generation { return false }
            let old = r.bySite[site]?.all ?? []
            var hooks: [WebhookHook] = []
            for rec in records {
                if let h = r.byId[rec.id] {
                    h.update(rec)
                    hooks.append(h)
                } else {
                    let h = WebhookHook(rec, capacity: queueLimit, maxSenders: sendersPerHook, allowHTTP: allowHTTP)
                    r.byId[rec.id] = h
                    hooks.append(h)
                }
            }
            let keep = Set(records.map(\.id))
            for h in old where !keep.contains(h.id) {
                r.byId.removeValue(forKey: h.id)
                retired.append(h)
            }
            if hooks.isEmpty {
                if r.bySite.removeValue(forKey: site) != nil { siteCount.subtract(1, ordering: .relaxed) }
            } else {
                if r.bySite.updateValue(SiteHooks(hooks), forKey: site) == nil { siteCount.add(1, ordering: .relaxed) }
            }
            return true
        }
        guard applied else { return }
        for h in retired {
            let n = h.retire()
            if n > 0 { metrics.webhookDropped(n) }
        }
        if !records.contains(where: { $0.events.contains(WebhookEvent.sessionEnd.rawValue) || $0.events.contains(WebhookEvent.goal.rawValue) }) {
            sessions.forget(site: site)
        }
    }

    private func sitesWithGoalSubscribers() -> [String] {
        registry.withLock { r in r.bySite.filter { !$0.value.goal.isEmpty }.map(\.key) }
    }

    /// Re-reads a site's goals for its `goal` subscribers (none: the matchers are dropped).
    func reloadGoals(siteId: String) async {
        let gen = goalMatchers.withLock { g -> UInt64 in
            let n = (g.generation[siteId] ?? 0) &+ 1
            g.generation[siteId] = n
            return n
        }
        var matchers: [GoalMatcher] = []
        if hooks(siteId: siteId).contains(where: { $0.subscribes(to: .goal) }) {
            do {
                // A goal whose pattern no longer compiles matches nothing (it was validated when saved).
                matchers = try await meta.goals(siteId: siteId).compactMap { try? GoalMatcher($0.definition) }
            } catch {
                logger.error("webhook goal reload failed", metadata: ["siteId": "\(siteId)", "error": "\(error)"])
            }
        }
        goalMatchers.withLock { g in
            guard g.generation[siteId] == gen else { return }
            if matchers.isEmpty { g.bySite.removeValue(forKey: siteId) } else { g.bySite[siteId] = matchers }
        }
    }

    /// After any goal create/update/delete: the goal lists of the sites with `goal` subscribers
    /// are read again (a handful of SQLite reads per goal change, none per tracked event).
    func goalsChanged() async {
        for site in sitesWithGoalSubscribers() { await reloadGoals(siteId: site) }
    }

    /// The active webhooks of a site (empty for most sites).
    func hooks(siteId: String) -> [WebhookHook] { siteHooks(siteId)?.all ?? [] }

    private func siteHooks(_ siteId: String) -> SiteHooks? {
        if siteCount.load(ordering: .relaxed) == 0 { return nil }
        return registry.withLock { $0.bySite[siteId] }
    }

    // MARK: Emitting

    /// Queues `event` for every active webhook of the site subscribed to it. Never blocks on
    /// I/O: a lock, a lookup and an append per subscriber.
    func emit(siteId: String, event: WebhookEvent, data: JSONValue, timestampMs: Int64? = nil) {
        let hooks = hooks(siteId: siteId)
        if hooks.isEmpty { return }
        emit(hooks.filter { $0.subscribes(to: event) }, PendingDelivery(event: event, data: data, timestampMs: timestampMs ?? now()))
    }

    private func emit(_ hooks: [WebhookHook], _ d: PendingDelivery) {
        for h in hooks {
            let (start, dropped) = h.enqueue(d)
            if dropped { metrics.webhookDropped(1) }
            if start { startSender(h) }
        }
    }

    /// The events of one `/api/track` request, after they were stored: `pageview` and `event`
    /// deliveries, and the open-session bookkeeping behind `session_end`.
    func tracked(siteId: String, records: [EventRecord]) {
        guard let site = siteHooks(siteId) else { return }
        let pageviewHooks = site.pageview, eventHooks = site.event, goalHooks = site.goal
        let followSessions = site.followSessions
        let goals = goalHooks.isEmpty ? [] : (goalMatchers.withLock { $0.bySite[siteId] } ?? [])
        for r in records {
            let sessionStart = followSessions ? sessions.record(r) : nil
            if let sessionStart, !goals.isEmpty { emitGoals(goals, r, sessionStart: sessionStart, to: goalHooks) }
            if r.type == .pageview && !pageviewHooks.isEmpty {
                emit(pageviewHooks, PendingDelivery(event: .pageview, data: Self.pageviewData(r), timestampMs: r.ts))
            } else if r.type == .event && !eventHooks.isEmpty {
                emit(eventHooks, PendingDelivery(event: .event, data: Self.eventData(r), timestampMs: r.ts))
            }
        }
    }

    /// `goal` deliveries for the goals this event completes for the first time in its session:
    /// pageview/event goals by their row predicate, duration goals once the session has lasted
    /// their `durationSeconds`.
    private func emitGoals(_ goals: [GoalMatcher], _ r: EventRecord, sessionStart: Int64, to hooks: [WebhookHook]) {
        for m in goals {
            let completes: Bool
            if let d = m.durationMs {
                completes = r.ts - sessionStart >= d
            } else {
                completes = m.matchesRow(type: r.type, path: r.path, name: r.name, category: r.category, label: r.label)
            }
            guard completes, sessions.firstCompletion(site: r.site, session: r.session, goalId: m.goal.id) else { continue }
            let value = r.type == .event ? m.completionValue(eventValue: r.value) : m.goal.value
            emit(hooks, PendingDelivery(event: .goal, data: .object([
                ("siteId", .string(r.site)), ("goalId", .string(m.goal.id)), ("goalName", .string(m.goal.name)),
                ("path", .string(r.path)), ("value", .double(value)),
            ]), timestampMs: r.ts))
        }
    }

    /// `data` of `pageview` (api.md §7.8; no visitor ids).
    static func pageviewData(_ r: EventRecord) -> JSONValue {
        .object([("siteId", .string(r.site)), ("path", .string(r.path)), ("referrer", .string(r.referrer)),
                 ("country", .string(r.country)), ("device", .string(r.device)), ("browser", .string(r.browser))])
    }

    /// `data` of `event`.
    static func eventData(_ r: EventRecord) -> JSONValue {
        .object([("siteId", .string(r.site)), ("action", .string(r.name)), ("category", .string(r.category)),
                 ("label", .string(r.label)), ("value", .double(r.value)), ("path", .string(r.path))])
    }

    /// Sends `session_end` for every followed session idle for 30 minutes at `nowMs`; returns
    /// how many ended.
    @discardableResult
    func sweepSessions(nowMs: Int64) -> Int {
        let ended = sessions.sweep(nowMs: nowMs)
        for (key, open) in ended {
            emit(siteId: key.site, event: .sessionEnd, data: open.json(site: key.site),
                 timestampMs: open.last + WebhookSessions.idleMs)
        }
        return ended.count
    }

    // MARK: Sending

    private func startSender(_ hook: WebhookHook) {
        let started = tasks.withLock { t -> Bool in
            if t.stopped { return false }
            let id = t.next
            t.next &+= 1
            t.running[id] = Task(executorPreference: executor) { [self] in
                while let d = hook.next() {
                    if Task.isCancelled { continue }
                    await deliver(hook, d)
                }
                _ = tasks.withLock { $0.running.removeValue(forKey: id) }
            }
            return true
        }
        if !started { hook.senderNotStarted() }
    }

    /// The body, headers and signature of one delivery.
    static func request(id: String, event: WebhookEvent, webhookId: String, secret: String, timestampMs: Int64,
                        data: JSONValue) -> (body: [UInt8], headers: [(String, String)]) {
        request(id: id, event: event, webhookId: webhookId, key: SymmetricKey(data: Array(secret.utf8)),
                timestampMs: timestampMs, data: data)
    }

    /// `request` with the secret's HMAC key already made (deliveries: once per settings change).
    static func request(id: String, event: WebhookEvent, webhookId: String, key: SymmetricKey, timestampMs: Int64,
                        data: JSONValue) -> (body: [UInt8], headers: [(String, String)]) {
        let body = JSONCoding.write(.object([("id", .string(id)), ("event", .string(event.rawValue)),
                                             ("timestamp", .string(Clock.iso(timestampMs))), ("data", data)]))
        return (body, [("Content-Type", "application/json"), ("User-Agent", "ZTA-Webhooks/1"),
                       ("X-ZTA-Event", event.rawValue), ("X-ZTA-Webhook-ID", webhookId), ("X-ZTA-Delivery", id),
                       ("X-ZTA-Signature", "sha256=" + signature(key: key, body: body))])
    }

    /// Hex HMAC-SHA256 of the body bytes, keyed with the secret's UTF-8 bytes (`whsec_…` whole).
    static func signature(secret: String, body: [UInt8]) -> String {
        signature(key: SymmetricKey(data: Array(secret.utf8)), body: body)
    }

    static func signature(key: SymmetricKey, body: [UInt8]) -> String {
        Secrets.hex(Array(HMAC<SHA256>.authenticationCode(for: body, using: key)))
    }

    /// One attempt: URL check, SSRF guard on a fresh resolution, POST to the checked address.
    func attempt(url: String, body: [UInt8], headers: [(String, String)]) async -> WebhookAttemptOutcome {
        await attempt(parsed: WebhookURL.parse(url, allowHTTP: allowHTTP), url: url, body: body, headers: headers)
    }

    /// `attempt` with the URL already parsed (`WebhookHook.Settings.target`).
    func attempt(parsed: Result<WebhookURL, WebhookURL.Problem>, url: String, body: [UInt8],
                 headers: [(String, String)]) async -> WebhookAttemptOutcome {
        let target: WebhookURL
        switch parsed {
        case .success(let t): target = t
        case .failure(.notHTTPS): return .refused("URL must use HTTPS")
        case .failure: return .refused("Invalid webhook URL")
        }
        switch await addressGuard.check(target) {
        case .failure(.privateAddress): return .refused("URL must not point to a private network address")
        case .failure(.unresolvable): return .networkError("host not resolvable")
        case .success(let address):
            return await transport.post(url: url, host: target.host, address: address, headers: headers, body: body)
        }
    }

    /// A delivery with its retries, then its bookkeeping (failure count, auto-disable, metrics).
    private func deliver(_ hook: WebhookHook, _ d: PendingDelivery) async {
        let settings = hook.settings
        let id = Secrets.id("dlv")
        let (body, headers) = Self.request(id: id, event: d.event, webhookId: hook.id, key: settings.key,
                                           timestampMs: d.timestampMs, data: d.data)
        await pacer.wait()
        var outcome = await attempt(parsed: settings.target, url: settings.url, body: body, headers: headers)
        for delay in retryDelays {
            guard outcome.isRetryable, !hook.isRetired, !Task.isCancelled else { break }
            do { try await sleep(delay) } catch { break }
            await pacer.wait()
            outcome = await attempt(parsed: settings.target, url: settings.url, body: body, headers: headers)
        }
        // Stopped mid-delivery (server shutdown): not the receiver's failure, nothing to count.
        if Task.isCancelled && !outcome.isSuccess { return }
        let nowMs = now()
        if outcome.isSuccess {
            metrics.webhookDelivery("success")
            if hook.claimSuccessWrite(nowMs: nowMs) {
                _ = try? await meta.recordDelivery(webhookId: hook.id, success: true, nowMs: nowMs)
            }
            return
        }
        metrics.webhookDelivery("failed")
        let effect = (try? await meta.recordDelivery(webhookId: hook.id, success: false, nowMs: nowMs)) ?? .unchanged
        var md: Logger.Metadata = ["webhookId": "\(hook.id)", "siteId": "\(hook.siteId)", "event": "\(d.event.rawValue)",
                                     "delivery": "\(id)", "reason": "\(Self.describe(outcome))"]
        if case .failureCounted(let n) = effect {
            hook.noteFailure(count: n, nowMs: nowMs)
            md["failureCount"] = "\(n)"
        }
        logger.warning("webhook.failed", metadata: md)
        let sink = activitySink.withLock { $0 }
        var failure: [(String, JSONValue)] = [("event", .string(d.event.rawValue)), ("deliveryId", .string(id)),
                                              ("reason", .string(Self.describe(outcome)))]
        if case .failureCounted(let n) = effect { failure.append(("failureCount", .int(n))) }
        await sink?(.webhookFailed, hook.id, hook.siteId, settings.url, failure, nowMs, d.event)
        if effect == .disabled {
            logger.warning("webhook.disabled", metadata: ["webhookId": "\(hook.id)", "siteId": "\(hook.siteId)",
                                                          "reason": "\(WebhookRecord.disabledForFailures)"])
            await sink?(.webhookDisabled, hook.id, hook.siteId, settings.url,
                        [("reason", .string(WebhookRecord.disabledForFailures))], nowMs, d.event)
            await reload(siteId: hook.siteId)
        }
    }

    static func describe(_ o: WebhookAttemptOutcome) -> String {
        switch o {
        case .delivered(let s): "status \(s)"
        case .retryableStatus(let s), .rejectedStatus(let s): "status \(s)"
        case .networkError(let m): m
        case .refused(let m): m
        }
    }

    /// Stops the senders and closes the HTTP clients (server stop). Pending deliveries are lost.
    func shutdown() async {
        let running = tasks.withLock { t -> [Task<Void, Never>] in
            t.stopped = true
            return Array(t.running.values)
        }
        for task in running { task.cancel() }
        let hooks = registry.withLock { Array($0.byId.values) }
        for h in hooks { _ = h.retire() }
        for task in running { await task.value }
        await transport.shutdown()
        await executor.shutdown()
    }

    /// Deliveries waiting, over all webhooks (tests).
    var pendingCount: Int { registry.withLock { Array($0.byId.values) }.reduce(0) { $0 + $1.pendingCount } }
}
