/// Magic numbers and format versions of segment files (see docs/format.md).
public enum SegmentFormat {
    /// The 8 bytes that open the header and close the trailer: ASCII `ztasSEG\n`. The final
    /// newline, as in PNG, catches text-mode transfers that rewrite line endings.
    public static let magic: UInt64 = 0x0A47_4553_7361_747A

    /// Versions, oldest first. A reader accepts every version listed here; a writer emits
    /// `current`. Bump on any change to the bytes, and describe the change in docs/format.md.
    public enum Version: UInt32, Sendable, CaseIterable {
        /// v1: header + blocks of column chunks + sorted string dictionaries + footer + trailer.
        /// Chunk encodings: constant, plain, frame-of-reference, delta, run-length, dictionary,
        /// all over patched bit-packing; optional LZ4 per chunk; CRC32C per chunk, dictionary,
        /// header, footer and trailer.
        case v1 = 1
        /// v2: adds chunk encoding 6, sparse (a bitmap of the rows that differ from a fill
        /// value, and those rows' values). Everything else as v1; v1 files stay readable.
        case v2 = 2
    }

    public static let current: Version = .v2

    /// Size of the fixed header: magic u64, version u32, crc u32.
    public static let headerSize = 16
    /// Size of the fixed trailer: footer offset u64, footer length u32, version u32,
    /// reserved u32, crc u32, magic u64.
    public static let trailerSize = 32
    /// Rows per block unless the writer is told otherwise.
    public static let defaultBlockRows = 65536
}
