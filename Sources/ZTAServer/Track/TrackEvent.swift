import ZTAEngine
import ZTAFormat

/// One `/api/track` event validated and normalised (api.md §5), before the visitor and session
/// are attached. Holds nothing about the client's address or User-Agent.
struct TrackEvent: Sendable {
    var type: EventType
    var path: String
    var sessionId: String?
    var referrerURL = ""
    var utmSource = "", utmMedium = "", utmCampaign = ""
    var name = "", category = "", label = ""
    var value = 0.0
    var timeOnPage: Int32 = 0
    var x = 0.0, y = 0.0
    var viewportWidth: Int?
    var element = "", text = ""
    var scrollDepth: Int8 = 0

    static let types: [String: EventType] = [
        "pageview": .pageview, "event": .event, "engagement": .engagement, "heartbeat": .heartbeat,
        "click": .click, "scroll": .scroll, "move": .move,
    ]

    /// Parses one event object; the error is the single form's 400 message.
    static func parse(_ v: JSONValue) throws(APIError) -> TrackEvent {
        guard v.isObject, let t = v["type"]?.stringValue, let type = types[t] else { throw APIError.badRequest("Invalid event type") }
        var e = TrackEvent(type: type, path: TrackMemos.path(str(v["path"]) ?? "/"))
        if let s = str(v["sessionId"]), !s.isEmpty { e.sessionId = clip(s, 128) }
        switch type {
        case .pageview:
            e.referrerURL = str(v["referrer"]) ?? ""
            let utm = v["utm"]
            e.utmSource = clip(str(utm?["source"]) ?? str(v["utm_source"]) ?? "", 200)
            e.utmMedium = clip(str(utm?["medium"]) ?? str(v["utm_medium"]) ?? "", 200)
            e.utmCampaign = clip(str(utm?["campaign"]) ?? str(v["utm_campaign"]) ?? "", 200)
        case .event:
            let action = clip(str(v["action"]) ?? str(v["name"]) ?? "", 200)
            if action.isEmpty { throw APIError.badRequest("Event action required") }
            e.name = action
            e.category = clip(str(v["category"]) ?? "", 200)
            e.label = clip(str(v["label"]) ?? "", 200)
            if let val = v["value"]?.doubleValue, val.isFinite { e.value = val }
        case .engagement:
            if let t = v["timeOnPage"]?.doubleValue, t.isFinite { e.timeOnPage = Int32(min(max(t.rounded(), 0), 86400)) }
        case .click, .move:
            guard let x = v["x"]?.doubleValue, let y = v["y"]?.doubleValue, x.isFinite, y.isFinite, x >= 0, y >= 0,
                  x < 1e7, y < 1e7 else {
                throw APIError.badRequest("Invalid coordinates")
            }
            e.x = x; e.y = y
            if let w = v["viewportWidth"]?.intValue, w > 0 { e.viewportWidth = w }
            if type == .click {
                e.element = clip(str(v["element"]) ?? "", 100)
                e.text = clip(str(v["text"]) ?? "", 100)
            }
        case .scroll:
            guard let d = v["scrollDepth"]?.doubleValue, d.isFinite else { throw APIError.badRequest("Invalid scroll depth") }
            e.scrollDepth = Int8(min(max(d.rounded(), 0), 100))
        case .heartbeat:
            break
        }
        return e
    }

    private static func str(_ v: JSONValue?) -> String? {
        switch v {
        case .string(let s)?: s
        case .int(let i)?: String(i)
        case .double(let d)?: String(d)
        default: nil
        }
    }

    private static func clip(_ s: String, _ n: Int) -> String { TrackURLs.clip(s, maxChars: n) }

    /// The stored row (events.md §1) for this event on `site`.
    func record(site: SiteRecord, ua: UserAgentInfo, geo: GeoLocation = .unknown, visitor: UInt64, session: UInt64,
                nowMs: Int64) -> EventRecord {
        var r = EventRecord()
        r.ts = nowMs
        r.site = site.id
        r.type = type
        r.visitor = visitor
        r.session = session
        r.path = path
        r.device = ua.device
        r.browser = ua.browser
        r.os = ua.os
        r.country = geo.country
        r.region = geo.region
        switch type {
        case .pageview:
            r.referrer = TrackMemos.referrerHost(referrerURL, siteDomain: site.domain)
            r.utmSource = utmSource; r.utmMedium = utmMedium; r.utmCampaign = utmCampaign
            r.channel = ChannelClassifier.channel(referrer: r.referrer, utmSource: utmSource, utmMedium: utmMedium)
        case .event:
            r.name = name; r.category = category; r.label = label; r.value = value
        case .engagement:
            r.timeOnPage = timeOnPage
        case .click, .move:
            // Normalised to the standard viewport width of the device class (events.md §1).
            let standard: Double = ua.device == "mobile" ? 375 : ua.device == "tablet" ? 768 : 1280
            let scale = viewportWidth.map { standard / Double($0) } ?? 1
            r.x = Int32(clamping: Int64((x * scale).rounded(.toNearestOrAwayFromZero)))
            r.y = Int32(clamping: Int64((y * scale).rounded(.toNearestOrAwayFromZero)))
            if type == .click { r.element = element; r.text = text }
        case .scroll:
            r.scrollDepth = scrollDepth
        case .heartbeat:
            break
        }
        return r
    }

    /// Whether the path is equal to or below an excluded path.
    func isExcluded(by prefixes: [String]) -> Bool {
        prefixes.contains { p in
            let base = p.count > 1 && p.hasSuffix("/") ? String(p.dropLast()) : p
            return path == base || path.hasPrefix(base == "/" ? "/" : base + "/")
        }
    }
}
