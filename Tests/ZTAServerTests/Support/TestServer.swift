import Foundation
import Logging
import Synchronization
@testable import ZTAServer

/// Log lines kept in memory (the reset link is only logged).
final class LogCapture: Sendable {
    let lines = Mutex<[(String, [String: String])]>([])

    func handler(label: String) -> LogHandler { CapturingHandler(capture: self) }

    /// The `link` metadata of the last reset-link log line.
    var lastResetToken: String? {
        lines.withLock { l in
            l.last { $0.1["link"] != nil }.flatMap { $0.1["link"]?.components(separatedBy: "token=").last }
        }
    }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var m: [String: String] = [:]
        for (k, v) in event.metadata ?? [:] { m[k] = "\(v)" }
        let msg = "\(event.message)"
        capture.lines.withLock { $0.append((msg, m)) }
    }
}

/// A real server on a free loopback port over a fresh data directory.
struct TestServer: Sendable {
    let server: RunningServer
    let directory: String
    let logs: LogCapture

    var port: Int { server.port }

    static func start(_ configure: (inout ServerConfig) -> Void = { _ in }) async throws -> TestServer {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ztas-server-test-\(UUID().uuidString)").path
        var config = ServerConfig(dataDirectory: dir)
        config.port = 0
        config.publicURL = "http://127.0.0.1"
        config.logResetLinks = true  // tests read reset links from the captured log
        configure(&config)
        let logs = LogCapture()
        let logger = Logger(label: "ztas-test") { label in logs.handler(label: label) }
        let server = try await ZTAServer.start(config: config, logger: logger)
        return TestServer(server: server, directory: dir, logs: logs)
    }

    func stop(removing: Bool = true) async throws {
        try await server.stop()
        if removing { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Sends a request; `json` is serialised as the body.
    func call(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, body: [UInt8]? = nil,
              headers: [(String, String)] = []) async throws -> HTTPResult {
        var h = headers
        if let token { h.append(("Authorization", "Bearer \(token)")) }
        var payload = body
        if let json {
            payload = Array(try JSONSerialization.data(withJSONObject: json))
            h.append(("Content-Type", "application/json"))
        }
        return try await HTTPClient.send(port: port, method: method, path: path, headers: h, body: payload)
    }

    static let password = "Correct-Horse-42!"

    /// Registers a user and returns its token.
    func register(_ email: String) async throws -> String {
        let r = try await call("POST", "/api/auth/register", json: ["email": email, "password": Self.password])
        guard r.status == 201, let token = r.json["token"] as? String else {
            throw HTTPClient.Failure(description: "register \(email): \(r.status) \(r.text)")
        }
        return token
    }

    /// Adds `email` (registered) to the site with `role`, as an accepted invitation would.
    func addMember(_ email: String, _ site: String, role: String) async throws {
        try await server.core.meta.pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO site_members (site_id, user_id, role, joined_at) SELECT ?, id, ?, 0 FROM users WHERE email = ?",
                           arguments: [site, role, email])
        }
    }

    /// Gives a user (by id) `role` on the site, as an accepted invitation would.
    func addMember(userId: String, _ site: String, role: String) async throws {
        try await server.core.meta.pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO site_members (site_id, user_id, role, joined_at) VALUES (?, ?, ?, 0)",
                           arguments: [site, userId, role])
        }
    }

    /// The id of the user a token belongs to.
    func userId(_ token: String) async throws -> String {
        let r = try await call("GET", "/api/user/status", token: token)
        guard let id = r.json["id"] as? String else {
            throw HTTPClient.Failure(description: "user status: \(r.status) \(r.text)")
        }
        return id
    }

    /// Creates a site and returns its id.
    func createSite(_ token: String, domain: String, timezone: String = "UTC") async throws -> String {
        let r = try await call("POST", "/api/sites", token: token, json: ["domain": domain, "timezone": timezone])
        guard r.status == 201, let site = r.json["site"] as? [String: Any], let id = site["id"] as? String else {
            throw HTTPClient.Failure(description: "create site \(domain): \(r.status) \(r.text)")
        }
        return id
    }
}

/// Percent-encodes a query value.
func q(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
}
