import CLZ4

/// The LZ4 block format through the system liblz4 (no frame headers: segment metadata stores
/// the raw and compressed lengths itself).
public enum LZ4Codec {
    /// Compresses `src` with `LZ4_compress_default`. The result may be larger than `src` for
    /// incompressible input; callers compare and keep the raw bytes in that case.
    public static func compress(_ src: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(src.count <= Int(LZ4_MAX_INPUT_SIZE), "LZ4 input too large")
        if src.isEmpty { return [] }
        let bound = Int(LZ4_compressBound(Int32(src.count)))
        return [UInt8](unsafeUninitializedCapacity: bound) { dst, initialized in
            let n = LZ4_compress_default(
                src.baseAddress!.assumingMemoryBound(to: CChar.self),
                UnsafeMutableRawPointer(dst.baseAddress!).assumingMemoryBound(to: CChar.self),
                Int32(src.count), Int32(bound))
            precondition(n > 0, "LZ4_compress_default failed")
            initialized = Int(n)
        }
    }

    /// Decompresses `src` into `dst` with `LZ4_decompress_safe` (never reads or writes out of
    /// bounds, whatever the input). Returns the number of bytes written.
    public static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws -> Int {
        if src.isEmpty || dst.isEmpty {
            if src.isEmpty && dst.isEmpty { return 0 }
            throw FormatError(.compression, "LZ4 input or output is empty")
        }
        guard src.count <= Int(Int32.max), dst.count <= Int(Int32.max) else {
            throw FormatError(.compression, "LZ4 buffer too large")
        }
        let n = LZ4_decompress_safe(
            src.baseAddress!.assumingMemoryBound(to: CChar.self),
            dst.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(src.count), Int32(dst.count))
        if n < 0 { throw FormatError(.compression, "LZ4 data is malformed (code \(n))") }
        return Int(n)
    }
}
