#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The block dictionaries of 64-bit columns (visitor, session), handed to the query layer as
/// they are decoded.
///
/// A `dictionary`-encoded chunk already holds what a session pass wants: the block's distinct
/// ids and, per row, a small code. Materialising the 64-bit values and hashing them again row
/// by row throws that away. While a capture is installed on the current thread
/// (`capturing(_:)`), every top-level dictionary chunk decoded into 64-bit lanes on that thread
/// also leaves its distinct values and row codes here, keyed by the buffer it decoded into; the
/// caller matches them to its columns by buffer address (`codes(for:)`), so a column decoded
/// some other way (another encoding, a memtable copy) simply has no entry. The decoded values
/// themselves are written as always.
public final class DictionaryCapture {
    /// One captured chunk: `values[codes[i]]` is row `i`'s lane (before the sign flip; ids have none).
    public struct Entry {
        /// Address of the first decoded value (identifies the column's array).
        public let output: UnsafeRawPointer
        public let count: Int
        /// The block's distinct lanes in first-appearance order.
        public let values: [UInt64]
        /// Per row: an index into `values`.
        public let codes: [UInt32]
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    func record(_ e: Entry) { entries.append(e) }

    /// The captured dictionary of `array` when it was decoded from a dictionary chunk during the
    /// capture (its storage is the buffer the decoder wrote into), else nil.
    public func codes(for array: [UInt64]) -> Entry? {
        guard !array.isEmpty else { return nil }
        let base = array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        return entries.first { $0.output == base && $0.count == array.count }
    }

    /// Runs `body` with a fresh capture installed on this thread (nesting restores the outer one).
    public static func capturing<R>(_ body: () throws -> R) rethrows -> (R, DictionaryCapture) {
        let capture = DictionaryCapture()
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(capture).toOpaque())
        defer { pthread_setspecific(key, previous) }
        let r = try body()
        return (r, capture)
    }

    /// The capture installed on this thread, if any (one TLS load; called once per dictionary chunk).
    static var current: DictionaryCapture? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<DictionaryCapture>.fromOpaque(p).takeUnretainedValue()
    }

    nonisolated(unsafe) private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
}
