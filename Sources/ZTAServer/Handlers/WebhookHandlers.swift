/// `/api/webhooks` (api.md §7.8). Every operation wants the admin or owner role on the site
/// and, for an API key, the `admin` scope (§3). Checks follow §1: parameters, then the site's
/// visibility, then role and scope, then business rules (the private-address check, which
/// resolves the host, and the 10-per-site limit).
extension ServerCore {
    /// A webhook and its site, for PATCH/DELETE/test: unknown, or of a site the caller can't
    /// see → 404 `Webhook not found`.
    private func managedWebhook(_ call: Call, _ id: String) async throws -> WebhookRecord {
        guard let w = try await meta.webhook(id: id) else { throw APIError(404, "Webhook not found") }
        _ = try await authorizedSite(call, w.siteId, minRole: .admin, denied: APIError(404, "Webhook not found"))
        return w
    }

    /// `url` checked for syntax and scheme (parameters stage).
    private func webhookURL(_ text: String) throws(APIError) -> WebhookURL {
        switch WebhookURL.parse(text, allowHTTP: config.webhookAllowHTTP) {
        case .success(let u): return u
        case .failure(.notHTTPS): throw APIError.badRequest("URL must use HTTPS")
        case .failure: throw APIError.badRequest("Invalid webhook URL")
        }
    }

    /// The SSRF guard at creation / URL change: every resolved address must be public.
    private func checkWebhookAddress(_ u: WebhookURL) async throws {
        switch await webhooks.addressGuard.check(u) {
        case .success: return
        case .failure(.privateAddress): throw APIError.badRequest("URL must not point to a private network address")
        case .failure(.unresolvable): throw APIError.badRequest("Invalid webhook URL")
        }
    }

    /// `events`: a non-empty array of distinct known event names.
    static func webhookEvents(_ v: JSONValue) throws(APIError) -> [String] {
        guard let arr = v.arrayValue, !arr.isEmpty else { throw APIError.invalid("events") }
        var out: [String] = []
        for e in arr {
            guard let s = e.stringValue else { throw APIError.invalid("events") }
            guard let ev = WebhookEvent(rawValue: s), WebhookEvent.subscribable.contains(ev) else {
                throw APIError.badRequest("Invalid event type: \(s)")
            }
            if out.contains(s) { throw APIError.invalid("events") }
            out.append(s)
        }
        return out
    }

    /// `description`: a string of at most 200 characters (Unicode scalars), or null.
    static func webhookDescription(_ v: JSONValue) throws(APIError) -> String? {
        if v.isNull { return nil }
        guard let s = v.stringValue else { throw APIError.invalid("description") }
        if s.unicodeScalars.count > 200 { throw APIError.badRequest("description must be at most 200 characters") }
        return s
    }

