/// An error a query answers with: the api.md message and the HTTP status it maps to.
///
/// Parameter and validation failures are 400 (the default); "no data" answers such as the
/// heatmap `No heatmap data found for this page` are 404.
public struct QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exact `error` text of the api.md response body.
    public var message: String
    /// The HTTP status code (400 unless stated).
    public var status: Int

    public init(_ message: String, status: Int = 400) {
        self.message = message
        self.status = status
    }

    public init(message: String, status: Int = 400) {
        self.message = message
        self.status = status
    }

    public var description: String { "\(status) \(message)" }
}
