import Foundation
import ZTAFormat

/// Query-global ids for the strings of one column. Chunks carry their own dictionaries (sorted
/// per segment, insertion-ordered in the memtable); each dictionary is mapped to global ids once,
/// entry by entry, and rows then translate codes with one array load.
final class GlobalStrings: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [String] = []
    /// Keyed by bytes: stored values match byte for byte, not by canonical equivalence.
    private var index: [UTF8Key: UInt32] = [:]
    /// Mapping per dictionary instance; the dictionary is kept alive so its identity stays unique.
    private var cache: [ObjectIdentifier: (StringDictionary, [UInt32])] = [:]

    init(preset: [String] = []) {
        for s in preset { _ = idLocked(s) }
    }

    private func idLocked(_ s: String) -> UInt32 {
        if let id = index[UTF8Key(s)] { return id }
        let id = UInt32(values.count)
        values.append(s)
        index[UTF8Key(s)] = id
        return id
    }

    /// The global id of `s` (interned).
    func id(_ s: String) -> UInt32 {
        lock.lock(); defer { lock.unlock() }
        return idLocked(s)
    }

    /// Code → global id for every entry of `d`.
    func mapping(_ d: StringDictionary) -> [UInt32] {
        lock.lock(); defer { lock.unlock() }
        let key = ObjectIdentifier(d)
        if let m = cache[key] { return m.1 }
        var m = [UInt32](repeating: 0, count: d.count)
        for (i, s) in d.values.enumerated() { m[i] = idLocked(s) }
        cache[key] = (d, m)
        return m
    }

    var count: Int {
        lock.lock(); defer { lock.unlock() }
        return values.count
    }

    /// The values, once the scan no longer adds any.
    func snapshot() -> [String] {
        lock.lock(); defer { lock.unlock() }
        return values
    }
}

/// Byte-order comparison of strings (Swift's `<` on String is not byte order).
@inline(__always) func bytesLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// A per-code boolean lookup table of a filter set over one dictionary, cached per dictionary.
final class FilterLUTCache: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [ObjectIdentifier: (StringDictionary, [UInt8])] = [:]
    let filters: [Filter]

    init(filters: [Filter]) { self.filters = filters }

    /// 1 where every filter holds for the code's string, else 0.
    func lut(_ d: StringDictionary) -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        let key = ObjectIdentifier(d)
        if let m = cache[key] { return m.1 }
        var m = [UInt8](repeating: 0, count: d.count)
        for (i, s) in d.values.enumerated() where filters.allSatisfy({ $0.matches(s) }) { m[i] = 1 }
        cache[key] = (d, m)
        return m
    }
}
