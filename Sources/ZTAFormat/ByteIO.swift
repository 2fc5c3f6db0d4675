/// Little-endian serialization helpers. Every multi-byte integer in a segment is little-endian.

/// Appends little-endian values to a growing byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { append(v) }
    mutating func u32(_ v: UInt32) { append(v) }
    mutating func u64(_ v: UInt64) { append(v) }
    mutating func i64(_ v: Int64) { append(UInt64(bitPattern: v)) }

    mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
}

/// A labelled byte range, recorded while parsing for annotated dumps.
struct TraceSpan {
    var start: Int
    var length: Int
    var what: String
}

/// Reads little-endian values from a bounded region, throwing `truncated` instead of reading
/// past its end. Offsets in errors are relative to the region's start.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var position: Int = 0
    /// When non-nil, every read appends (start, length, what): the golden test's annotations.
    var trace: [TraceSpan]?

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    @inline(__always)
    private mutating func note(_ n: Int, _ what: () -> String) {
        if trace != nil { trace!.append(TraceSpan(start: position, length: n, what: what())) }
    }

    var remaining: Int { buffer.count - position }

    @inline(__always)
    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > buffer.count - position {
            throw FormatError(.truncated, "need \(n) bytes for \(what()), \(buffer.count - position) left", offset: position)
        }
    }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = T(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: T.self))
        note(MemoryLayout<T>.size) { "\(what()) = \(v)" }
        position += MemoryLayout<T>.size
        return v
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try read(UInt8.self, what()) }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { try read(UInt16.self, what()) }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try read(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try read(UInt64.self, what()) }
    mutating func i64(_ what: @autoclosure () -> String) throws -> Int64 { Int64(bitPattern: try read(UInt64.self, what())) }

    /// A u64 count or offset as `Int`; one beyond `Int.max` is corrupt (a conversion would trap).
    mutating func u64AsInt(_ what: @autoclosure () -> String) throws -> Int {
        let start = position
        let v = try read(UInt64.self, what())
        guard let n = Int(exactly: v) else { throw FormatError(.corrupt, "\(what()) \(v) out of range", offset: start) }
        return n
    }

    /// The next `n` bytes as a sub-buffer (no copy).
    mutating func bytes(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try need(n, what())
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + n)])
        note(n, what)
        position += n
        return slice
    }
}

extension UnsafeRawBufferPointer {
    /// Little-endian load at a byte offset the caller has bounds-checked.
    @inline(__always)
    func le<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
