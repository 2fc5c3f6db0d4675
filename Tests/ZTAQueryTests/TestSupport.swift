import Foundation
import ZTAWorkloads
import ZTAFormat
import ZTAStorage
@testable import ZTAQuery


/// Builds a chunk whose string dictionaries are sorted by bytes (like a segment block).
func sortedChunk(_ records: [EventRecord]) -> ColumnChunk {
    var c = ColumnChunk.from(records: records)
    for col in StringColumns.all {
        let d = c.string(col)!
        let order = d.dictionary.values.indices.sorted { bytesLess(d.dictionary.values[$0], d.dictionary.values[$1]) }
        var remap = [UInt32](repeating: 0, count: order.count)
        for (newCode, old) in order.enumerated() { remap[old] = UInt32(newCode) }
        let values = order.map { d.dictionary.values[$0] }
        c.setString(col, StringColumnData(codes: d.codes.map { remap[Int($0)] }, dictionary: StringDictionary(values: values, isSorted: true)))
    }
    return c
}

/// Splits records into several chunks: some ts-sorted with sorted dictionaries (segments), the
/// rest in arrival order with insertion-ordered dictionaries (memtable), sizes varying.
func makeChunks(_ records: [EventRecord], rng: inout SplitMix64, pieces: Int = 5) -> [ColumnChunk] {
    guard !records.isEmpty else { return [] }
    var chunks: [ColumnChunk] = []
    var start = 0
    let n = records.count
    for p in 0..<pieces where start < n {
        let remaining = n - start
        let size = p == pieces - 1 ? remaining : max(1, Int(rng.next() % UInt64(max(1, 2 * remaining / (pieces - p)))))
        let slice = Array(records[start..<min(n, start + size)])
        start += slice.count
        if rng.next() % 2 == 0 {
            chunks.append(sortedChunk(slice.sorted { $0.ts < $1.ts }))
        } else {
            chunks.append(ColumnChunk.from(records: slice.shuffled(using: &rng)))
        }
    }
    return chunks
}

/// Parses a JSON body with Foundation (tests only).
func parseJSON(_ bytes: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}

/// The conformance README comparison: only keys of `expected`; lists same length and order;
/// ints exact, floats within 1e-9; `query` never compared. Returns the differences.
func compareJSON(_ exp: Any, _ act: Any?, _ path: String, _ diffs: inout [String]) {
    if diffs.count > 30 { return }
    if let e = exp as? [String: Any] {
        guard let a = act as? [String: Any] else { diffs.append("\(path): expected object, got \(String(describing: act))"); return }
        for (k, v) in e where k != "query" {
            guard let av = a[k] else { diffs.append("\(path).\(k): missing"); continue }
            compareJSON(v, av, "\(path).\(k)", &diffs)
        }
    } else if let e = exp as? [Any] {
        guard let a = act as? [Any] else { diffs.append("\(path): expected list, got \(String(describing: act))"); return }
        if e.count != a.count { diffs.append("\(path): \(a.count) items, expected \(e.count)") }
        for (i, (x, y)) in zip(e, a).enumerated() { compareJSON(x, y, "\(path)[\(i)]", &diffs) }
    } else if let e = exp as? NSNumber, !(exp is String) {
        guard let a = act as? NSNumber else { diffs.append("\(path): got \(String(describing: act)), expected \(e)"); return }
        if ["d", "f"].contains(String(cString: e.objCType)) {
            if abs(a.doubleValue - e.doubleValue) > 1e-9 { diffs.append("\(path): got \(a), expected \(e)") }
        } else if a.doubleValue != e.doubleValue {
            diffs.append("\(path): got \(a), expected \(e)")
        }
    } else if let e = exp as? String {
        if (act as? String) != e { diffs.append("\(path): got \(String(describing: act)), expected \(e)") }
    } else if exp is NSNull {
        if !(act is NSNull) { diffs.append("\(path): got \(String(describing: act)), expected null") }
    }
}
