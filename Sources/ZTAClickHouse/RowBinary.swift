import ZTAFormat

/// Reads ClickHouse's `RowBinary` answers (the rows heatmaps, exports, goals and funnels fetch):
/// numbers little-endian at their type's width, `Float64` as its bit pattern, strings as a LEB128
/// length and the bytes. No escapes to undo and no field arrays to allocate — parsing the rows
/// of a 10 M-event heatmap as TabSeparated cost as much as the query itself.
///
/// The statements that ask for it cast every column to the type read here (`RowBinary.cast`), so
/// the widths cannot drift from the table's schema. Every read is bounds-checked: a short or
/// malformed answer is an error, never a trap.
struct RowBinaryReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset >= bytes.count }

    mutating func int<T: FixedWidthInteger>(_: T.Type) throws(ClickHouseError) -> T {
        let w = MemoryLayout<T>.size
        guard bytes.count - offset >= w else { throw ClickHouseError("RowBinary answer cut short") }
        var v: T = 0
        for k in 0..<w { v |= T(truncatingIfNeeded: bytes[offset + k]) << (8 * k) }
        offset += w
        return v
    }

    mutating func double() throws(ClickHouseError) -> Double {
        Double(bitPattern: try int(UInt64.self))
    }

    /// The next string's bytes, as a range of `bytes`.
    mutating func string() throws(ClickHouseError) -> Range<Int> {
        var n = 0, shift = 0
        while true {
            guard offset < bytes.count, shift < 63 else { throw ClickHouseError("RowBinary answer cut short") }
            let b = bytes[offset]
            offset += 1
            n |= Int(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        guard n >= 0, bytes.count - offset >= n else { throw ClickHouseError("RowBinary answer cut short") }
        defer { offset += n }
        return offset..<(offset + n)
    }
}

/// Builds one string column of a chunk from `RowBinary` strings: a dictionary in first-seen
/// order (as memtable chunks have), a `String` made only for a new value, and the previous
/// row's value checked first (runs of one value are the common case).
struct RowBinaryStrings {
    private var index: [ArraySlice<UInt8>: UInt32] = [:]
    private(set) var values: [String] = []
    private(set) var codes: [UInt32] = []
    private var last: (range: Range<Int>, code: UInt32)? = nil

    init(capacity: Int) { codes.reserveCapacity(capacity) }

    mutating func append(_ r: Range<Int>, in bytes: [UInt8]) {
        if let l = last, l.range.count == r.count, bytes[l.range].elementsEqual(bytes[r]) {
            codes.append(l.code)
            return
        }
        let key = bytes[r]
        let code: UInt32
        if let c = index[key] {
            code = c
        } else {
            code = UInt32(values.count)
            index[key] = code
            values.append(String(decoding: key, as: UTF8.self))
        }
        codes.append(code)
        last = (r, code)
    }

    /// The value of the row just appended.
    var lastValue: String { values[Int(codes[codes.count - 1])] }

    var column: StringColumnData {
        StringColumnData(codes: codes, dictionary: StringDictionary(values: values, isSorted: false))
    }
}

enum RowBinary {
    /// `expr` cast to the type `RowBinaryReader` reads for a column of `kind`.
    static func cast(_ expr: String, _ kind: ColumnKind) -> String {
        switch kind {
        case .int64: "toInt64(\(expr))"
        case .uint64: "toUInt64(\(expr))"
        case .int32: "toInt32(\(expr))"
        case .int8: "toInt8(\(expr))"
        case .uint8: "toUInt8(\(expr))"
        case .uint32: "toUInt32(\(expr))"
        case .double: "toFloat64(\(expr))"
        case .string: expr  // String and LowCardinality(String) are written alike
        }
    }
}
