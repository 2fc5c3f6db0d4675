import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A webhook receiver for the tests: a real Hummingbird server on a loopback port in the test
/// process. Every request is recorded with its raw body bytes; what it answers is planned per
/// path (a list of statuses, the last one repeating; default 200); `/redirect` answers 302 to
/// `/target`; paths under `/gate` wait until `openGate()`.
final class WebhookReceiver: @unchecked Sendable {  // port and task are set once, before it is shared
    struct Hit: Sendable {
        var path: String
        /// Header names lower-cased.
        var headers: [String: String]
        var body: [UInt8]

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
        var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    }

    private struct State {
        var hits: [Hit] = []
        var plans: [String: [Int]] = [:]
        var gateOpen = false
        var gateWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    private(set) var port = 0
    private var task: Task<Void, any Error>?

    static func start() async throws -> WebhookReceiver {
        let r = WebhookReceiver()
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let app = Application(responder: Responder(receiver: r),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                              onServerRunning: { ch in
                                  cont.yield(ch.localAddress?.port ?? 0)
                                  cont.finish()
                              })
        r.task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next(), port > 0 else { throw HTTPClient.Failure(description: "receiver did not start") }
        r.port = port
        return r
    }

    func stop() async {
        openGate()
        task?.cancel()
        _ = await task?.result
    }

    func url(_ path: String, host: String = "127.0.0.1") -> String { "http://\(host):\(port)\(path)" }

    /// Answers `statuses` in order on `path`, then keeps answering the last one.
    func plan(_ path: String, _ statuses: [Int]) { state.withLock { $0.plans[path] = statuses } }

    func hits(_ path: String? = nil) -> [Hit] { state.withLock { s in s.hits.filter { path == nil || $0.path == path } } }

    func openGate() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.gateOpen = true
            defer { s.gateWaiters = [] }
            return s.gateWaiters
        }
        for w in waiters { w.resume() }
    }

    fileprivate func record(_ hit: Hit) -> Int {
        state.withLock { s in
            s.hits.append(hit)
            guard var plan = s.plans[hit.path], let first = plan.first else { return 200 }
            if plan.count > 1 { plan.removeFirst(); s.plans[hit.path] = plan }
            return first
        }
    }

    fileprivate func waitForGate() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let open = state.withLock { s -> Bool in
                if s.gateOpen { return true }
                s.gateWaiters.append(c)
                return false
            }
            if open { c.resume() }
        }
    }

    private struct Responder: HTTPResponder {
        typealias Context = BasicRequestContext
        let receiver: WebhookReceiver

        func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
            var req = request
            let body = try await req.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName.lowercased()] = f.value }
            // HTTP/1 `Host` arrives as the request's authority, not among the header fields.
            if let authority = request.head.authority { headers["host"] = authority }
            let path = request.uri.path
            let status = receiver.record(Hit(path: path, headers: headers, body: Array(body.readableBytesView)))
            if path.hasPrefix("/gate") { await receiver.waitForGate() }
            if path == "/redirect" {
                var h = HTTPFields()
                h[.location] = receiver.url("/target")
                return Response(status: .found, headers: h)
            }
            return Response(status: HTTPResponse.Status(code: status), body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
    }
}

/// Waits until `condition` holds, checking every few milliseconds, for at most `timeout`
/// (generous: CI machines are loaded); fails with `what` otherwise.
func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now > deadline { throw HTTPClient.Failure(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
