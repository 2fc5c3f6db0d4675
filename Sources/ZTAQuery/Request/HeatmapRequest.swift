/// Which heatmap endpoint (api.md §6 "Heatmaps").
public enum HeatmapKind: String, Sendable {
    /// `GET /api/heatmaps?type=click|move|scroll|attention` (the `type` parameter says which).
    case heatmap
    case elements
    case rageClicks = "rage-clicks"
    case deadClicks = "dead-clicks"
    case pages

    /// The kind for a CLI `--type` value: `click|move|scroll|attention` → `.heatmap` (pass the
    /// value as the `type` parameter), `elements|rage-clicks|dead-clicks|pages` → their endpoint.
    public static func fromCLIType(_ t: String) -> HeatmapKind {
        switch t {
        case "elements": .elements
        case "rage-clicks": .rageClicks
        case "dead-clicks": .deadClicks
        case "pages": .pages
        default: .heatmap
        }
    }
}

/// The `type` of `GET /api/heatmaps`.
public enum HeatmapType: String, Sendable {
    case click, move, scroll, attention
}

/// A standard viewport of a device class (events.md §1).
struct Viewport {
    let width: Int, height: Int
    static func of(_ device: String?) -> Viewport {
        switch device {
        case "mobile": Viewport(width: 375, height: 667)
        case "tablet": Viewport(width: 768, height: 1024)
        default: Viewport(width: 1280, height: 1024)
        }
    }
}

/// A parsed heatmap request (api.md §6): period params, `path`, `device`, `type`, `limit`.
public struct HeatmapRequest: Sendable {
    public var siteId: String
    public var kind: HeatmapKind
    public var type: HeatmapType?
    public var window: TimeWindow
    public var path: String
    public var device: String?
    public var limit: Int

    public static func parse(_ params: [String: String], kind: HeatmapKind, timezone: String, now: Int64) throws(QueryError) -> HeatmapRequest {
        let site = params["siteId"] ?? ""
        let path = params["path"] ?? ""
        if kind == .pages {
            guard !site.isEmpty else { throw QueryError("Site ID required") }
        } else {
            guard !site.isEmpty, !path.isEmpty else { throw QueryError("Site ID and path are required") }
        }
        var type: HeatmapType? = nil
        if kind == .heatmap {
            guard let t = params["type"].flatMap(HeatmapType.init(rawValue:)) else {
                throw QueryError("Invalid heatmap type. Must be: click, scroll, move, or attention")
            }
            type = t
        }
        guard let tz = SiteTimeZone(timezone) else { throw QueryError("Invalid timezone") }
        let window = try Periods.resolve(params, style: .dashboard, defaultPeriod: "7d", allowRealtime: false, tz: tz, now: now)
        var device: String? = nil
        if let d = params["device"], !d.isEmpty {
            guard d == "desktop" || d == "mobile" || d == "tablet" else { throw QueryError("Invalid device") }
            device = d
        }
        var limit = 0
        switch kind {
        case .heatmap where type == .click || type == .move:
            limit = try intParam(params["limit"], default: 1000, range: 1...10000, name: "limit")
        case .elements:
            limit = try intParam(params["limit"], default: 10, range: 1...50, name: "limit")
        default: break
        }
        return HeatmapRequest(siteId: site, kind: kind, type: type, window: window, path: path, device: device, limit: limit)
    }
}
