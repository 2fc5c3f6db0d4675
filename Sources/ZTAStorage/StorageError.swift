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
        /// A write failed but the store put itself back in a known state: nothing of the
        /// failed request was acknowledged and a later attempt may succeed (ENOSPC, EIO on a
        /// WAL write that was cut back off). Servers answer 503 with `Retry-After`.
        case unavailable
    }
    public var code: Code
    public var message: String
    /// The file involved, when there is one.
    public var file: String?
    /// Byte offset within `file`, when known.
    public var offset: Int?
    /// The system call's `errno`, for `.io` errors.
    public var errno: Int32?
    /// Set when an atomic replacement failed after its rename: the new content is in place.
    public var afterCommit = false

    public init(_ code: Code, _ message: String, file: String? = nil, offset: Int? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
        self.errno = errno
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
