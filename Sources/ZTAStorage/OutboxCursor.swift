import ZTAFormat

/// A place in an outbox's log: a log file (its generation number) and a byte offset in it.
public struct OutboxPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: UInt64
    public var offset: Int

    public init(file: UInt64, offset: Int) {
        self.file = file
        self.offset = offset
    }

    public static func < (a: OutboxPosition, b: OutboxPosition) -> Bool {
        (a.file, a.offset) < (b.file, b.offset)
    }

    public var description: String { "\(WALFile.name(file))@\(offset)" }
}

/// The outbox's `cursor` file: which records are shipped, and the batch being shipped.
///
/// 4 bytes `ZOBC`, u8 version, u8 flags (bit 0: `inFlightEnd` present), u64 outbox id, u64 +
/// u64 shipped position, u64 + u64 in-flight end, u32 crc32c of everything before it. Replaced
/// atomically (temp file, fsync, rename, directory fsync), so after a crash it is the old or the
/// new version, whole; a checksum mismatch means damage from outside and is an error, never a
/// reason to start over (that would ship everything again under the same batch ids).
struct OutboxCursor: Equatable, Sendable {
    static let fileName = "cursor"
    static let magic: [UInt8] = Array("ZOBC".utf8)
    static let version: UInt8 = 1
    static let encodedSize = 4 + 1 + 1 + 8 * 5 + 4

    /// Random, fixed at creation: makes this outbox's batch ids differ from every other
    /// outbox's (several API servers ship into one ClickHouse store).
    var outboxId: UInt64
    /// Every record before this position is in ClickHouse.
    var shipped: OutboxPosition
    /// Set while the batch `[shipped, inFlightEnd)` is being inserted: ClickHouse may hold it,
    /// whole or in part, so it must be checked before it is sent again.
    var inFlightEnd: OutboxPosition?

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.encodedSize)
        for b in Self.magic { w.u8(b) }
        w.u8(Self.version)
        w.u8(inFlightEnd == nil ? 0 : 1)
        w.u64(outboxId)
        w.u64(shipped.file)
        w.u64(UInt64(shipped.offset))
        w.u64(inFlightEnd?.file ?? 0)
        w.u64(UInt64(inFlightEnd?.offset ?? 0))
        let crc = CRC32C.checksum(w.bytes)
        w.u32(crc)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], file: String) throws -> OutboxCursor {
        guard bytes.count == encodedSize else {
            throw StorageError(.corrupt, "outbox cursor has \(bytes.count) bytes, expected \(encodedSize)", file: file)
        }
        return try bytes.withUnsafeBytes { raw throws -> OutboxCursor in
            let body = UnsafeRawBufferPointer(rebasing: raw[0..<(encodedSize - 4)])
            var r = ByteReader(raw)
            do {
                for b in magic {
                    guard try r.u8() == b else { throw StorageError(.corrupt, "not an outbox cursor (bad magic)", file: file) }
                }
                let v = try r.u8()
                guard v == version else { throw StorageError(.corrupt, "outbox cursor version \(v) is not supported", file: file) }
                let flags = try r.u8()
                let id = try r.u64()
                let shipped = OutboxPosition(file: try r.u64(), offset: Int(truncatingIfNeeded: try r.u64()))
                let end = OutboxPosition(file: try r.u64(), offset: Int(truncatingIfNeeded: try r.u64()))
                let crc = try r.u32()
                guard CRC32C.checksum(body) == crc else { throw StorageError(.corrupt, "outbox cursor checksum mismatch", file: file) }
                guard shipped.offset >= 0, end.offset >= 0 else { throw StorageError(.corrupt, "outbox cursor offset out of range", file: file) }
                let inFlight = flags & 1 != 0 ? end : nil
                if let inFlight, inFlight < shipped {
                    throw StorageError(.corrupt, "outbox cursor's in-flight batch ends before its start", file: file)
                }
                return OutboxCursor(outboxId: id, shipped: shipped, inFlightEnd: inFlight)
            } catch is ByteReader.Overrun {
                throw StorageError(.corrupt, "outbox cursor is truncated", file: file)
            }
        }
    }
}
