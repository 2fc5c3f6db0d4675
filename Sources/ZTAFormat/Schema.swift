/// The stored event of `events.md` §1: its columns, their logical types, and the
/// in-memory shapes every layer exchanges (a row for ingest, a columnar chunk for scans).

/// Event types. The raw value is what is stored in the `type` column; it never changes.
public enum EventType: UInt8, CaseIterable, Sendable {
    case pageview = 0, event = 1, engagement = 2, heartbeat = 3, click = 4, scroll = 5, move = 6

    /// The wire name (`events.md` §1).
    public var name: String {
        switch self {
        case .pageview: "pageview"
        case .event: "event"
        case .engagement: "engagement"
        case .heartbeat: "heartbeat"
        case .click: "click"
        case .scroll: "scroll"
        case .move: "move"
        }
    }

    public init?(name: String) {
        guard let t = EventType.allCases.first(where: { $0.name == name }) else { return nil }
        self = t
    }
}

/// Physical value kinds of columns. Strings are always dictionary-encoded.
public enum ColumnKind: UInt8, Sendable {
    case int64 = 1, uint64 = 2, int32 = 3, int8 = 4, uint8 = 5, uint32 = 6, double = 7, string = 8
}

/// Every stored column, in on-disk order. The raw value is the column id written to segment footers.
public enum Column: UInt8, CaseIterable, Sendable {
    case ts = 0, site, type, visitor, session, path, referrer, utmSource, utmMedium, utmCampaign,
         channel, device, browser, os, country, region, name, category, label, value, timeOnPage,
         x, y, scrollDepth, element, text, importId

    public var kind: ColumnKind {
        switch self {
        case .ts: .int64
        case .visitor, .session: .uint64
        case .type: .uint8
        case .value: .double
        case .timeOnPage, .x, .y: .int32
        case .scrollDepth: .int8
        case .importId: .uint32
        default: .string
        }
    }

    /// The name used in `events.md` and in NDJSON import lines.
    public var wireName: String {
        switch self {
        case .utmSource: "utm_source"
        case .utmMedium: "utm_medium"
        case .utmCampaign: "utm_campaign"
        case .timeOnPage: "time_on_page"
        case .scrollDepth: "scroll_depth"
        case .importId: "import"
        default: "\(self)"
        }
    }

    /// Index among string columns (0..<StringColumn.count), or nil for non-string columns.
    public var stringIndex: Int? { StringColumns.index[Int(rawValue)] }
}

/// The string (dictionary-encoded) columns in order, with a dense index for arrays.
public enum StringColumns {
    public static let all: [Column] = Column.allCases.filter { $0.kind == .string }
    public static var count: Int { all.count }
    static let index: [Int?] = {
        var idx = [Int?](repeating: nil, count: Column.allCases.count)
        for (i, c) in all.enumerated() { idx[Int(c.rawValue)] = i }
        return idx
    }()
}

/// A set of columns as a bitmask (27 columns fit in 32 bits).
public struct ColumnSet: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ columns: [Column]) { self.rawValue = columns.reduce(0) { $0 | (1 << UInt32($1.rawValue)) } }
    public static let all = ColumnSet(Column.allCases)
    public func contains(_ c: Column) -> Bool { rawValue & (1 << UInt32(c.rawValue)) != 0 }
    public mutating func insert(_ c: Column) { self = ColumnSet(rawValue: rawValue | (1 << UInt32(c.rawValue))) }
    public var columns: [Column] { Column.allCases.filter { contains($0) } }
}

/// One event as a row: what ingest validates and enriches before it is appended.
public struct EventRecord: Sendable, Equatable {
    public var ts: Int64 = 0
    public var site: String = ""
    public var type: EventType = .pageview
    public var visitor: UInt64 = 0
    public var session: UInt64 = 0
    public var path: String = "/"
    public var referrer: String = ""
    public var utmSource: String = ""
    public var utmMedium: String = ""
    public var utmCampaign: String = ""
    public var channel: String = "direct"
    public var device: String = ""
    public var browser: String = ""
    public var os: String = ""
    public var country: String = ""
    public var region: String = ""
    public var name: String = ""
    public var category: String = ""
    public var label: String = ""
    public var value: Double = 0
    public var timeOnPage: Int32 = 0
    public var x: Int32 = 0
    public var y: Int32 = 0
    public var scrollDepth: Int8 = 0
    public var element: String = ""
    public var text: String = ""
    public var importId: UInt32 = 0

    public init() {}

    /// The value of a string column.
    public func string(_ c: Column) -> String {
        switch c {
        case .site: site
        case .path: path
        case .referrer: referrer
        case .utmSource: utmSource
        case .utmMedium: utmMedium
        case .utmCampaign: utmCampaign
        case .channel: channel
        case .device: device
        case .browser: browser
        case .os: os
        case .country: country
        case .region: region
        case .name: name
        case .category: category
        case .label: label
        case .element: element
        case .text: text
        default: preconditionFailure("\(c) is not a string column")
        }
    }

    public mutating func setString(_ c: Column, _ v: String) {
        switch c {
        case .site: site = v
        case .path: path = v
        case .referrer: referrer = v
        case .utmSource: utmSource = v
        case .utmMedium: utmMedium = v
        case .utmCampaign: utmCampaign = v
        case .channel: channel = v
        case .device: device = v
        case .browser: browser = v
        case .os: os = v
        case .country: country = v
        case .region: region = v
        case .name: name = v
        case .category: category = v
        case .label: label = v
        case .element: element = v
        case .text: text = v
        default: preconditionFailure("\(c) is not a string column")
        }
    }
}

