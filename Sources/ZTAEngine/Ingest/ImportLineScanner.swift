import ZTAFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an import line was rejected.
enum LineReject: Error, Equatable {
    case invalidJSON
    case notObject
    case invalidType(Column)
    case invalidValue(Column)
    case missing(Column)
    case unknownType(String)
    case tsOutOfRange
    case siteMismatch

    var message: String {
        switch self {
        case .invalidJSON: "invalid JSON"
        case .notObject: "not a JSON object"
        case .invalidType(let c): "invalid type for field: \(c.wireName)"
        case .invalidValue(let c): "invalid value for field: \(c.wireName)"
        case .missing(let c): "missing field: \(c.wireName)"
        case .unknownType(let t): "unknown event type: \(t)"
        case .tsOutOfRange: "ts out of range"
        case .siteMismatch: "site does not match"
        }
    }
}

/// What became of one line.
enum LineOutcome: Equatable {
    case blank
    case accepted
    case rejected(LineReject)
}

/// The per-call state of `NDJSONParser.parse`: a cursor over one line, the fields seen so far,
/// and a scratch buffer for unescaped strings and normalised referrers.
///
/// String values are kept as byte ranges, either inside the input line (no escapes) or inside
/// `scratch`; scratch is sized before each line so that it never moves while the line is parsed
/// (unescaping never lengthens a string, and at most the referrer is copied once more).
struct ImportLineScanner {
    private let site: UnsafeBufferPointer<UInt8>?
    private let importId: UInt32
    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCapacity: Int
    private var scratchUsed = 0
    /// Indexed by `Column.stringIndex`.
    private let spans: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>
    /// `Column.rawValue` → `Column.stringIndex` (or -1), without the lazy-global check per use.
    private let stringIndex: UnsafeMutablePointer<Int8>
    /// Bit `Column.rawValue` is set when the field was given (and not `null`).
    private var present: UInt32 = 0
    private var row = NumericRow()
    private var p: UnsafePointer<UInt8>
    private var end: UnsafePointer<UInt8>
    private var problem: LineReject?

