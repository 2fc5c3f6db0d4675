/// An error reading or writing the segment format: what went wrong, in which file, at which byte.
///
/// `code` is what callers switch on; `message` is for humans; `file` and `offset` locate the
/// problem (the offset of the structure that failed its check, e.g. the start of a column chunk
/// whose checksum does not match).
public struct FormatError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable {
        /// The header or trailer does not start/end with the segment magic: not a segment file.
        case badMagic
        /// A format version this build cannot read.
        case unsupportedVersion
        /// The image is shorter than its own structure says it should be.
        case truncated
        /// A CRC32C over some region does not match its stored value.
        case checksumMismatch
        /// The bytes are checksummed correctly but describe an impossible structure
        /// (also used for writer inputs that violate the segment contract).
        case corrupt
        /// LZ4 could not decompress a chunk, or produced the wrong length.
        case compression
    }

    public var code: Code
    public var message: String
    public var file: String
    public var offset: Int

    public init(_ code: Code, _ message: String, file: String = "", offset: Int = 0) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
    }

    public var description: String {
        let location = file.isEmpty ? "offset \(offset)" : "\(file) at offset \(offset)"
        return "segment format error (\(code)) in \(location): \(message)"
    }

    /// The same error re-located in `file`, with `base` added to its offset.
    func located(file: String, base: Int) -> FormatError {
        var e = self
        e.file = file
        e.offset += base
        return e
    }
}
