/// The decoded body of a `POST /api/track` request (api.md §5): the site it names, its valid
/// events, and how many events of a batch were refused. The single form's invalid event is a 400;
/// a batch's invalid events are only counted.
struct TrackBody {
    var siteId: String
    var isBatch: Bool
    var events: [TrackEvent]
    var rejected: Int

    /// Largest number of events in one batch.
    static let maxBatch = 100

    /// Decodes a parsed JSON body; the error is the request's 400.
    static func parse(_ body: JSONValue) throws(APIError) -> TrackBody {
        let isBatch = body["batch"]?.boolValue == true
        guard let siteId = body["siteId"]?.stringValue, !siteId.isEmpty else { throw APIError.badRequest("Site ID required") }
        guard isBatch else {
            return TrackBody(siteId: siteId, isBatch: false, events: [try TrackEvent.parse(body)], rejected: 0)
        }
        guard let list = body["events"]?.arrayValue, (1...maxBatch).contains(list.count) else {
            throw APIError.badRequest("Batch must contain 1 to 100 events")
        }
        var events: [TrackEvent] = []
        var rejected = 0
        for v in list {
            if let e = try? TrackEvent.parse(v) { events.append(e) } else { rejected += 1 }
        }
        return TrackBody(siteId: siteId, isBatch: true, events: events, rejected: rejected)
    }
}
