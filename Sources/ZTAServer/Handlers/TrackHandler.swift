import HTTPTypes
import Hummingbird
import Synchronization
import ZTAEngine
import ZTAFormat

/// A short-lived cache of sites for `/api/track` (one SQLite read per site every few seconds,
/// not per event); changes to a site invalidate it.
final class SiteCache: Sendable {
    private struct State {
        var entries: [String: (SiteRecord?, Int64)] = [:]
        /// Bumped by every invalidation: a load that started before one doesn't get cached.
        var epoch: UInt64 = 0
    }
    private let state = Mutex(State())
    static let ttlMs: Int64 = 5000

    func get(_ id: String, nowMs: Int64, load: () async throws -> SiteRecord?) async throws -> SiteRecord? {
        let (hit, epoch) = state.withLock { ($0.entries[id], $0.epoch) }
        if let (s, at) = hit, nowMs - at < Self.ttlMs { return s }
        let s = try await load()
        state.withLock { st in
            // A site deleted or changed while this load ran must not come back into the cache.
            guard st.epoch == epoch else { return }
            if st.entries.count > 10_000 { st.entries.removeAll() }
            st.entries[id] = (s, nowMs)
        }
        return s
    }

    func invalidate(_ id: String) {
        state.withLock { st in
            st.entries.removeValue(forKey: id)
            st.epoch &+= 1
        }
    }
}

/// `POST /api/track` (api.md §5).
extension ServerCore {
    func track(_ call: Call) async throws -> Reply.Out {
        let origin = call.header("Origin")
        // Only an Origin that matched the site is echoed (api.md §5); until then `*`.
        var corsOrigin = "*"
        do {
            var r = try await trackEvents(call, origin: origin, corsOrigin: &corsOrigin)
            TrackCORS.apply(origin: corsOrigin, to: &r.headers)
            return r
        } catch let e as APIError {
            var r = Reply.error(e)
            TrackCORS.apply(origin: e.status == 403 ? "null" : corsOrigin, to: &r.headers)
            return r
        }
    }

    private func trackEvents(_ call: Call, origin: String?, corsOrigin: inout String) async throws -> Reply.Out {
        let decoded = try TrackBody.parse(try call.json())
        let isBatch = decoded.isBatch, siteId = decoded.siteId, events = decoded.events, rejected = decoded.rejected
        metrics.dropped("invalid", count: rejected)
        guard let site = try await siteCache.get(siteId, nowMs: call.nowMs, load: { try await self.site(siteId) }) else {
            throw APIError(404, "Invalid site ID")
        }
        // A server-side proxy with a write key for the site speaks for its visitors.
        var trusted = false
        if let auth = call.header("Authorization"), auth.hasPrefix("Bearer zta_"),
           let p = try? await authenticate(call), p.apiKey.map({ $0.allows(.write) }) == true,
           p.apiKey?.siteId == nil || p.apiKey?.siteId == site.id,
           (try? await role(p.user.id, site)).flatMap({ $0 }) != nil {
            trusted = true
        }
        if !trusted, let origin {
            guard TrackMemos.originMatches(origin, domain: site.domain) else {
                metrics.dropped("origin", count: events.count)
                throw APIError(403, "Origin not allowed")
            }
            corsOrigin = origin
        }
        let userAgent = call.header("User-Agent") ?? ""
        var ip = call.clientIP
        if trusted, let xff = call.header("X-Forwarded-For"),
           let first = xff.split(separator: ",").first.map({ String($0).trimmingCharacters(" ") }), IPBytes(first) != nil {
            ip = first
        }
        let agent = userAgents.lookup(userAgent)
        if agent.isBot {
            metrics.dropped("bot", count: events.count)
            return isBatch ? .json(.object([("success", true), ("count", 0), ("rejected", .int(rejected))])) : .ok()
        }
        let ua = agent.info
        let now = call.nowMs
        let ids = identity.ids(site: site.id, ip: ip, userAgent: userAgent, nowMs: now)
        // The address is only looked up, never kept: the event stores country and region.
        let geo = geoIP?.locate(ip) ?? .unknown
        var records: [EventRecord] = []
        records.reserveCapacity(events.count)
        var excluded = 0
        for e in events {
            if e.isExcluded(by: site.excludePaths) { excluded += 1; continue }
            let visitor: UInt64, session: UInt64
            if let sid = e.sessionId {
                visitor = ids.current
                session = XXH64.hash(sid, seed: 0)
            } else {
                (visitor, session) = sessions.assign(site: site.id, visitor: ids.current, previousVisitor: ids.previous, nowMs: now)
            }
            records.append(e.record(site: site, ua: ua, geo: geo, visitor: visitor, session: session, nowMs: now))
        }
        metrics.dropped("excluded_path", count: excluded)
        if !records.isEmpty {
            metrics.ingestQueueDepth.add(1, ordering: .relaxed)
            defer { metrics.ingestQueueDepth.subtract(1, ordering: .relaxed) }
            // Acknowledged only once the WAL record is durable.
            try await ingestWriter.ingest(records)
            // One counter update per event type, not per event.
            var byType: [EventType: Int] = [:]
            for r in records { byType[r.type, default: 0] += 1 }
            for (type, n) in byType { metrics.ingested(type: type.name, source: "track", count: n) }
            // Stored: now the webhooks (only queued here; sites without webhooks return at once).
            webhooks.tracked(siteId: site.id, records: records)
        }
        if isBatch { return .json(.object([("success", true), ("count", .int(records.count)), ("rejected", .int(rejected))])) }
        return .ok()
    }
}
