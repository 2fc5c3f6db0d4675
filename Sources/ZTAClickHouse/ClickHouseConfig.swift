/// One ClickHouse server's HTTP interface.
public struct ClickHouseEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    /// Parses `HOST:PORT` (port defaults to 8123; `[v6]:PORT` for IPv6 literals).
    static func parse(_ s: Substring) throws(ClickHouseError) -> ClickHouseEndpoint {
        var host = s, port = 8123
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw ClickHouseError("invalid host: \(s)") }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { throw ClickHouseError("invalid port in \(s)") }
                port = p
            }
        } else if let colon = s.lastIndex(of: ":") {
            host = s[..<colon]
            guard let p = Int(s[s.index(after: colon)...]) else { throw ClickHouseError("invalid port in \(s)") }
            port = p
        }
        guard !host.isEmpty else { throw ClickHouseError("missing host in \(s)") }
        guard (1...65535).contains(port) else { throw ClickHouseError("port out of range in \(s)") }
        return ClickHouseEndpoint(host: String(host), port: port)
    }
}

/// Where the ClickHouse event store lives, from `--events clickhouse://HOST:PORT/DB` (or
/// `ZTAS_EVENTS`), with the credentials from `ZTAS_CLICKHOUSE_USER` / `ZTAS_CLICKHOUSE_PASSWORD`.
///
/// A cluster is named in the query string: `clickhouse://h1:8123/ztas?cluster=NAME&shards=h1:8123,h2:8123`.
/// `cluster` is the `remote_servers` entry the `Distributed` table reads through; `shards` lists
/// every shard's HTTP address (schema changes are applied on each, since a cluster without
/// ZooKeeper has no `ON CLUSTER` DDL). Without `cluster` the store is one `MergeTree` table.
public struct ClickHouseConfig: Sendable, Equatable {
    /// The server queries and inserts go to (with a cluster: any shard; its `Distributed` table
    /// fans out).
    public var endpoint: ClickHouseEndpoint
    public var database: String
    public var cluster: String?
    /// Every shard's HTTP address (cluster only).
    public var shards: [ClickHouseEndpoint]
    public var user: String?
    public var password: String?

    public init(endpoint: ClickHouseEndpoint, database: String, cluster: String? = nil, shards: [ClickHouseEndpoint] = [],
                user: String? = nil, password: String? = nil) {
        self.endpoint = endpoint
        self.database = database
        self.cluster = cluster
        self.shards = shards
        self.user = user
        self.password = password
    }

    /// Parses a `clickhouse://` address; `environment` supplies the user and password.
    public static func parse(_ url: String, environment: [String: String] = [:]) throws(ClickHouseError) -> ClickHouseConfig {
        let scheme = "clickhouse://"
        guard url.hasPrefix(scheme) else { throw ClickHouseError("expected clickhouse://HOST:PORT/DATABASE, got \(url)") }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw ClickHouseError("missing database in \(url) (clickhouse://HOST:PORT/DATABASE)") }
        let endpoint = try ClickHouseEndpoint.parse(rest[..<slash])
        let database = String(rest[rest.index(after: slash)...])
        guard isIdentifier(database) else {
            throw ClickHouseError("invalid database name \"\(database)\" (letters, digits and _; not starting with a digit)")
        }
        var config = ClickHouseConfig(endpoint: endpoint, database: database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = kv[0], value = kv.count > 1 ? kv[1] : ""
            switch key {
            case "cluster":
                guard isIdentifier(String(value)) else { throw ClickHouseError("invalid cluster name \"\(value)\"") }
                config.cluster = String(value)
            case "shards":
                var list: [ClickHouseEndpoint] = []
                for s in value.split(separator: ",") { list.append(try ClickHouseEndpoint.parse(s)) }
                config.shards = list
            default:
                throw ClickHouseError("unknown parameter \"\(key)\" in \(url) (cluster, shards)")
            }
        }
        if config.cluster != nil && config.shards.isEmpty { config.shards = [endpoint] }
        if config.cluster == nil && !config.shards.isEmpty { throw ClickHouseError("shards= needs cluster=") }
        if let u = environment["ZTAS_CLICKHOUSE_USER"], !u.isEmpty { config.user = u }
        if let p = environment["ZTAS_CLICKHOUSE_PASSWORD"] { config.password = p }
        return config
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`: names ztas writes into SQL unquoted.
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return s.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_")
        }
    }
}
