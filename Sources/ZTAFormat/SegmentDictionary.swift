/// Segment string dictionaries: the distinct values of one string column in a segment, sorted
/// by UTF-8 bytes, so code order is byte order and block min/max codes bound the strings.
///
/// Payload (before optional LZ4):
///
///     packed(count) of byte lengths (base 0)
///     the values' UTF-8 bytes, concatenated
enum SegmentDictionaryCodec {
    /// The sorted distinct values used by `data`'s codes, and the map from `data`'s codes to
    /// their positions in that order (unused codes map to UInt32.max).
    static func build(_ data: StringColumnData) -> (values: [[UInt8]], remap: [UInt32]) {
        let dict = data.dictionary.values
        var used = [Bool](repeating: false, count: dict.count)
        for c in data.codes { used[Int(c)] = true }
        var entries: [(bytes: [UInt8], old: Int)] = []
        for (i, s) in dict.enumerated() where used[i] { entries.append((Array(s.utf8), i)) }
        entries.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        var remap = [UInt32](repeating: .max, count: dict.count)
        var values: [[UInt8]] = []
        values.reserveCapacity(entries.count)
        for e in entries {
            // A chunk dictionary is not required to be duplicate-free: merge equal byte strings
            // so segment codes stay unique.
            if let last = values.last, last == e.bytes {
                remap[e.old] = UInt32(values.count - 1)
            } else {
                remap[e.old] = UInt32(values.count)
                values.append(e.bytes)
            }
        }
        return (values, remap)
    }

    static func serialize(_ values: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter(capacity: values.reduce(16) { $0 + $1.count + 2 })
        let lengths = values.map { UInt64($0.count) }
        lengths.withUnsafeBufferPointer { BitPacking.write($0, to: &w) }
        for v in values { w.append(v) }
        return w.bytes
    }

    /// Decodes `count` values, checking they are strictly ascending by bytes.
    static func parse(_ payload: UnsafeRawBufferPointer, count: Int) throws -> [String] {
        if count == 0 {
            guard payload.isEmpty else { throw FormatError(.corrupt, "empty dictionary with \(payload.count) bytes") }
            return []
        }
        var r = ByteReader(payload)
        var lengths = [UInt64](repeating: 0, count: count)
        try lengths.withUnsafeMutableBufferPointer { try BitPacking.read(&r, count: count, base: 0, into: $0.baseAddress!) }
        var values: [String] = []
        values.reserveCapacity(count)
        var previous: UnsafeRawBufferPointer?
        for (i, len) in lengths.enumerated() {
            guard len <= UInt64(r.remaining) else { throw FormatError(.truncated, "dictionary value \(i) of \(len) bytes", offset: r.position) }
            let bytes = try r.bytes(Int(len), "dictionary value")
            if let p = previous, !p.lexicographicallyPrecedes(bytes) {
                throw FormatError(.corrupt, "dictionary value \(i) not above its predecessor", offset: r.position)
            }
            previous = bytes
            values.append(String(decoding: bytes, as: UTF8.self))
        }
        guard r.remaining == 0 else { throw FormatError(.corrupt, "\(r.remaining) trailing dictionary bytes", offset: r.position) }
        return values
    }
}
