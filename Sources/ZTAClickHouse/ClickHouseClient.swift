import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// A small synchronous client of one ClickHouse server's HTTP interface (over one
/// async-http-client pool for all of them, `clickHouseHTTP`). Statements go in the POST body; data for an `INSERT` goes in the body after the
/// statement's text in the `query` URL parameter. Answers are raw bytes (`FORMAT TabSeparated`,
/// parsed by `TabSeparated`). Callers are worker threads (the query gate's, an import's), never
/// an event loop: each call blocks its thread until the answer is read.
public final class ClickHouseClient: Sendable {
    public let endpoint: ClickHouseEndpoint
    let authorization: String?
    let http: HTTPClient

    /// `user`/`password`: HTTP basic authentication (every ClickHouse version accepts it).
    public init(endpoint: ClickHouseEndpoint, user: String? = nil, password: String? = nil) {
        self.endpoint = endpoint
        if let user {
            authorization = "Basic " + base64(Array("\(user):\(password ?? "")".utf8))
        } else {
            authorization = nil
        }
        http = clickHouseHTTP
    }

    /// Runs `sql` (its text in the body) and returns the answer's body. `database` is the
    /// default database of the statement; `settings` are ClickHouse settings for this query only.
    public func query(_ sql: String, database: String? = nil, settings: [(String, String)] = [],
                      timeoutSeconds: Int64 = 300) throws(ClickHouseError) -> [UInt8] {
        try send(url: url(database: database, settings: settings, query: nil), body: Array(sql.utf8), timeoutSeconds: timeoutSeconds)
    }

    /// Runs `INSERT … FORMAT …` (`statement`) with `data` as its rows.
    public func insert(_ statement: String, data: [UInt8], database: String? = nil, settings: [(String, String)] = [],
                       timeoutSeconds: Int64 = 300) throws(ClickHouseError) {
        _ = try send(url: url(database: database, settings: settings, query: statement), body: data, timeoutSeconds: timeoutSeconds)
    }

    private func url(database: String?, settings: [(String, String)], query: String?) -> String {
        var params: [(String, String)] = []
        if let database { params.append(("database", database)) }
        params += settings
        if let query { params.append(("query", query)) }
        var s = "http://\(endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host):\(endpoint.port)/"
        for (i, (k, v)) in params.enumerated() {
            s += i == 0 ? "?" : "&"
            s += percentEncode(k) + "=" + percentEncode(v)
        }
        return s
    }

    private func send(url: String, body: [UInt8], timeoutSeconds: Int64) throws(ClickHouseError) -> [UInt8] {
        let response: HTTPClient.Response
        do {
            var headers = HTTPHeaders()
            if let authorization { headers.add(name: "Authorization", value: authorization) }
            let request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .bytes(body))
            response = try http.execute(request: request, deadline: .now() + .seconds(timeoutSeconds)).wait()
        } catch {
            throw ClickHouseError("\(endpoint) unreachable: \(error)")
        }
        var buffer = response.body ?? ByteBuffer()
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard response.status == .ok else {
            let text = String(decoding: bytes.prefix(2000), as: UTF8.self).trimmingSuffix()
            throw ClickHouseError("\(endpoint) answered \(response.status.code): \(text)", status: Int(response.status.code))
        }
        return bytes
    }
}

/// The HTTP client every ClickHouse call goes through: one pool for the process, never shut
/// down. Unlike `HTTPClient.shared` it does not keep retrying to connect until a 90 s connect
/// timeout: with a server down a call fails within seconds, so the shipper backs off and counts
/// the error, a query answers with an error instead of hanging, and `serve` refuses to start
/// promptly. No read timeout (the shared client's is 90 s): a query is bounded by its deadline.
/// Idle connections are closed after 2 s, before ClickHouse's own keep-alive timeout (3 s by
/// default) closes them under a request about to be sent, and so that a server shutting down
/// (which waits for its open connections) is not held up by connections nobody uses.
private let clickHouseHTTP: HTTPClient = {
    var c = HTTPClient.Configuration.singletonConfiguration
    c.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: nil)
    c.connectionPool.retryConnectionEstablishment = false
    c.connectionPool.idleTimeout = .seconds(2)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: c)
}()

extension String {
    fileprivate func trimmingSuffix() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
func percentEncode(_ s: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count)
    let hex = Array("0123456789ABCDEF".utf8)
    for c in s.utf8 {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(c)
        default:
            out.append(UInt8(ascii: "%")); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Standard base64 with padding (the basic-authentication header).
func base64(_ b: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        let n = min(3, b.count - i)
        let v = (UInt32(b[i]) << 16) | (n > 1 ? UInt32(b[i + 1]) << 8 : 0) | (n > 2 ? UInt32(b[i + 2]) : 0)
        out.append(table[Int((v >> 18) & 63)])
        out.append(table[Int((v >> 12) & 63)])
        out.append(n > 1 ? table[Int((v >> 6) & 63)] : UInt8(ascii: "="))
        out.append(n > 2 ? table[Int(v & 63)] : UInt8(ascii: "="))
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}
