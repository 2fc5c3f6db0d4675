import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One HTTP attempt of a webhook delivery and what came of it (api.md §7.8 retry rules).
enum WebhookAttemptOutcome: Sendable, Equatable {
    /// A 2xx answer.
    case delivered(status: Int)
    /// 429 or 5xx: worth another attempt.
    case retryableStatus(Int)
    /// Any other answer (3xx included: redirects are not followed): no retry.
    case rejectedStatus(Int)
    /// Connection failure, TLS failure, timeout: worth another attempt.
    case networkError(String)
    /// Refused before connecting (the SSRF guard, an unusable URL): no retry.
    case refused(String)

    var isSuccess: Bool { if case .delivered = self { return true }; return false }

    var isRetryable: Bool {
        switch self {
        case .retryableStatus, .networkError: true
        default: false
        }
    }

    var status: Int? {
        switch self {
        case .delivered(let s), .retryableStatus(let s), .rejectedStatus(let s): s
        default: nil
        }
    }
}

/// The HTTP side of deliveries: async-http-client with redirects disallowed and a timeout, and
/// the connection pinned to the address the SSRF guard checked (`dnsOverride`: the client
/// connects to that address while TLS still verifies the certificate for the URL's host name).
///
/// `dnsOverride` belongs to a client's configuration, so there is one client per (host,
/// address) pair, kept for reuse of its connections; at most `maxClients`, the oldest shut down.
final class WebhookTransport: Sendable {
    private struct Clients {
        var byKey: [String: HTTPClient] = [:]
        var order: [String] = []
        var closed = false
    }
    private let clients = Mutex(Clients())
    private let timeout: Duration
    /// The event loop of the clients (the webhooks' own low-priority thread).
    private let executor: WebhookExecutor
    static let maxClients = 32
    /// Answer bytes read (and thrown away) at most: a receiver can't make us buffer much.
    static let maxResponseBytes = 64 << 10

    init(timeout: Duration, executor: WebhookExecutor) {
        self.timeout = timeout
        self.executor = executor
    }

    private var timeAmount: TimeAmount {
        let c = timeout.components
        return .nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }

    /// The client for `host` pinned to `address` (nil: the URL's host is itself the address).
    private func client(host: String, address: String?) -> HTTPClient? {
        let key = address.map { host + "|" + $0 } ?? ""
        var evicted: HTTPClient?
        let c = clients.withLock { s -> HTTPClient? in
            if s.closed { return nil }
            if let c = s.byKey[key] { return c }
            guard let loop = executor.loop else { return nil }
            var config = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                  timeout: .init(connect: timeAmount, read: timeAmount))
            config.decompression = .disabled
            if let address { config.dnsOverride = [host: address] }
            let c = HTTPClient(eventLoopGroup: loop, configuration: config)
            s.byKey[key] = c
            s.order.append(key)
            if s.order.count > Self.maxClients {
                let old = s.order.removeFirst()
                evicted = s.byKey.removeValue(forKey: old)
            }
            return c
        }
        if let evicted { Task { try? await evicted.shutdown() } }
        return c
    }

    /// One POST of `body` to `url`, connecting to `address` for `host`.
    func post(url: String, host: String, address: String?, headers: [(String, String)], body: [UInt8]) async -> WebhookAttemptOutcome {
        guard let client = client(host: host, address: address) else { return .refused("shutting down") }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: timeAmount)
            // Drain a bounded amount so the connection can be reused; the content is not used.
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if read > Self.maxResponseBytes { break }
            }
            let code = Int(response.status.code)
            switch code {
            case 200..<300: return .delivered(status: code)
            case 429, 500..<600: return .retryableStatus(code)
            default: return .rejectedStatus(code)
            }
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return .networkError("timeout")
        } catch {
            return .networkError(String(describing: type(of: error)))
        }
    }

    /// Shuts every client down (server stop); later posts are refused.
    func shutdown() async {
        let all = clients.withLock { s -> [HTTPClient] in
            s.closed = true
            let all = Array(s.byKey.values)
            s.byKey = [:]
            s.order = []
            return all
        }
        for c in all { try? await c.shutdown() }
    }
}
