/// A JSON value as request bodies arrive and management responses leave: objects keep their key
/// order (responses read as documented), numbers keep whether they were integers.
///
/// Bodies are parsed with the small parser below rather than Foundation's, which is slower on the
/// `/api/track` path and loses the integer/float distinction.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): Double(x) == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The member `key` of an object (the last one when repeated), nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }
    public var isObject: Bool { if case .object = self { return true }; return false }

    /// A number as a Double (ints converted).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// An integer, or a float with an integral value.
    public var intValue: Int? {
        switch self {
        case .int(let i): Int(exactly: i)
        case .double(let d) where d == d.rounded() && d.magnitude < 9e15: Int(d)
        default: nil
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral
{
    // Deliberately not ExpressibleByNilLiteral: `nil` must always mean "absent", never JSON null.
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSONValue {
    /// `.string(s)` or `.null`.
    static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    /// `.int(i)` or `.null`.
    static func optional(_ i: Int64?) -> JSONValue { i.map { .int($0) } ?? .null }
    static func int(_ i: Int) -> JSONValue { .int(Int64(i)) }
}
