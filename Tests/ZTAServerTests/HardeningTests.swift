import Dispatch
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ZTAStorage
@testable import ZTAServer

/// Regression tests of the defects a review found (issue 9). Each failed before its fix: the
/// races crashed the process or let every concurrent request through.
@Suite struct HardeningTests {
    /// Runs `n` copies of `body` at once and returns their results.
    static func concurrently<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: T.self) { g in
            for k in 0..<n { g.addTask { try await body(k) } }
            var out: [T] = []
            for try await v in g { out.append(v) }
            return out
        }
    }

    @Test func apiKeyRenameRacingRevokeNeverTraps() async throws {
        let s = try await TestServer.start { $0.rateLimits.userMinute = RateLimit(10_000, per: 60); $0.rateLimits.userHour = RateLimit(10_000, per: 3600) }
        let t = try await s.register("race@example.com")
        for round in 0..<15 {
            let created = try await s.call("POST", "/api/api-keys", token: t, json: ["name": "k\(round)", "scope": "read"])
            let id = try #require((created.json["apiKey"] as? [String: Any])?["id"] as? String)
            let statuses = try await Self.concurrently(6) { k in
                k % 2 == 0
                    ? try await s.call("PATCH", "/api/api-keys", token: t, json: ["id": id, "name": "renamed\(k)"]).status
                    : try await s.call("DELETE", "/api/api-keys?id=\(id)", token: t).status
            }
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 404 }, "\(statuses)")
            #expect(statuses.filter { $0 == 200 }.count >= 1)
        }
        #expect(try await s.call("GET", "/health").status == 200)
        try await s.stop()
    }

    @Test func loginFailuresAreReservedBeforeTheHashCheck() async throws {
        let s = try await TestServer.start { $0.rateLimits.loginFailures = RateLimit(3, per: 900) }
        _ = try await s.register("brute@example.com")
        let statuses = try await Self.concurrently(12) { k in
            try await s.call("POST", "/api/auth/login", json: ["email": "brute@example.com", "password": "Wrong-Password-\(k)"]).status
        }
        #expect(statuses.filter { $0 == 401 }.count == 3, "\(statuses.sorted())")
        #expect(statuses.filter { $0 == 429 }.count == 9)
        try await s.stop()
    }

    /// A user with 2FA and the token of its first session.
    static func twoFactorUser(_ s: TestServer, _ email: String) async throws -> String {
        let t = try await s.register(email)
        let secret = try #require(try await s.call("POST", "/api/auth/2fa/setup", token: t).json["secret"] as? String)
        let step = Int64(Date().timeIntervalSince1970) / 30
        let v = try await s.call("POST", "/api/auth/2fa/verify", token: t, json: ["code": AuthTests.code(secret, step: step)])
        #expect(v.status == 200)
        return secret
    }

    static func tempToken(_ s: TestServer, _ email: String) async throws -> String {
        let login = try await s.call("POST", "/api/auth/login", json: ["email": email, "password": TestServer.password])
        return try #require(login.json["tempToken"] as? String)
    }

    @Test func twoFactorAttemptsAreSpentBeforeTheCheck() async throws {
        let s = try await TestServer.start {
            $0.rateLimits.twoFactorAttempts = 3
            $0.rateLimits.twoFactorIP = RateLimit(1000, per: 60)
            $0.rateLimits.twoFactorFailures = RateLimit(1000, per: 900)
        }
        _ = try await Self.twoFactorUser(s, "guess@example.com")
        let temp = try await Self.tempToken(s, "guess@example.com")
        let errors = try await Self.concurrently(12) { k in
            try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": temp, "code": String(format: "%06d", 100_000 + k)]).error ?? ""
        }
        // Three attempts, whatever the interleaving; the other nine find the token void.
        #expect(errors.filter { $0 == "Invalid verification code" }.count == 3, "\(errors)")
        #expect(errors.filter { $0 == "Invalid temporary token" }.count == 9)
        try await s.stop()
    }

    @Test func twoFactorFailuresCountPerAccountAcrossLogins() async throws {
        let s = try await TestServer.start {
            $0.rateLimits.twoFactorFailures = RateLimit(4, per: 900)
            $0.rateLimits.twoFactorIP = RateLimit(1000, per: 60)
        }
        let secret = try await Self.twoFactorUser(s, "persist@example.com")
        for _ in 0..<2 {
            let temp = try await Self.tempToken(s, "persist@example.com")  // a fresh password login each time
            for _ in 0..<2 { #expect(try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": temp, "code": "000000"]).status == 401) }
        }
        // A new login gives a new token but no new guesses — not even the right code gets through.
        let temp = try await Self.tempToken(s, "persist@example.com")
        let step = Int64(Date().timeIntervalSince1970) / 30 + 1
        let r = try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": temp, "code": AuthTests.code(secret, step: step)])
        #expect(r.status == 429)
        #expect(r.header("Retry-After") != nil)
        try await s.stop()
    }

    @Test func twoFactorValidateIsLimitedPerIP() async throws {
        let s = try await TestServer.start { $0.rateLimits.twoFactorIP = RateLimit(2, per: 60) }
        for k in 0..<2 {
            #expect(try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": "tfa_x\(k)", "code": "123456"]).status == 401)
        }
        #expect(try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": "tfa_y", "code": "123456"]).status == 429)
        try await s.stop()
    }

    @Test func oneTOTPCodeLogsInOnceEvenConcurrently() async throws {
        let s = try await TestServer.start { $0.rateLimits.twoFactorIP = RateLimit(1000, per: 60) }
        let secret = try await Self.twoFactorUser(s, "once@example.com")
        var temps: [String] = []
        for _ in 0..<6 { temps.append(try await Self.tempToken(s, "once@example.com")) }
        let code = AuthTests.code(secret, step: Int64(Date().timeIntervalSince1970) / 30 + 1)
        let tokens = temps
        let statuses = try await Self.concurrently(6) { k in
            try await s.call("POST", "/api/auth/2fa/validate", json: ["tempToken": tokens[k], "code": code]).status
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        try await s.stop()
    }

    @Test func unauthorizedAnswersOfLoginCountPerIP() async throws {
        let s = try await TestServer.start {
            $0.rateLimits.unauthorized = RateLimit(3, per: 60)
            $0.rateLimits.loginFailures = RateLimit(100, per: 900)
        }
        _ = try await s.register("ip@example.com")
        for k in 0..<3 {
            #expect(try await s.call("POST", "/api/auth/login", json: ["email": "ip@example.com", "password": "Nope-\(k)"]).status == 401)
        }
        #expect(try await s.call("POST", "/api/auth/login", json: ["email": "ip@example.com", "password": "Nope-x"]).status == 429)
        try await s.stop()
    }

    @Test func keyScopeRefusalsAreRateLimitedAndDoNotTouchLastUsed() async throws {
        let s = try await TestServer.start { $0.rateLimits.userMinute = RateLimit(3, per: 60) }
        let t = try await s.register("scope@example.com")
        let created = try await s.call("POST", "/api/api-keys", token: t, json: ["name": "ro", "scope": "read"])
        let key = try #require((created.json["apiKey"] as? [String: Any])?["key"] as? String)
        var statuses: [Int] = []
        for _ in 0..<5 { statuses.append(try await s.call("POST", "/api/sites", token: key, json: ["domain": "x.example.com"]).status) }
        #expect(statuses == [403, 403, 403, 429, 429])
        let keys = try await s.call("GET", "/api/api-keys", token: t).json["apiKeys"] as? [[String: Any]] ?? []
        #expect(keys.first?["lastUsed"] is NSNull || keys.first?["lastUsed"] == nil, "\(keys)")
        try await s.stop()
    }

    @Test func resetLinksStayOutOfTheLogByDefaultAndOnlyTheNewestWorks() async throws {
        let quiet = try await TestServer.start { $0.logResetLinks = false }
        _ = try await quiet.register("quiet@example.com")
        #expect(try await quiet.call("POST", "/api/auth/forgot", json: ["email": "quiet@example.com"]).status == 200)
        #expect(quiet.logs.lastResetToken == nil)
        #expect(quiet.logs.lines.withLock { $0.contains { $0.0.contains("reset requested") } })
        try await quiet.stop()

        let s = try await TestServer.start()
        let t = try await s.register("twice@example.com")
        _ = try await s.call("POST", "/api/auth/forgot", json: ["email": "twice@example.com"])
        let first = try #require(s.logs.lastResetToken)
        _ = try await s.call("POST", "/api/auth/forgot", json: ["email": "twice@example.com"])
        let second = try #require(s.logs.lastResetToken)
        #expect(try await s.call("GET", "/api/auth/verify-reset-token?token=\(first)").json["valid"] as? Bool == false)
        #expect(try await s.call("GET", "/api/auth/verify-reset-token?token=\(second)").json["valid"] as? Bool == true)
        // A password change voids the outstanding link too.
        let changed = try await s.call("PATCH", "/api/user/password", token: t,
                                       json: ["currentPassword": TestServer.password, "newPassword": "Brand-New-Pass-9!"])
        #expect(changed.status == 200)
        #expect(try await s.call("GET", "/api/auth/verify-reset-token?token=\(second)").json["valid"] as? Bool == false)
        try await s.stop()
    }

    @Test func forgotTakesTheSameTimeForUnknownAddresses() async throws {
        let s = try await TestServer.start()
        _ = try await s.register("known@example.com")
        for email in ["known@example.com", "nobody@example.com"] {
            let start = ContinuousClock.now
            #expect(try await s.call("POST", "/api/auth/forgot", json: ["email": email]).status == 200)
            #expect(ContinuousClock.now - start >= ServerCore.forgotFloor, "\(email)")
        }
        try await s.stop()
    }

    @Test func badTrustedProxiesStopTheStart() async throws {
        for bad in ["/", "10.0.0.0/99", "not-an-ip"] {
            await #expect(throws: ServerError.self) { _ = try await TestServer.start { $0.trustedProxies = [bad] } }
        }
    }

    @Test func ipv6ClientsAreLimitedByTheirSlash64() {
        #expect(ClientAddressResolver.rateKey("2001:db8:1:2:aaaa::1") == ClientAddressResolver.rateKey("2001:db8:1:2:ffff::9"))
        #expect(ClientAddressResolver.rateKey("2001:db8:1:2::1") != ClientAddressResolver.rateKey("2001:db8:1:3::1"))
        #expect(ClientAddressResolver.rateKey("192.0.2.7") == "192.0.2.7")
        #expect(ClientAddressResolver.rateKey("::ffff:192.0.2.7") == "::ffff:192.0.2.7")
    }

    @Test func everyAnswerCarriesSecurityHeaders() async throws {
        let s = try await TestServer.start()
        for path in ["/health", "/api/nope", "/api/sites"] {
            let r = try await s.call("GET", path)
            #expect(r.header("X-Content-Type-Options") == "nosniff", "\(path)")
            #expect(r.header("Referrer-Policy") == "no-referrer", "\(path)")
            #expect(r.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true, "\(path)")
        }
        try await s.stop()
    }

    @Test func trackRefusalsCarryCORSAndEchoOnlyAMatchedOrigin() async throws {
        let s = try await TestServer.start {
            $0.rateLimits.track = RateLimit(2, per: 60)
            $0.maxTrackBody = 512
        }
        let t = try await s.register("cors@example.com")
        let site = try await s.createSite(t, domain: "cors.example.com")
        let evil = [("Origin", "https://evil.example.org")]
        // Refused before the site is known: `*`, never the unmatched Origin.
        let big = try await s.call("POST", "/api/track", body: Array(repeating: 0x20, count: 2048), headers: evil)
        #expect(big.status == 413)
        #expect(big.header("Access-Control-Allow-Origin") == "*")
        let bad = try await s.call("POST", "/api/track", json: ["type": "pageview"], headers: evil)
        #expect(bad.status == 400)
        #expect(bad.header("Access-Control-Allow-Origin") == "*")
        let ok = try await s.call("POST", "/api/track", json: ["siteId": site, "type": "pageview", "path": "/"],
                                  headers: [("Origin", "https://cors.example.com")])
        #expect(ok.status == 200)
        #expect(ok.header("Access-Control-Allow-Origin") == "https://cors.example.com")
        let limited = try await s.call("POST", "/api/track", json: ["siteId": site, "batch": true,
                                                                    "events": [["type": "pageview", "path": "/a"], ["type": "pageview", "path": "/b"]]],
                                       headers: evil)
        #expect(limited.status == 429)
        #expect(limited.header("Access-Control-Allow-Origin") == "*")
        let metrics = try await s.call("GET", "/metrics").text
        #expect(metrics.contains("zta_events_dropped_total{reason=\"rate_limited\"} 2"), "\(metrics.split(separator: "\n").filter { $0.contains("dropped") })")
        try await s.stop()
    }

    @Test func plusInAQueryStringStaysPlus() {
        #expect(QueryString.parse("filters=page%3D%3D%2Fa+b&x=1%202")["filters"] == "page==/a+b")
        #expect(QueryString.parse("x=1%202")["x"] == "1 2")
    }

    @Test func queryGateGivesUpAfterItsTimeout() async throws {
        let gate = QueryGate(width: 1, queueTimeout: .milliseconds(200))
        let held = try await gate.reserve()
        let start = ContinuousClock.now
        do {
            _ = try await gate.run { 2 }
            Issue.record("expected 503")
        } catch let e as APIError {
            #expect(e.status == 503)
            #expect(e.headers.contains { $0.0 == "Retry-After" })
        }
        #expect(ContinuousClock.now - start >= .milliseconds(190), "gave up before its queue deadline")
        held.release()
        #expect(try await gate.run { 3 } == 3)
    }

    /// A streamed export reserves its slot before answering and frees it exactly once — also
    /// when the reservation is simply dropped.
    @Test func aReservedSlotIsReleasedOnceAndWhenDropped() async throws {
        let gate = QueryGate(width: 1, queueTimeout: .milliseconds(200))
        _ = try await gate.reserve()
        #expect(try await gate.run { 1 } == 1)
        let held = try await gate.reserve()
        await #expect(throws: APIError.self) { _ = try await gate.run { 2 } }
        held.release()
        held.release()
        #expect(try await gate.run { 3 } == 3)
        let a = try await gate.reserve()  // a second release above did not make room for two
        await #expect(throws: APIError.self) { _ = try await gate.run { 4 } }
        a.release()
    }

    @Test func exportProducerGivesUpOnAStalledClient() throws {
        let pipe = ChunkPipe(capacity: 1, sendTimeout: .milliseconds(100))
        try pipe.send([1])  // fills the only slot; nobody consumes
        #expect(throws: ChunkPipe.Stalled.self) { try pipe.send([2]) }
    }

    /// A full disk under `/api/track`: 503 with `Retry-After`, nothing of the refused request
    /// stored, and tracking resumes by itself once space returns.
    @Test func fullDiskAnswers503AndResumes() async throws {
        let disk = FaultInjectingFileSystem()
        let s = try await TestServer.start {
            $0.fileSystem = disk
            $0.backgroundFlush = false
        }
        let t = try await s.register("disk@example.com")
        let site = try await s.createSite(t, domain: "disk.example.com")
        func track(_ path: String) async throws -> HTTPResult {
            try await s.call("POST", "/api/track", json: ["siteId": site, "type": "pageview", "path": path])
        }
        #expect(try await track("/before").status == 200)
        disk.diskFull = true
        let refused = try await track("/refused")
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") != nil)
        disk.diskFull = false
        #expect(try await track("/after").status == 200)
        let r = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=custom&date_from=2000-01-01&date_to=2099-12-31&property=page&metrics=pageviews", token: t)
        let pages = (r.json["results"] as? [[String: Any]] ?? []).compactMap { $0["page"] as? String }.sorted()
        #expect(pages == ["/after", "/before"], "\(r.text)")
        try await s.stop()
    }

    /// Sharper (issue 9 regression check): the test above turns the link log off itself, so
    /// it can't see the default. The default must be off; `DEV_MAIL_LOG` turns it on.
    @Test func resetLinksAreOffTheLogByDefault() {
        var config = ServerConfig(dataDirectory: "/nonexistent")
        #expect(config.logResetLinks == false)
        config.apply(environment: ["DEV_MAIL_LOG": "1"])
        #expect(config.logResetLinks == true)
    }

    /// Sharper (issue 9 regression check): nothing else asked `/api/stats-api` without `period`.
    /// The default is 7d even when date_from/date_to are given (they are read only for `custom`).
    @Test func statsAPIWithoutPeriodIsTheLastSevenDays() async throws {
        let s = try await TestServer.start { $0.backgroundFlush = false }
        let t = try await s.register("period@example.com")
        let site = try await s.createSite(t, domain: "period.example.com")
        #expect(try await s.call("POST", "/api/track", json: ["siteId": site, "type": "pageview", "path": "/today"]).status == 200)
        let r = try await s.call("GET", "/api/stats-api?site_id=\(site)&date_from=2020-01-01&date_to=2020-01-01&metrics=pageviews", token: t)
        #expect(r.status == 200, "\(r.text)")
        let rows = r.json["results"] as? [[String: Any]] ?? []
        #expect(rows.reduce(0) { $0 + ($1["pageviews"] as? Int ?? 0) } == 1, "\(r.text)")
        let query = r.json["query"] as? [String: Any] ?? [:]
        #expect(query["period"] as? String == "7d", "\(r.text)")
        // date_from/date_to are echoed for a custom period only (api.md §6 `query`).
        #expect(query["date_from"] == nil && query["date_to"] == nil, "\(r.text)")
        let custom = try await s.call("GET", "/api/stats-api?site_id=\(site)&period=custom&date_from=2020-01-01&date_to=2020-01-02&metrics=pageviews", token: t)
        let cq = custom.json["query"] as? [String: Any] ?? [:]
        #expect(cq["date_from"] as? String == "2020-01-01" && cq["date_to"] as? String == "2020-01-02", "\(custom.text)")
        try await s.stop()
    }

    /// Seconds until the server closes a connection on which nothing was sent; nil when it is
    /// still open after `wait` seconds.
    static func secondsUntilClosed(port: Int, wait: Int) async -> Double? {
        await withCheckedContinuation { (c: CheckedContinuation<Double?, Never>) in
            DispatchQueue.global().async {
                guard let fd = try? HTTPClient.connectLoopback(port: port, receiveTimeout: wait) else { c.resume(returning: nil); return }
                defer { close(fd) }
                let start = DispatchTime.now()
                var b: UInt8 = 0
                let n = recv(fd, &b, 1, 0)
                c.resume(returning: n == 0 ? Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 : nil)
            }
        }
    }

    /// Sharper (issue 9 regression check): nothing tested the idle timeout. A connection that
    /// sends nothing is closed once `idleTimeout` passes.
    @Test func anIdleConnectionIsClosed() async throws {
        let s = try await TestServer.start { $0.idleTimeout = .seconds(1) }
        let closedAfter = await Self.secondsUntilClosed(port: s.port, wait: 15)
        #expect(closedAfter != nil, "the server kept an idle connection open for 15 s")
        try await s.stop()
    }

    /// Sharper (issue 9 regression check): nothing tested the body timeout. A client that
    /// declares a body and sends only a byte of it gets 408 once `bodyReadTimeout` passes.
    @Test func aTricklingBodyIsCutOffWith408() async throws {
        let s = try await TestServer.start { $0.bodyReadTimeout = .seconds(1) }
        let r = try await s.call("POST", "/api/auth/login", body: Array("{".utf8),
                                 headers: [("Content-Type", "application/json"), ("Content-Length", "100")])
        #expect(r.status == 408, "\(r.status) \(r.text)")
        try await s.stop()
    }
}