    func listWebhooks(_ call: Call) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        _ = try await authorizedSite(call, siteId, minRole: .admin)
        let hooks = try await meta.webhooks(siteId: siteId)
        return .json(.object([("webhooks", .array(hooks.map { .object($0.json) })),
                              ("availableEvents", .array(WebhookEvent.subscribable.map { .string($0.rawValue) }))]))
    }

    func createWebhook(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let siteId = body["siteId"]?.stringValue, !siteId.isEmpty,
              let rawURL = body["url"]?.stringValue, !rawURL.isEmpty else {
            throw APIError.badRequest("Site ID and URL required")
        }
        let target = try webhookURL(rawURL)
        guard let ev = body["events"], !ev.isNull else { throw APIError.required("events") }
        let events = try Self.webhookEvents(ev)
        let description = try body["description"].map(Self.webhookDescription) ?? nil
        _ = try await authorizedSite(call, siteId, minRole: .admin)
        try await checkWebhookAddress(target)
        let secret = "whsec_" + Secrets.randomHex(bytes: 16)
        let record = WebhookRecord(id: Secrets.id("wh"), siteId: siteId, url: rawURL, events: events,
                                   description: description, secret: secret, createdBy: try call.user.id, createdAt: call.nowMs)
        guard case .inserted(let w) = try await meta.insertWebhook(record) else {
            throw APIError(409, "Webhook limit reached (10 per site)")
        }
        await webhooks.reload(siteId: siteId)
        await recordActivity(call, .webhookCreated, target: .webhook(id: w.id, url: w.url, description: w.description),
                             siteId: w.siteId, metadata: [("events", .array(w.events.map { .string($0) }))])
        return .json(.object([("webhook", .object(w.json + [("secret", .string(secret))]))]), status: .created)
    }

    func updateWebhook(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let id = body["id"]?.stringValue, !id.isEmpty else { throw APIError.badRequest("Webhook ID required") }
        var changes = WebhookChanges()
        var target: WebhookURL?
        // Present fields must have their type (null only clears `description`).
        if let u = body["url"] {
            guard let s = u.stringValue, !s.isEmpty else { throw APIError.badRequest("Invalid webhook URL") }
            target = try webhookURL(s)
            changes.url = s
        }
        if let e = body["events"] { changes.events = try Self.webhookEvents(e) }
        if let d = body["description"] { changes.description = .some(try Self.webhookDescription(d)) }
        if let a = body["active"] {
            guard let b = a.boolValue else { throw APIError.invalid("active") }
            changes.active = b
        }
        let old = try await managedWebhook(call, id)
        if let target { try await checkWebhookAddress(target) }
        guard let w = try await meta.updateWebhook(id: id, changes, nowMs: call.nowMs) else {
            throw APIError(404, "Webhook not found")
        }
        await webhooks.reload(siteId: old.siteId)
        await recordActivity(call, .webhookUpdated, target: .webhook(id: w.id, url: w.url, description: w.description),
                             siteId: w.siteId, metadata: Self.activityFields(body))
        return .json(.object([("webhook", .object(w.json))]))
    }

    func deleteWebhook(_ call: Call) async throws -> Reply.Out {
        guard let id = call.query["id"], !id.isEmpty else { throw APIError.badRequest("Webhook ID required") }
        let w = try await managedWebhook(call, id)
        guard try await meta.deleteWebhook(id: id) else { throw APIError(404, "Webhook not found") }
        await webhooks.reload(siteId: w.siteId)
        await recordActivity(call, .webhookDeleted, target: .webhook(id: w.id, url: w.url, description: w.description), siteId: w.siteId)
        return .ok("Webhook deleted successfully")
    }

    /// One `test` event, one attempt, answered with what happened. It does not count towards
    /// `failureCount` (decided: a test is not a delivery of a subscribed event).
    func testWebhook(_ call: Call) async throws -> Reply.Out {
        guard let id = call.pathParams["id"], !id.isEmpty else { throw APIError.badRequest("Webhook ID required") }
        let w = try await managedWebhook(call, id)
        let data: JSONValue = .object([("message", "This is a test webhook from Zero Trust Analytics"),
                                       ("webhookId", .string(w.id))])
        let (body, headers) = WebhookService.request(id: Secrets.id("dlv"), event: .test, webhookId: w.id, secret: w.secret,
                                                     timestampMs: call.nowMs, data: data)
        let outcome = await webhooks.attempt(url: w.url, body: body, headers: headers)
        var out: [(String, JSONValue)] = [("success", .bool(outcome.isSuccess))]
        if let s = outcome.status { out.append(("status", .int(s))) }
        let message: String
        switch outcome {
        case .delivered: message = "Test webhook delivered successfully"
        case .retryableStatus(let s), .rejectedStatus(let s): message = "Webhook endpoint returned status \(s)"
        case .networkError(let m): message = "Webhook delivery failed: \(m)"
        case .refused(let m): message = m
        }
        out.append(("message", .string(message)))
        return .json(.object(out))
    }
}
