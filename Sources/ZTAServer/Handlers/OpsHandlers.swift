import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import NIOCore
import ZTAClickHouse
import ZTAEngine

/// `/health` and `/metrics` (api.md §9).
extension ServerCore {
    static let version = "0.1.0"

    func health(_ call: Call) async throws -> Reply.Out {
        let storageOK = (try? await meta.pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) != nil
            && FileManager.default.isWritableFile(atPath: config.dataDirectory)
        let configOK = (config.jwtSecret?.count ?? 0) >= 32
        let healthy = storageOK && configOK
        let body: JSONValue = .object([
            ("status", .string(healthy ? "healthy" : "unhealthy")), ("timestamp", .string(Clock.iso(call.nowMs))),
            ("uptime", .int(Int(Date().timeIntervalSince(startedAt)))), ("version", .string(Self.version)),
            ("checks", .object([("api", "ok"), ("storage", .string(storageOK ? "ok" : "error")),
                                ("config", .string(configOK ? "ok" : "error"))])),
        ])
        return .json(body, status: healthy ? .ok : .serviceUnavailable)
    }

    func metricsText(_ call: Call) async throws -> Reply.Out {
        if let token = config.metricsToken {
            let given = call.header("Authorization") ?? ""
            guard Secrets.constantTimeEqual(given, "Bearer " + token) else { throw APIError.authRequired }
        }
        var body = metrics.render(storedEvents: storedEvents, segments: db.store.segmentList.count,
                                  memtableRows: db.store.memtableRows, maintenance: maintenance.stats,
                                  writes: db.store.writeTimings)
        if let shipper = (events as? ClickHouseEvents)?.shipper {
            body.append(contentsOf: ServerMetrics.clickHouseShippingText(outboxRows: shipper.outbox.pendingRows,
                                                                         stats: shipper.stats).utf8)
        }
        return Reply.bytes(body, contentType: "text/plain; version=0.0.4")
    }
}
