import ZTAFormat

/// The one error type of the storage layer: a code to match on, a message, and where it happened.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Another process holds the data directory.
        case locked
        /// A system call failed (`errno` in the message).
        case io
        /// A file's bytes fail a checksum or structural check.
        case corrupt
        /// A request the store cannot honour (bad argument, closed store).
        case invalid
    }
    public var code: Code
    public var message: String
    /// The file involved, when there is one.
    public var file: String?
    /// Byte offset within `file`, when known.
    public var offset: Int?

    public init(_ code: Code, _ message: String, file: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
    }

    public var description: String {
        var s = message
        if let file { s += " (\(file)" + (offset.map { " at offset \($0)" } ?? "") + ")" }
        return s
    }

    /// Wraps a format error of a segment image as a corruption of `file`.
    init(_ e: FormatError) {
        self.init(.corrupt, e.message, file: e.file, offset: e.offset)
    }
}