/// A string dictionary shared by the rows of a chunk: codes index `values`.
/// Segment dictionaries are sorted by UTF-8 bytes (so code order is byte order and block
/// min/max codes bound the strings); memtable dictionaries are in insertion order.
public final class StringDictionary: @unchecked Sendable {
    public let values: [String]
    public let isSorted: Bool
    public init(values: [String], isSorted: Bool) {
        self.values = values
        self.isSorted = isSorted
    }
    public var count: Int { values.count }
}

/// One string column of a chunk: a code per row and the dictionary the codes index.
public struct StringColumnData: Sendable {
    public var codes: [UInt32]
    public var dictionary: StringDictionary
    public init(codes: [UInt32], dictionary: StringDictionary) {
        self.codes = codes
        self.dictionary = dictionary
    }
}

/// A columnar batch of rows: a decoded segment block or a snapshot of the memtable.
/// Only the requested columns are filled; the others are empty arrays / nil.
public struct ColumnChunk: Sendable {
    public var count: Int
    public var ts: [Int64] = []
    public var type: [UInt8] = []
    public var visitor: [UInt64] = []
    public var session: [UInt64] = []
    public var value: [Double] = []
    public var timeOnPage: [Int32] = []
    public var x: [Int32] = []
    public var y: [Int32] = []
    public var scrollDepth: [Int8] = []
    public var importId: [UInt32] = []
    /// Indexed by `Column.stringIndex`.
    public var strings: [StringColumnData?]
    /// The block dictionaries of `visitor` and `session` when this chunk was decoded from
    /// dictionary-encoded segment chunks (nil otherwise). Whoever changes those two arrays in
    /// place must clear these; every transform here builds a new chunk without them.
    public var visitorCodes: BlockCodes?
    public var sessionCodes: BlockCodes?

    public init(count: Int) {
        self.count = count
        self.strings = Array(repeating: nil, count: StringColumns.count)
    }

    public func string(_ c: Column) -> StringColumnData? { strings[c.stringIndex!] }
    public mutating func setString(_ c: Column, _ d: StringColumnData) { strings[c.stringIndex!] = d }

    /// The row at `i` as a record (slow; for tests, export and references).
    public func record(at i: Int) -> EventRecord {
        var r = EventRecord()
        if !ts.isEmpty { r.ts = ts[i] }
        if !type.isEmpty { r.type = EventType(rawValue: type[i]) ?? .pageview }
        if !visitor.isEmpty { r.visitor = visitor[i] }
        if !session.isEmpty { r.session = session[i] }
        if !value.isEmpty { r.value = value[i] }
        if !timeOnPage.isEmpty { r.timeOnPage = timeOnPage[i] }
        if !x.isEmpty { r.x = x[i] }
        if !y.isEmpty { r.y = y[i] }
        if !scrollDepth.isEmpty { r.scrollDepth = scrollDepth[i] }
        if !importId.isEmpty { r.importId = importId[i] }
        for (k, c) in StringColumns.all.enumerated() {
            if let s = strings[k] { r.setString(c, s.dictionary.values[Int(s.codes[i])]) }
        }
        return r
    }

    /// Builds a chunk holding every column from rows (interning strings in first-seen order).
    public static func from(records: [EventRecord]) -> ColumnChunk {
        var c = ColumnChunk(count: records.count)
        c.ts = records.map(\.ts)
        c.type = records.map(\.type.rawValue)
        c.visitor = records.map(\.visitor)
        c.session = records.map(\.session)
        c.value = records.map(\.value)
        c.timeOnPage = records.map(\.timeOnPage)
        c.x = records.map(\.x)
        c.y = records.map(\.y)
        c.scrollDepth = records.map(\.scrollDepth)
        c.importId = records.map(\.importId)
        for col in StringColumns.all {
            var dict: [UTF8Key: UInt32] = [:]
            var values: [String] = []
            var codes = [UInt32]()
            codes.reserveCapacity(records.count)
            for r in records {
                let s = r.string(col)
                if let code = dict[UTF8Key(s)] { codes.append(code) } else {
                    let code = UInt32(values.count)
                    dict[UTF8Key(s)] = code
                    values.append(s)
                    codes.append(code)
                }
            }
            c.setString(col, StringColumnData(codes: codes, dictionary: StringDictionary(values: values, isSorted: false)))
        }
        return c
    }
}

/// Per-block statistics kept in the segment footer and used for pruning.
/// `min`/`max` are indexed by `Column.rawValue`: integers as Int64 (UInt64 bit-cast),
/// string columns as dictionary codes (meaningful because segment dictionaries are sorted),
/// doubles bit-cast from their `Double` value via `Double.bitPattern` (compare after decoding).
public struct BlockStats: Sendable, Equatable {
    public var rowCount: Int
    public var min: [Int64]
    public var max: [Int64]
    public init(rowCount: Int, min: [Int64], max: [Int64]) {
        self.rowCount = rowCount
        self.min = min
        self.max = max
    }
    public func min(_ c: Column) -> Int64 { min[Int(c.rawValue)] }
    public func max(_ c: Column) -> Int64 { max[Int(c.rawValue)] }
}

/// A string compared and hashed by its UTF-8 bytes. Swift's `String` equality is canonical
/// equivalence (`"é" == "e\u{301}"`), but stored values and filters match byte for byte
/// (events.md §6.15), so dictionaries keyed by stored strings use this.
public struct UTF8Key: Hashable, Sendable {
    public let string: String
    public init(_ string: String) { self.string = string }
    public static func == (a: UTF8Key, b: UTF8Key) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }
    public func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
