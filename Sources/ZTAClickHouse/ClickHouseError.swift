/// A failure talking to ClickHouse: a bad `clickhouse://` address, a server that cannot be
/// reached, an exception the server answered with, or an answer the parser did not expect.
public struct ClickHouseError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The HTTP status of the server's answer (0 when there was none).
    public var status: Int

    public init(_ message: String, status: Int = 0) {
        self.message = message
        self.status = status
    }

    public var description: String { "ClickHouse: \(message)" }
}
