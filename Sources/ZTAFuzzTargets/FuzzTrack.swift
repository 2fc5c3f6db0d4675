import ZTAFormat
import ZTAServer

/// `/api/track`: input = body, NUL, `Origin` header (absent when empty), NUL, `User-Agent`.
/// Any body JSON reads back as itself after writing (numbers beyond `Double`, parsed as
/// infinities, are written as `null` by design); accepted events become at most 100 rows of
/// the named site with a stored path whose first byte is `/` (a combining mark may follow it:
/// `hasPrefix("/")` compares graphemes) and that fits 2048 bytes.
func fuzzTrack(_ data: UnsafeRawBufferPointer) {
    let parts = splitParts(data, 3)
    let body = parts[0]
    if let v = JSONCoding.parse(body) {
        let written = JSONCoding.write(v)
        guard let again = JSONCoding.parse(written) else { FuzzCheck.fail("written JSON does not parse") }
        FuzzCheck.require(again == writable(v), "JSON changes when written and read back")
    }
    let origin = parts[1].isEmpty ? nil : String(decoding: parts[1], as: UTF8.self)
    let userAgent = String(decoding: parts[2], as: UTF8.self)
    guard let rows = FuzzEntryPoints.track(body: body, origin: origin, userAgent: userAgent, nowMs: 1_767_225_600_000) else { return }
    FuzzCheck.require(rows.count <= 100, "\(rows.count) rows from one request")
    var builder = ColumnChunkBuilder()
    for r in rows {
        FuzzCheck.require(r.path.utf8.first == UInt8(ascii: "/") && r.path.utf8.count <= 2048, "stored path \(r.path.debugDescription)")
        FuzzCheck.require(!r.site.isEmpty, "row without site")
        builder.append(r)
    }
    FuzzCheck.require(builder.build().count == rows.count, "chunk row count")
}

/// `v` as the writer can express it: non-finite numbers become `null`.
private func writable(_ v: JSONValue) -> JSONValue {
    switch v {
    case .double(let d) where !d.isFinite: .null
    case .array(let a): .array(a.map(writable))
    case .object(let m): .object(m.map { ($0.0, writable($0.1)) })
    default: v
    }
}