    private static var emptySpan: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }
    private static let maxDepth = 512
    private static let required: [Column] = [.ts, .site, .type, .visitor, .session]
    private static let requiredMask: UInt32 = required.reduce(0) { $0 | 1 << UInt32($1.rawValue) }

    init(site: UnsafeBufferPointer<UInt8>?, importId: UInt32) {
        self.site = site
        self.importId = importId
        scratchCapacity = 1 << 16
        scratch = .allocate(capacity: scratchCapacity)
        spans = .allocate(capacity: StringColumns.count)
        spans.initialize(repeating: ImportLineScanner.emptySpan)
        stringIndex = .allocate(capacity: Column.allCases.count)
        for c in Column.allCases { stringIndex[Int(c.rawValue)] = Int8(c.stringIndex ?? -1) }
        let none = UnsafePointer<UInt8>(bitPattern: 1)!
        p = none
        end = none
    }

    func deallocate() {
        scratch.deallocate()
        spans.deallocate()
        stringIndex.deallocate()
    }

    // MARK: Line

    /// Parses the line `[start, lineEnd)` (without its newline) and appends it when accepted.
    mutating func parseLine(_ start: UnsafePointer<UInt8>, _ lineEnd: UnsafePointer<UInt8>,
                            into builder: inout ColumnChunkBuilder) -> LineOutcome {
        p = start
        end = lineEnd
        skipWhitespace()
        if p == end { return .blank }
        let needed = 2 &* (end - start) &+ 16
        if needed > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = max(needed, scratchCapacity * 2)
            scratch = .allocate(capacity: scratchCapacity)
        }
        scratchUsed = 0
        spans.update(repeating: ImportLineScanner.emptySpan)
        present = 0
        row = NumericRow()
        problem = nil
        do {
            try parseObject()
        } catch {
            return .rejected(error)
        }
        if let problem { return .rejected(problem) }
        if present & ImportLineScanner.requiredMask != ImportLineScanner.requiredMask {
            for c in ImportLineScanner.required where !isPresent(c) { return .rejected(.missing(c)) }
        }
        if let site, !equal(span(.site), site) { return .rejected(.siteMismatch) }
        normalize()
        row.importId = importId
        builder.append(row, strings: UnsafeBufferPointer(spans))
        return .accepted
    }

    /// Applies the import defaults and normalisation of `events.md` §2 and §6.16.
    private mutating func normalize() {
        if span(.path).isEmpty { setSpan(.path, ImportLineScanner.bytes("/")) }
        let referrer = span(.referrer)
        if Referrer.needsNormalizing(referrer) {
            let out = scratch + scratchUsed
            out.initialize(from: referrer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: referrer.count)
            let n = Referrer.normalize(in: UnsafeMutableRawBufferPointer(start: out, count: referrer.count))
            setSpan(.referrer, UnsafeRawBufferPointer(start: out + (referrer.count - n), count: n))
            scratchUsed &+= referrer.count
        }
        if span(.channel).isEmpty {
            let channel = ChannelClassifier.classify(referrer: span(.referrer), utmSource: span(.utmSource),
                                                     utmMedium: span(.utmMedium))
            setSpan(.channel, ImportLineScanner.bytes(channel.utf8))
        }
    }

    @inline(__always) private static func bytes(_ s: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    @inline(__always) private func isPresent(_ c: Column) -> Bool { present & (1 << UInt32(c.rawValue)) != 0 }
    @inline(__always) private mutating func markPresent(_ c: Column) { present |= 1 << UInt32(c.rawValue) }
    @inline(__always) private func span(_ c: Column) -> UnsafeRawBufferPointer { spans[Int(stringIndex[Int(c.rawValue)])] }
    @inline(__always) private func setSpan(_ c: Column, _ s: UnsafeRawBufferPointer) {
        spans[Int(stringIndex[Int(c.rawValue)])] = s
    }

    /// Records a field problem; the first one of a line is its reason (unless the JSON is invalid).
    @inline(__always) private mutating func report(_ r: LineReject) {
        if problem == nil { problem = r }
    }

    // MARK: Object and fields

    private mutating func parseObject() throws(LineReject) {
        guard current == UInt8(ascii: "{") else {
            try skipValue(depth: 0)
            skipWhitespace()
            throw p == end ? .notObject : .invalidJSON
        }
        p += 1
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            p += 1
        } else {
            while true {
                guard current == UInt8(ascii: "\"") else { throw .invalidJSON }
                p += 1
                let key = try parseString()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw .invalidJSON }
                p += 1
                skipWhitespace()
                if let column = ImportLineScanner.column(forKey: key) {
                    try parseField(column)
                } else {
                    try skipValue(depth: 0)
                }
                skipWhitespace()
                let c = current
                if c == UInt8(ascii: ",") {
                    p += 1
                    skipWhitespace()
                    continue
                }
                guard c == UInt8(ascii: "}") else { throw .invalidJSON }
                p += 1
                break
            }
        }
        skipWhitespace()
        guard p == end else { throw .invalidJSON }
    }

    private mutating func parseField(_ column: Column) throws(LineReject) {
        let c = current
        if c == UInt8(ascii: "n") {
            try literal("null")
            present &= ~(1 << UInt32(column.rawValue))
            if column.kind == .string { setSpan(column, ImportLineScanner.emptySpan) }
            return
        }
        let isString = c == UInt8(ascii: "\"")
        let isNumber = c == UInt8(ascii: "-") || c &- 0x30 < 10
        switch column {
        case .ts:
            if isString {
                p += 1
                let s = try parseString()
                if let ms = ImportTimestamp.parseISO8601(s) { setTs(ms) } else { report(.invalidValue(.ts)) }
            } else if isNumber {
                let n = try parseNumber()
                if let v = n.integer { setTs(v) } else { report(n.isInteger ? .tsOutOfRange : .invalidType(.ts)) }
            } else {
                try wrongType(column)
            }
        case .type:
            guard isString else { return try wrongType(column) }
            p += 1
            let s = try parseString()
            if let t = ImportLineScanner.eventType(s) {
                row.type = t.rawValue
                markPresent(.type)
            } else {
                report(.unknownType(ImportLineScanner.describe(s)))
            }
        case .visitor, .session:
            guard isString else { return try wrongType(column) }
            p += 1
            let s = try parseString()
            if s.isEmpty { return report(.invalidValue(column)) }
            let h = XXH64.hash(s, seed: 0)
            if column == .visitor { row.visitor = h } else { row.session = h }
            markPresent(column)
        case .value:
            guard isNumber else { return try wrongType(column) }
            let v = try parseNumber().double(end: p)
            guard v.isFinite else { return report(.invalidValue(column)) }  // e.g. 1e400
            row.value = v
            markPresent(column)
        case .timeOnPage, .x, .y, .scrollDepth:
            guard isNumber else { return try wrongType(column) }
            let n = try parseNumber()
            guard n.isInteger else { return report(.invalidType(column)) }
            guard let v = n.integer else { return report(.invalidValue(column)) }
            switch column {
            case .timeOnPage:
                guard v >= 0, v <= Int64(Int32.max) else { return report(.invalidValue(column)) }
                row.timeOnPage = Int32(v)
            case .x, .y:
                guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { return report(.invalidValue(column)) }
                if column == .x { row.x = Int32(v) } else { row.y = Int32(v) }
            default:
                guard v >= 0, v <= 100 else { return report(.invalidValue(column)) }
                row.scrollDepth = Int8(v)
            }
            markPresent(column)
        default:
            guard isString else { return try wrongType(column) }
            p += 1
            let s = try parseString()
            if column == .site, s.isEmpty { return report(.invalidValue(.site)) }
            setSpan(column, s)
            markPresent(column)
        }
    }

    @inline(__always) private mutating func setTs(_ ms: Int64) {
        if ImportTimestamp.inRange(ms) {
            row.ts = ms
            markPresent(.ts)
        } else {
            report(.tsOutOfRange)
        }
    }

    /// Skips a well-formed value of the wrong JSON type and reports it.
    private mutating func wrongType(_ column: Column) throws(LineReject) {
        try skipValue(depth: 0)
        report(.invalidType(column))
    }

    // MARK: JSON values

    @inline(__always) private var current: UInt8 { p < end ? p.pointee : 0 }

    @inline(__always) private mutating func skipWhitespace() {
        while p < end {
            let b = p.pointee
            guard b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A else { return }
            p += 1
        }
    }

    private mutating func literal(_ word: StaticString) throws(LineReject) {
        let n = word.utf8CodeUnitCount
        guard end - p >= n, memcmp(p, word.utf8Start, n) == 0 else { throw .invalidJSON }
        p += n
    }

    /// Skips any JSON value, validating it.
    private mutating func skipValue(depth: Int) throws(LineReject) {
        switch current {
        case UInt8(ascii: "\""):
            p += 1
            _ = try parseString()
        case UInt8(ascii: "{"):
            guard depth < ImportLineScanner.maxDepth else { throw .invalidJSON }
            p += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") { p += 1; return }
            while true {
                guard current == UInt8(ascii: "\"") else { throw .invalidJSON }
                p += 1
                _ = try parseString()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw .invalidJSON }
                p += 1
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let c = current
                p += 1
                if c == UInt8(ascii: ",") { skipWhitespace(); continue }
                guard c == UInt8(ascii: "}") else { throw .invalidJSON }
                return
            }
        case UInt8(ascii: "["):
            guard depth < ImportLineScanner.maxDepth else { throw .invalidJSON }
            p += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") { p += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let c = current
                p += 1
                if c == UInt8(ascii: ",") { skipWhitespace(); continue }
                guard c == UInt8(ascii: "]") else { throw .invalidJSON }
                return
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try parseNumber()
        default: throw .invalidJSON
        }
    }

    /// Scans a number (the cursor is on its first byte) by the JSON grammar.
    private mutating func parseNumber() throws(LineReject) -> JSONNumber {
        var n = JSONNumber(start: p)
        if current == UInt8(ascii: "-") {
            n.negative = true
            p += 1
        }
        let first = current
        if first == UInt8(ascii: "0") {
            p += 1
        } else if first &- 0x31 < 9 {
            while p < end, p.pointee &- 0x30 < 10 {
                n.addDigit(p.pointee &- 0x30, fractional: false)
                p += 1
            }
        } else {
            throw .invalidJSON
        }
        if current == UInt8(ascii: ".") {
            p += 1
            guard current &- 0x30 < 10 else { throw .invalidJSON }
            n.isInteger = false
            while p < end, p.pointee &- 0x30 < 10 {
                n.addDigit(p.pointee &- 0x30, fractional: true)
                p += 1
            }
        }
        if current | 0x20 == UInt8(ascii: "e") {
            p += 1
            n.isInteger = false
            var negativeExponent = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") {
                negativeExponent = current == UInt8(ascii: "-")
                p += 1
            }
            guard current &- 0x30 < 10 else { throw .invalidJSON }
            var e = 0
            while p < end, p.pointee &- 0x30 < 10 {
                if e < 100_000 { e = e &* 10 &+ Int(p.pointee &- 0x30) }
                p += 1
            }
            n.exponent &+= negativeExponent ? -e : e
        }
        return n
    }

    // MARK: Strings

    /// Scans a string whose opening quote was consumed; returns its unescaped UTF-8 bytes
    /// (inside the line when it has no escapes, else in scratch). Validates UTF-8.
    private mutating func parseString() throws(LineReject) -> UnsafeRawBufferPointer {
        let start = p
        let e = end
        var q = p  // a local cursor stays in a register; `p` is written back on the way out
        while true {
            if e - q >= 8 {
                // Eight bytes at a time; on a hit, jump to the first special byte (the lowest
                // flagged byte is always a true hit: false positives only follow a true one).
                let m = ImportLineScanner.special(UnsafeRawPointer(q).loadUnaligned(as: UInt64.self))
                if m == 0 {
                    q += 8
                    continue
                }
                q += m.trailingZeroBitCount >> 3
            } else if q >= e {
                p = q
                throw .invalidJSON
            }
            let b = q.pointee
            if b == UInt8(ascii: "\"") {
                p = q + 1
                return UnsafeRawBufferPointer(start: start, count: q - start)
            }
            p = q
            if b == UInt8(ascii: "\\") { return try parseEscapedString(from: start) }
            if b < 0x20 { throw .invalidJSON }
            if b >= 0x80 {
                try skipUTF8Sequence()
                q = p
            } else {
                q += 1
            }
        }
    }

    /// Nonzero when a byte of `w` is `"`, `\`, below 0x20 or above 0x7F.
    @inline(__always) private static func special(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let q = w ^ (ones &* 0x22)
        let bs = w ^ (ones &* 0x5C)
        return (((q &- ones) & ~q) | ((bs &- ones) & ~bs) | (w &- ones &* 0x20) | w) & highs
    }

    /// The slow path of `parseString` once a backslash is met: decodes into scratch.
    private mutating func parseEscapedString(from start: UnsafePointer<UInt8>) throws(LineReject) -> UnsafeRawBufferPointer {
        let outStart = scratch + scratchUsed
        var out = outStart
        out.initialize(from: start, count: p - start)
        out += p - start
        while true {
            guard p < end else { throw .invalidJSON }
            let b = p.pointee
            if b == UInt8(ascii: "\"") {
                p += 1
                let n = out - outStart
                scratchUsed &+= n
                return UnsafeRawBufferPointer(start: outStart, count: n)
            }
            if b == UInt8(ascii: "\\") {
                guard end - p >= 2 else { throw .invalidJSON }
                let e = p[1]
                p += 2
                var decoded: UInt8
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded = e
                case UInt8(ascii: "b"): decoded = 0x08
                case UInt8(ascii: "f"): decoded = 0x0C
                case UInt8(ascii: "n"): decoded = 0x0A
                case UInt8(ascii: "r"): decoded = 0x0D
                case UInt8(ascii: "t"): decoded = 0x09
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800, scalar <= 0xDBFF {
                        guard end - p >= 6, p[0] == UInt8(ascii: "\\"), p[1] == UInt8(ascii: "u") else { throw .invalidJSON }
                        p += 2
                        let low = try hex4()
                        guard low >= 0xDC00, low <= 0xDFFF else { throw .invalidJSON }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                        throw .invalidJSON  // a lone low surrogate has no UTF-8 form
                    }
                    out = ImportLineScanner.encodeUTF8(scalar, to: out)
                    continue
                default:
                    throw .invalidJSON
                }
                out.pointee = decoded
                out += 1
            } else if b < 0x20 {
                throw .invalidJSON
            } else if b >= 0x80 {
                let s = p
                try skipUTF8Sequence()
                out.initialize(from: s, count: p - s)
                out += p - s
            } else {
                out.pointee = b
                out += 1
                p += 1
            }
        }
    }

    private mutating func hex4() throws(LineReject) -> UInt32 {
        guard end - p >= 4 else { throw .invalidJSON }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = p[i]
            let d: UInt8
            if c &- 0x30 < 10 { d = c &- 0x30 } else if (c | 0x20) &- 0x61 < 6 { d = (c | 0x20) &- 0x61 &+ 10 } else { throw .invalidJSON }
            v = v << 4 | UInt32(d)
        }
        p += 4
        return v
    }

    @inline(__always)
    private static func encodeUTF8(_ s: UInt32, to out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if s < 0x80 {
            out[0] = UInt8(s)
            return out + 1
        } else if s < 0x800 {
            out[0] = UInt8(0xC0 | (s >> 6))
            out[1] = UInt8(0x80 | (s & 0x3F))
            return out + 2
        } else if s < 0x10000 {
            out[0] = UInt8(0xE0 | (s >> 12))
            out[1] = UInt8(0x80 | ((s >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (s & 0x3F))
            return out + 3
        } else {
            out[0] = UInt8(0xF0 | (s >> 18))
            out[1] = UInt8(0x80 | ((s >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((s >> 6) & 0x3F))
            out[3] = UInt8(0x80 | (s & 0x3F))
            return out + 4
        }
    }

    /// Validates one multi-byte UTF-8 sequence at the cursor (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF) and steps over it.
    private mutating func skipUTF8Sequence() throws(LineReject) {
        let b0 = p.pointee
        let avail = end - p
        @inline(__always) func cont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        if b0 >= 0xC2, b0 <= 0xDF {
            guard avail >= 2, cont(p[1]) else { throw .invalidJSON }
            p += 2
        } else if b0 >= 0xE0, b0 <= 0xEF {
            guard avail >= 3 else { throw .invalidJSON }
            let b1 = p[1]
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard b1 >= lo, b1 <= hi, cont(p[2]) else { throw .invalidJSON }
            p += 3
        } else if b0 >= 0xF0, b0 <= 0xF4 {
            guard avail >= 4 else { throw .invalidJSON }
            let b1 = p[1]
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard b1 >= lo, b1 <= hi, cont(p[2]), cont(p[3]) else { throw .invalidJSON }
            p += 4
        } else {
            throw .invalidJSON
        }
    }

    // MARK: Names

    @inline(__always)
    private static func equal(_ s: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        s.count == word.utf8CodeUnitCount && (s.count == 0 || memcmp(s.baseAddress!, word.utf8Start, s.count) == 0)
    }

    private func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// The column an import field name stands for; nil for unknown fields and `import`.
    /// The name's bytes are packed little-endian into one or two words and compared with the
    /// packed field names (generated from `Column.wireName`; a test checks every one).
    static func column(forKey k: UnsafeRawBufferPointer) -> Column? {
        let n = k.count
        guard n >= 1, n <= 12 else { return nil }
        var w0: UInt64 = 0, w1: UInt64 = 0
        for i in 0..<min(n, 8) { w0 |= UInt64(k[i]) << (UInt64(i) &* 8) }
        if n > 8 { for i in 8..<n { w1 |= UInt64(k[i]) << (UInt64(i &- 8) &* 8) } }
        switch n {
        case 1:
            if w0 == 0x78 { return .x }  // x
            if w0 == 0x79 { return .y }  // y
        case 2:
            if w0 == 0x7374 { return .ts }  // ts
            if w0 == 0x736F { return .os }  // os
        case 4:
            if w0 == 0x65746973 { return .site }  // site
            if w0 == 0x65707974 { return .type }  // type
            if w0 == 0x74786574 { return .text }  // text
            if w0 == 0x68746170 { return .path }  // path
            if w0 == 0x656D616E { return .name }  // name
        case 5:
            if w0 == 0x65756C6176 { return .value }  // value
            if w0 == 0x6C6562616C { return .label }  // label
        case 6:
            if w0 == 0x656369766564 { return .device }  // device
            if w0 == 0x6E6F69676572 { return .region }  // region
        case 7:
            if w0 == 0x726F7469736976 { return .visitor }  // visitor
            if w0 == 0x6E6F6973736573 { return .session }  // session
            if w0 == 0x6C656E6E616863 { return .channel }  // channel
            if w0 == 0x7972746E756F63 { return .country }  // country
            if w0 == 0x726573776F7262 { return .browser }  // browser
            if w0 == 0x746E656D656C65 { return .element }  // element
        case 8:
            if w0 == 0x7265727265666572 { return .referrer }  // referrer
            if w0 == 0x79726F6765746163 { return .category }  // category
        case 10:
            if w0 == 0x72756F735F6D7475, w1 == 0x00006563 { return .utmSource }  // utm_source
            if w0 == 0x6964656D5F6D7475, w1 == 0x00006D75 { return .utmMedium }  // utm_medium
        case 12:
            if w0 == 0x706D61635F6D7475, w1 == 0x6E676961 { return .utmCampaign }  // utm_campaign
            if w0 == 0x5F6E6F5F656D6974, w1 == 0x65676170 { return .timeOnPage }  // time_on_page
            if w0 == 0x645F6C6C6F726373, w1 == 0x68747065 { return .scrollDepth }  // scroll_depth
        default: break
        }
        return nil
    }

    static func eventType(_ s: UnsafeRawBufferPointer) -> EventType? {
        guard let first = s.first else { return nil }
        let t: EventType
        switch (s.count, first) {
        case (8, UInt8(ascii: "p")): t = .pageview
        case (5, UInt8(ascii: "e")): t = .event
        case (10, UInt8(ascii: "e")): t = .engagement
        case (9, UInt8(ascii: "h")): t = .heartbeat
        case (5, UInt8(ascii: "c")): t = .click
        case (6, UInt8(ascii: "s")): t = .scroll
        case (4, UInt8(ascii: "m")): t = .move
        default: return nil
        }
        let name: StaticString = switch t {
        case .pageview: "pageview"
        case .event: "event"
        case .engagement: "engagement"
        case .heartbeat: "heartbeat"
        case .click: "click"
        case .scroll: "scroll"
        case .move: "move"
        }
        return equal(s, name) ? t : nil
    }

    /// A rejected value for an error message: decoded, at most 64 characters.
    private static func describe(_ s: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: s, as: UTF8.self)
        return text.count > 64 ? String(text.prefix(64)) + "…" : text
    }
}

/// A scanned JSON number: up to 19 significant digits exactly, and where the text was.
struct JSONNumber {
    let start: UnsafePointer<UInt8>
    var negative = false
    var mantissa: UInt64 = 0
    var digits = 0
    /// Decimal exponent to apply to `mantissa`.
    var exponent = 0
    var isInteger = true
    /// More than 19 significant digits: only the text gives the exact value.
    var truncated = false

    init(start: UnsafePointer<UInt8>) { self.start = start }

    @inline(__always) mutating func addDigit(_ d: UInt8, fractional: Bool) {
        if digits < 19 {
            mantissa = mantissa &* 10 &+ UInt64(d)
            if mantissa != 0 { digits &+= 1 }
            if fractional { exponent &-= 1 }
        } else {
            truncated = true
            if !fractional { exponent &+= 1 }
        }
    }

    /// The value as an Int64 when it is written as an integer that fits.
    var integer: Int64? {
        guard isInteger, !truncated else { return nil }
        if negative {
            return mantissa <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- mantissa) : nil
        }
        return mantissa <= UInt64(Int64.max) ? Int64(mantissa) : nil
    }

    /// The value as the nearest Double (`end` is where the text stops).
    func double(end: UnsafePointer<UInt8>) -> Double {
        if !truncated, mantissa < 1 << 53, exponent >= -22, exponent <= 22 {
            // Clinger's fast path: both operands exact, one correctly rounded operation.
            var v = Double(mantissa)
            if exponent < 0 { v /= JSONNumber.powersOf10[-exponent] } else { v *= JSONNumber.powersOf10[exponent] }
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self)
        return Double(text) ?? .nan
    }

    static let powersOf10: [Double] = (0...22).map { e in
        var v = 1.0
        for _ in 0..<e { v *= 10 }
        return v
    }
}
