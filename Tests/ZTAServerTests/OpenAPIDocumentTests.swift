import Foundation
import HTTPTypes
import Testing
@testable import ZTAServer

/// The OpenAPI document (`Sources/ZTAServer/OpenAPI/openapi.json`) against the route table:
/// the same (method, path template) pairs, and per operation the security, error answers and
/// request body its `Endpoint` implies.
@Suite("OpenAPI document", .serialized)
struct OpenAPIDocumentTests {
    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The document as JSON.
    static func document() throws -> [String: Any] {
        let any = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes))
        return try #require(any as? [String: Any])
    }

    /// Routes the document must describe: `/api/*`, `/health` and `/metrics` (not web pages or assets).
    static func isAPI(_ template: String) -> Bool {
        template.hasPrefix("/api/") || template == "/health" || template == "/metrics"
    }

    /// "METHOD /template" → its endpoint, for every API route of the table.
    static func routeOperations() async throws -> [String: Endpoint] {
        let s = try await TestServer.start()
        let table = s.server.core.makeRoutes()
        try await s.stop()
        var out: [String: Endpoint] = [:]
        for route in table.routes where isAPI(route.template) {
            for (method, endpoint) in route.methods { out["\(method.rawValue) \(route.template)"] = endpoint }
        }
        return out
    }

    /// "METHOD /template" → its operation object, for every operation of the document.
    static func documentOperations() throws -> [String: [String: Any]] {
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        var out: [String: [String: Any]] = [:]
        for (path, item) in paths {
            for (key, value) in item where methods.contains(key) {
                out["\(key.uppercased()) \(path)"] = value as? [String: Any] ?? [:]
            }
        }
        return out
    }

    @Test func describesExactlyTheRoutes() async throws {
        let routes = Set(try await Self.routeOperations().keys)
        let documented = Set(try Self.documentOperations().keys)
        #expect(routes.count > 40)
        let undocumented = routes.subtracting(documented).sorted()
        let unrouted = documented.subtracting(routes).sorted()
        #expect(undocumented.isEmpty, "routes the document does not describe: \(undocumented)")
        #expect(unrouted.isEmpty, "operations of the document without a route: \(unrouted)")
        let doc = try Self.document()
        #expect(doc["openapi"] as? String == "3.1.0")
    }

    @Test func operationsMatchTheirEndpoints() async throws {
        let routes = try await Self.routeOperations()
        let ops = try Self.documentOperations()
        for (key, endpoint) in routes {
            guard let op = ops[key] else { continue }  // reported by describesExactlyTheRoutes
            let responses = op["responses"] as? [String: Any] ?? [:]
            let codes = Set(responses.keys)
            #expect(op["operationId"] is String, "\(key): operationId")
            #expect(codes.contains { $0.hasPrefix("2") }, "\(key): no success answer")
            // Security requirements as the auth policy says.
            let schemes = Set((op["security"] as? [[String: Any]] ?? []).flatMap(\.keys))
            let optional = (op["security"] as? [[String: Any]] ?? []).contains { $0.isEmpty }
            switch endpoint.auth {
            case .none:
                #expect(schemes.isEmpty || optional, "\(key): no credentials needed, but the document requires \(schemes)")
                #expect(!codes.contains("401") || key.hasSuffix("/metrics") || key.contains("/api/auth/"),
                        "\(key): 401 documented without credentials")
            case .jwt:
                #expect(schemes == ["bearerAuth"] && !optional, "\(key): JWT only, document says \(schemes)")
            case .jwtOrKey:
                #expect(schemes == ["bearerAuth", "apiKey"] && !optional, "\(key): JWT or key, document says \(schemes)")
            }
            if case .none = endpoint.auth {} else {
                for code in ["401", "403", "429"] { #expect(codes.contains(code), "\(key): \(code) not documented") }
            }
            if endpoint.ipLimits != nil { #expect(codes.contains("429"), "\(key): IP-limited without 429") }
            // A body read by the dispatcher can be too large; a JSON body can be invalid.
            switch endpoint.body {
            case .ignore:
                #expect(op["requestBody"] == nil, "\(key): body documented but ignored")
            case .limit, .stream:
                #expect(codes.contains("413"), "\(key): 413 not documented")
            }
            if op["requestBody"] != nil { #expect(codes.contains("400"), "\(key): body without 400") }
        }
    }

    @Test func everyErrorAnswerUsesTheErrorSchema() throws {
        let doc = try Self.document()
        let components = try #require(doc["components"] as? [String: Any])
        let shared = try #require(components["responses"] as? [String: [String: Any]])
        for (key, op) in try Self.documentOperations() {
            for (code, answer) in op["responses"] as? [String: Any] ?? [:] where code.hasPrefix("4") {
                var response = answer as? [String: Any] ?? [:]
                if let ref = response["$ref"] as? String, let name = ref.split(separator: "/").last {
                    response = shared[String(name)] ?? [:]
                }
                let schema = ((response["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
                #expect(schema?["$ref"] as? String == "#/components/schemas/Error", "\(key) \(code): not the error schema")
            }
        }
    }

    @Test func servedAtAPIOpenAPIJSON() async throws {
        let s = try await TestServer.start()
        let r = try await s.call("GET", "/api/openapi.json")
        #expect(r.status == 200)
        #expect(r.body == OpenAPIDocument.bytes)
        #expect(r.header("Content-Type") == "application/json; charset=utf-8")
        #expect(r.header("Access-Control-Allow-Origin") == "*")
        #expect(try await s.call("POST", "/api/openapi.json").status == 405)
        try await s.stop()
    }

    @Test func rateLimitMultiplierScalesEveryLimit() {
        var c = ServerConfig(dataDirectory: "/nonexistent")
        c.apply(environment: ["RATE_LIMIT_MULTIPLIER": "1000", "RATE_LIMIT_USER_PER_MINUTE": "7"])
        #expect(c.rateLimits.userMinute == RateLimit(7000, per: 60))
        #expect(c.rateLimits.register == RateLimit(10_000, per: 3600))
        #expect(c.rateLimits.unauthorized == RateLimit(100_000, per: 60))
        #expect(c.rateLimits.loginFailures == RateLimit(5000, per: 900))
        var big = RateLimitConfig()
        big.login.limit = Int.max / 2
        big.scale(by: 3)
        #expect(big.login.limit == Int.max)
        var same = ServerConfig(dataDirectory: "/nonexistent")
        same.apply(environment: ["RATE_LIMIT_MULTIPLIER": "0"])
        #expect(same.rateLimits.login == RateLimit(20, per: 60))
    }
}
