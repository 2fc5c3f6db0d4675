import ZTAFormat

/// The framing and payload of write-ahead-log records (documented in docs/format.md, "WAL").
///
/// A record is a 12-byte header and a payload:
/// `u32 payloadLength | u32 crc32c(payload) | u32 crc32c(header bytes 0..<8)`.
/// The header has its own checksum so a damaged length is told apart from a torn write.
enum WALRecord {
    static let headerSize = 12
    /// Payload kinds.
    static let kindEvents: UInt8 = 1

    /// Frames `payload` as a record.
    static func frame(_ payload: [UInt8], into out: inout [UInt8]) {
        var h = ByteWriter(capacity: headerSize)
        h.u32(UInt32(payload.count))
        h.u32(CRC32C.checksum(payload))
        let hc = CRC32C.checksum(h.bytes)
        h.u32(hc)
        out.append(contentsOf: h.bytes)
        out.append(contentsOf: payload)
    }

    /// Encodes a batch of events as one payload.
    static func encodeEvents(_ records: [EventRecord]) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + records.count * 160)
        w.u8(kindEvents)
        w.u32(UInt32(records.count))
        for r in records {
            w.i64(r.ts)
            w.u8(r.type.rawValue)
            w.u64(r.visitor)
            w.u64(r.session)
            w.f64(r.value)
            w.i32(r.timeOnPage)
            w.i32(r.x)
            w.i32(r.y)
            w.u8(UInt8(bitPattern: r.scrollDepth))
            w.u32(r.importId)
            for c in StringColumns.all { w.string(r.string(c)) }
        }
        return w.bytes
    }

    struct BadPayload: Error { var reason: String }

    /// Decodes an events payload (already checksum-verified).
    static func decodeEvents(_ payload: UnsafeRawBufferPointer) throws -> [EventRecord] {
        var r = ByteReader(payload)
        do {
            guard try r.u8() == kindEvents else { throw BadPayload(reason: "unknown record kind") }
            let n = Int(try r.u32())
            guard n <= payload.count else { throw BadPayload(reason: "implausible row count") }
            var out: [EventRecord] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                var e = EventRecord()
                e.ts = try r.i64()
                guard let t = EventType(rawValue: try r.u8()) else { throw BadPayload(reason: "unknown event type") }
                e.type = t
                e.visitor = try r.u64()
                e.session = try r.u64()
                e.value = try r.f64()
                e.timeOnPage = try r.i32()
                e.x = try r.i32()
                e.y = try r.i32()
                e.scrollDepth = Int8(bitPattern: try r.u8())
                e.importId = try r.u32()
                for c in StringColumns.all { e.setString(c, try r.string()) }
                out.append(e)
            }
            guard r.remaining == 0 else { throw BadPayload(reason: "trailing bytes") }
            return out
        } catch is ByteReader.Overrun {
            throw BadPayload(reason: "payload shorter than its rows")
        }
    }

    /// The outcome of scanning one WAL file.
    struct ScanResult {
        var payloads: [(offset: Int, bytes: [UInt8])] = []
        /// Offset where a torn (incomplete) last record starts, if any; the file is valid up to here.
        var tornAt: Int?
    }

    /// Splits a WAL file image into verified payloads. A torn tail (short header, short payload, or
    /// an all-zero unwritten region) is reported in `tornAt`; any other damage throws `.corrupt`.
    static func scan(_ bytes: UnsafeRawBufferPointer, file: String) throws -> ScanResult {
        var res = ScanResult()
        var pos = 0
        let n = bytes.count
        func allZero(_ from: Int, _ to: Int) -> Bool {
            var i = from
            while i < to { if bytes[i] != 0 { return false }; i += 1 }
            return true
        }
        while pos < n {
            if n - pos < headerSize {
                res.tornAt = pos
                return res
            }
            let h = UnsafeRawBufferPointer(rebasing: bytes[pos..<pos + headerSize])
            let len = Int(UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
            let pcrc = UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let hcrc = UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            if CRC32C.checksum(UnsafeRawBufferPointer(rebasing: h[0..<8])) != hcrc {
                if allZero(pos, n) { res.tornAt = pos; return res }
                throw StorageError(.corrupt, "WAL record header checksum mismatch", file: file, offset: pos)
            }
            let start = pos + headerSize
            if len > n - start {
                // The header made it to disk but not the whole payload: a write cut short by a crash.
                res.tornAt = pos
                return res
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<start + len])
            if CRC32C.checksum(payload) != pcrc {
                if start + len == n && allZero(start, n) { res.tornAt = pos; return res }
                throw StorageError(.corrupt, "WAL record checksum mismatch", file: file, offset: pos)
            }
            res.payloads.append((pos, Array(payload)))
            pos = start + len
        }
        return res
    }
}
