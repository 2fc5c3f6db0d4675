import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ZTAEngine
import ZTAQuery

/// Query endpoints of api.md §6. Each validates its parameters (through the ZTAQuery parsers),
/// checks the caller's role on the site, builds the request with the site's time zone and
/// returns the engine's JSON body as it is.
extension ServerCore {
    /// Parameters first (with UTC, so the first failure wins before the site is looked up), then
    /// visibility and role, then the request again in the site's time zone.
    private func resolve<R: Sendable>(_ call: Call, siteKey: String, missing: String, minRole: SiteRole = .viewer,
                                      _ parse: ([String: String], String) throws(QueryError) -> R) async throws -> (R, SiteRecord) {
        guard let siteId = call.query[siteKey], !siteId.isEmpty else { throw APIError.badRequest(missing) }
        _ = try parse(call.query, "UTC")
        let (site, _) = try await authorizedSite(call, siteId, minRole: minRole)
        return (try parse(call.query, site.timezone), site)
    }

    func stats(_ call: Call) async throws -> Reply.Out {
        let (r, _) = try await resolve(call, siteKey: "siteId", missing: "Site ID required") { p, tz throws(QueryError) in
            try DashboardRequest.parse(p, timezone: tz, now: call.nowMs)
        }
        let events = self.events
        return Reply.bytes(try await queryGate.run { try events.queries.dashboard(r) })
    }

    func statsAPI(_ call: Call) async throws -> Reply.Out {
        let (r, _) = try await resolve(call, siteKey: "site_id", missing: "site_id parameter is required") { p, tz throws(QueryError) in
            try StatsAPIRequest.parse(p, timezone: tz, now: call.nowMs)
        }
        let events = self.events
        return Reply.bytes(try await queryGate.run { try events.queries.statsAPI(r) })
    }

    func heatmap(_ call: Call, kind: HeatmapKind) async throws -> Reply.Out {
        let (r, _) = try await resolve(call, siteKey: "siteId",
                                       missing: kind == .pages ? "Site ID required" : "Site ID and path are required") { p, tz throws(QueryError) in
            try HeatmapRequest.parse(p, kind: kind, timezone: tz, now: call.nowMs)
        }
        let events = self.events
        return Reply.bytes(try await queryGate.run { try events.queries.heatmap(r) })
    }

    func realtime(_ call: Call) async throws -> Reply.Out {
        let (r, _) = try await resolve(call, siteKey: "siteId", missing: "Site ID required") { p, tz throws(QueryError) in
            try RealtimeRequest.parse(p, timezone: tz, now: call.nowMs)
        }
        let events = self.events
        var resp = Reply.bytes(try await queryGate.run { try events.queries.realtime(r) })
        resp.headers[.cacheControl] = "no-cache, no-store, must-revalidate"
        return resp
    }

    func export(_ call: Call) async throws -> Reply.Out {
        let (r, site) = try await resolve(call, siteKey: "siteId", missing: "Site ID required", minRole: .editor) { p, tz throws(QueryError) in
            try ExportRequest.parse(p, timezone: tz, now: call.nowMs)
        }
        let events = self.events
        let disposition = "attachment; filename=\"\(r.filename(now: call.nowMs))\""
        let logged: [(String, JSONValue)] = [("format", .string(r.format.rawValue)), ("exportType", .string(r.type.rawValue)),
                                             ("period", .string(r.window.period)), ("from", .string(Clock.iso(r.window.from))),
                                             ("to", .string(Clock.iso(r.window.to)))]
        let target = ActivityTarget(type: "site", id: site.id, name: site.name)
        if r.format == .json {
            var resp = Reply.bytes(try await queryGate.run { try events.queries.export(r) })
            resp.headers[.contentDisposition] = disposition
            await recordActivity(call, .exportRequested, target: target, siteId: site.id, metadata: logged)
            return resp
        }
        var headers = HTTPFields()
        headers[.contentType] = r.format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson"
        headers[.cacheControl] = "no-store"
        headers[.contentDisposition] = disposition
        // Streamed: the engine writes ~64 KiB pieces on a GCD thread; the response takes them
        // through a bounded channel, so a slow client holds back the producer. The export holds
        // a query-gate slot while it runs, and a client that stops reading for
        // `exportStallTimeout` ends it (the producer gives up, the slot frees, the connection
        // is closed without the final chunk).
        let slot = try await queryGate.reserve()
        // Logged once the export is admitted (streamed: its rows are not yet written).
        await recordActivity(call, .exportRequested, target: target, siteId: site.id, metadata: logged)
        let stall = config.exportStallTimeout
        let body = ResponseBody { writer in
            // Released after the last piece is handed over (or on any failure, by the defer).
            defer { slot.release() }
            let pipe = ChunkPipe(capacity: 4, sendTimeout: stall)
            let producer = Task {
                do {
                    try await Blocking.run { try events.queries.exportStream(r) { bytes in try pipe.send(bytes) } }
                    pipe.finish(nil)
                } catch {
                    pipe.finish(error)
                }
            }
            do {
                for try await chunk in pipe.stream {
                    try await writer.write(ByteBuffer(bytes: chunk))
                    pipe.consumed()
                }
            } catch {
                pipe.cancel()
                _ = await producer.result
                throw error
            }
            _ = await producer.result
            slot.release()
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// A bounded hand-off from a blocking producer thread to an async consumer.
final class ChunkPipe: @unchecked Sendable {
    private let slots: DispatchSemaphore
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    let stream: AsyncThrowingStream<[UInt8], any Error>
    private let lock = NSLock()
    private var cancelled = false
    /// Slots taken and not yet given back: returned in deinit, because libdispatch traps when a
    /// semaphore is freed with a value below the one it was created with (a stalled client
    /// leaves exactly that behind).
    private var taken = 0

    private let sendTimeout: Duration

    struct Cancelled: Error {}
    /// The consumer took nothing for `sendTimeout`: a stalled client.
    struct Stalled: Error {}

    init(capacity: Int, sendTimeout: Duration = .seconds(30)) {
        slots = DispatchSemaphore(value: capacity)
        self.sendTimeout = sendTimeout
        (stream, continuation) = AsyncThrowingStream.makeStream()
    }

    /// Blocks while `capacity` chunks are unconsumed, for at most `sendTimeout`; throws once
    /// the consumer is gone or stalled.
    func send(_ bytes: [UInt8]) throws {
        let c = sendTimeout.components
        let ms = Int(c.seconds) * 1000 + Int(c.attoseconds / 1_000_000_000_000_000)
        if slots.wait(timeout: .now() + .milliseconds(ms)) == .timedOut { throw Stalled() }
        lock.lock(); taken += 1; let c2 = cancelled; lock.unlock()
        if c2 { throw Cancelled() }
        continuation.yield(bytes)
    }

    func consumed() {
        lock.lock(); taken -= 1; lock.unlock()
        slots.signal()
    }

    deinit {
        for _ in 0..<max(0, taken) { slots.signal() }
    }

    func finish(_ error: (any Error)?) {
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }

    func cancel() {
        lock.lock(); cancelled = true; taken -= 1; lock.unlock()
        slots.signal()
    }
}
