import ZTAQuery

/// An error answer of api.md §1: `{ error, details? }` plus any documented extra keys.
public struct APIError: Error, Sendable {
    public var status: Int
    public var message: String
    public var details: [String]?
    /// Extra keys (e.g. `retryAfter`), written after `error`.
    public var extra: [(String, JSONValue)] = []
    /// Extra response headers (e.g. `Allow`, `Retry-After`).
    public var headers: [(String, String)] = []

    public init(_ status: Int, _ message: String, details: [String]? = nil) {
        self.status = status
        self.message = message
        self.details = details
    }

    var body: JSONValue {
        var m: [(String, JSONValue)] = [("error", .string(message))]
        if let details { m.append(("details", .array(details.map { .string($0) }))) }
        m.append(contentsOf: extra)
        return .object(m)
    }

    static let notFound = APIError(404, "Not found")
    static let accessDenied = APIError(403, "Access denied")
    static let authRequired = APIError(401, "Authentication required")
    static let invalidJSON = APIError(400, "Invalid JSON body")
    static let tooLarge = APIError(413, "Request body too large")
    static let internalError = APIError(500, "Internal server error")
    static let jwtOnly = APIError(403, "This endpoint requires a user session")
    /// A key of too weak a scope, or bound to another site (api.md §1, §3).
    static let keyScope = APIError(403, "API key does not allow this operation")

    static func badRequest(_ m: String, details: [String]? = nil) -> APIError { APIError(400, m, details: details) }
    static func required(_ field: String) -> APIError { APIError(400, "\(field) is required") }
    static func invalid(_ field: String) -> APIError { APIError(400, "Invalid \(field)") }

    init(_ e: QueryError) { self.init(e.status, e.message) }
}
