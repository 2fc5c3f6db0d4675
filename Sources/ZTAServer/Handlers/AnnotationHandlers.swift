import ZTAQuery

/// `/api/annotations` (api.md §7.9). Viewers read; editors create and change or delete their
/// own; admins and owners any. Key scopes: `read` to list, `write` to change (checked in the
/// handlers after parameters and visibility, api.md §1 order).
extension ServerCore {
    /// The key-scope half of §3's role/scope check.
    private func requireAnnotationScope(_ call: Call, _ scope: KeyScope) throws(APIError) {
        if let key = call.principal?.apiKey, (KeyScope(rawValue: key.scope) ?? .read) < scope {
            throw APIError(403, "API key does not allow this operation")
        }
    }

    /// `YYYY-MM-DD` of a real calendar day in 2000…2099 (the range of api.md §4's dates).
    static func annotationDate(_ v: JSONValue?) throws(APIError) -> String {
        let bad = APIError.badRequest("Invalid date format. Use YYYY-MM-DD")
        guard let s = v?.stringValue, s.utf8.count == 10, let d = CivilDate.parse(s), d.year >= 2000, d.year <= 2099 else {
            throw bad
        }
        return d.description
    }

    /// An optional `YYYY-MM-DD` query parameter (empty = absent).
    static func optionalDate(_ s: String?) throws(APIError) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return try annotationDate(.string(s))
    }

    /// A bounded text field: absent/null → nil (keep or default), else a string of at most
    /// `max` characters (Unicode scalars), trimmed.
    static func annotationText(_ body: JSONValue, _ field: String, max: Int) throws(APIError) -> String? {
        guard let v = body[field], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw APIError.invalid(field) }
        if s.unicodeScalars.count > max { throw APIError.badRequest("\(field) must be at most \(max) characters") }
        return s.trimmingCharacters(" ")
    }

    /// `color`: `#RRGGBB` (hex digits of either case).
    static func annotationColor(_ body: JSONValue) throws(APIError) -> String? {
        guard let v = body["color"], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw APIError.invalid("color") }
        let u = Array(s.utf8)
        guard u.count == 7, u[0] == 0x23, u[1...].allSatisfy(Self.isHexDigit) else { throw APIError.invalid("color") }
        return s
    }

    /// `icon`: `[a-z0-9-]{1,32}`.
    static func annotationIcon(_ body: JSONValue) throws(APIError) -> String? {
        guard let v = body["icon"], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw APIError.invalid("icon") }
        let u = Array(s.utf8)
        guard (1...32).contains(u.count),
              u.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }) else {
            throw APIError.invalid("icon")
        }
        return s
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }

    /// An annotation the caller may change: unknown, or of a site the caller can't see → 404;
    /// a viewer, or an editor who did not create it → 403 `Insufficient permissions`.
    private func changeableAnnotation(_ call: Call, _ id: String) async throws -> (AnnotationRecord, SiteRecord) {
        let notFound = APIError(404, "Annotation not found")
        guard let a = try await meta.annotation(id: id) else { throw notFound }
        let (site, role) = try await authorizedSite(call, a.siteId, denied: notFound)
        let uid = try call.user.id
        let mayChange = role >= .admin || (role == .editor && a.createdBy == uid)
        guard mayChange else { throw APIError(403, "Insufficient permissions") }
        try requireAnnotationScope(call, .write)
        return (a, site)
    }

    func listAnnotations(_ call: Call) async throws -> Reply.Out {
        guard let siteId = call.query["siteId"], !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        let from = try Self.optionalDate(call.query["startDate"])
        let to = try Self.optionalDate(call.query["endDate"])
        if let from, let to, from > to { throw APIError.badRequest("startDate must not be after endDate") }
        let (site, _) = try await authorizedSite(call, siteId)
        let list = try await meta.annotations(siteId: site.id, from: from, to: to)
        return .json(.object([("annotations", .array(list.map(\.json)))]))
    }

    func createAnnotation(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let siteId = body["siteId"]?.stringValue, !siteId.isEmpty, let rawDate = body["date"], !rawDate.isNull,
              !(rawDate.stringValue?.isEmpty ?? false) else {
            throw APIError.badRequest("Site ID and date required")
        }
        let date = try Self.annotationDate(rawDate)
        let title = try Self.annotationText(body, "title", max: 100)
        let description = try Self.annotationText(body, "description", max: 1000)
        let color = try Self.annotationColor(body)
        let icon = try Self.annotationIcon(body)
        let (site, _) = try await authorizedSite(call, siteId, minRole: .editor)
        try requireAnnotationScope(call, .write)
        let a = AnnotationRecord(id: Secrets.id("ann"), siteId: site.id, date: date,
                                 title: title.flatMap { $0.isEmpty ? nil : $0 } ?? AnnotationRecord.defaultTitle,
                                 description: description ?? "", color: color ?? AnnotationRecord.defaultColor,
                                 icon: icon ?? AnnotationRecord.defaultIcon, createdBy: try call.user.id, createdAt: call.nowMs)
        try await meta.insertAnnotation(a)
        await recordAnnotationActivity(call, .annotationCreated, a, site)
        return .json(.object([("annotation", a.json)]), status: .created)
    }

    func updateAnnotation(_ call: Call) async throws -> Reply.Out {
        let body = try call.json()
        guard let id = body["annotationId"]?.stringValue, !id.isEmpty else { throw APIError.badRequest("Annotation ID required") }
        var date: String?
        if let v = body["date"], !v.isNull { date = try Self.annotationDate(v) }
        let title = try Self.annotationText(body, "title", max: 100)
        let description = try Self.annotationText(body, "description", max: 1000)
        let color = try Self.annotationColor(body)
        let icon = try Self.annotationIcon(body)
        let (old, site) = try await changeableAnnotation(call, id)
        var a = old
        if let date { a.date = date }
        if let title { a.title = title.isEmpty ? AnnotationRecord.defaultTitle : title }
        if let description { a.description = description }
        if let color { a.color = color }
        if let icon { a.icon = icon }
        a.updatedAt = call.nowMs
        guard try await meta.updateAnnotation(a) else { throw APIError(404, "Annotation not found") }
        await recordAnnotationActivity(call, .annotationUpdated, a, site)
        return .json(.object([("annotation", a.json)]))
    }

    func deleteAnnotation(_ call: Call) async throws -> Reply.Out {
        guard let id = call.query["annotationId"], !id.isEmpty else { throw APIError.badRequest("Annotation ID required") }
        let (a, site) = try await changeableAnnotation(call, id)
        guard try await meta.deleteAnnotation(id: id) else { throw APIError(404, "Annotation not found") }
        await recordAnnotationActivity(call, .annotationDeleted, a, site)
        return .ok("Annotation deleted successfully")
    }

    private func recordAnnotationActivity(_ call: Call, _ action: ActivityAction, _ a: AnnotationRecord, _ site: SiteRecord) async {
        await recordActivity(call, action, target: ActivityTarget(type: "annotation", id: a.id, name: a.title), siteId: site.id,
                             metadata: [("date", .string(a.date))])
    }
}
