/// The fuzz targets: each runs arbitrary bytes through one production decoder and checks what
/// must hold whatever the input. A target returns normally for every input; a broken invariant
/// (or any trap in the code under test) is a bug, reported by `FuzzCheck.fail`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// NDJSON import lines (`NDJSONParser`, `LineRanges`).
    case ndjson
    /// `POST /api/track` bodies (`JSONCoding`, `TrackBody`, `TrackEvent`).
    case track
    /// The `filters` query parameter (`FilterParser`, `Pattern`).
    case filters
    /// Segment images (`SegmentReader` init, block and dictionary decode, `verify`).
    case segment
    /// `Authorization` headers (`BearerToken`, JWT header and HS256 verification).
    case auth

    /// Runs one input through the target.
    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .ndjson: fuzzNDJSON(data)
        case .track: fuzzTrack(data)
        case .filters: fuzzFilters(data)
        case .segment: fuzzSegment(data)
        case .auth: fuzzAuth(data)
        }
    }

    /// `run` over an array.
    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }

    /// The executable that fuzzes this target (`Fuzz/Sources/<name>`).
    public var productName: String {
        switch self {
        case .ndjson: "FuzzNDJSON"
        case .track: "FuzzTrack"
        case .filters: "FuzzFilters"
        case .segment: "FuzzSegment"
        case .auth: "FuzzAuth"
        }
    }
}

/// Invariant checks of the fuzz targets.
public enum FuzzCheck {
    /// Stops the process with `message`: libFuzzer records the input as a crash, and a replay
    /// test fails loudly rather than passing over a broken invariant.
    public static func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        fatalError("fuzz invariant broken: \(message)", file: file, line: line)
    }

    /// `fail` unless `condition` holds.
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String,
                               file: StaticString = #fileID, line: UInt = #line) {
        if !condition { fail(message(), file: file, line: line) }
    }
}

/// The input split at its first `n - 1` NUL bytes into `n` parts (missing parts are empty):
/// how targets with several inputs (body and headers, filter and value) take them from one buffer.
func splitParts(_ data: UnsafeRawBufferPointer, _ n: Int) -> [[UInt8]] {
    var parts: [[UInt8]] = []
    var current: [UInt8] = []
    for b in data {
        if b == 0, parts.count < n - 1 { parts.append(current); current = [] } else { current.append(b) }
    }
    parts.append(current)
    while parts.count < n { parts.append([]) }
    return parts
}
