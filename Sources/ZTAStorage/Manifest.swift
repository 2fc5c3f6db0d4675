public import ZTAFormat

/// What the manifest records about one live segment.
public struct SegmentMeta: Sendable, Equatable {
    public var id: UInt64
    public var partition: PartitionKey
    public var rows: Int
    public var minTs: Int64
    public var maxTs: Int64
    public var bytes: Int
    /// Range of `import` ids in the segment (0 = tracked events), to find an import's segments.
    public var minImport: UInt32
    public var maxImport: UInt32

    /// Path relative to the data directory.
    public var relativePath: String {
        "events/\(Manifest.escape(partition.site))/\(partition.month)/seg-\(Manifest.pad(id, 12)).zseg"
    }
}

/// The list of live segments and the store's counters; the single commit point of every
/// flush, import batch, deletion and compaction. Replaced atomically (temp, fsync, rename,
/// directory fsync). Text, one fact per line, closed by a CRC32C line (docs/format.md).
public struct Manifest: Sendable, Equatable {
    public static let fileName = "MANIFEST"
    static let magic = "ztas-manifest 1"

    public var nextSegmentId: UInt64 = 1
    public var nextImportId: UInt32 = 1
    /// The oldest WAL generation whose events are not yet in segments.
    public var walStart: UInt64 = 1
    public var segments: [SegmentMeta] = []

    public init() {}

    func encode() -> [UInt8] {
        var s = Manifest.magic + "\n"
        s += "next-segment \(nextSegmentId)\n"
        s += "next-import \(nextImportId)\n"
        s += "wal-start \(walStart)\n"
        for m in segments {
            s += "segment \(m.id) \(Manifest.escape(m.partition.site)) \(m.partition.month) \(m.rows) \(m.minTs) \(m.maxTs) \(m.bytes) \(m.minImport) \(m.maxImport)\n"
        }
        var bytes = Array(s.utf8)
        let crc = CRC32C.checksum(bytes)
        bytes.append(contentsOf: Array("crc \(Manifest.hex(crc))\n".utf8))
        return bytes
    }

    static func decode(_ bytes: [UInt8], file: String) throws -> Manifest {
        func bad(_ why: String, _ off: Int) -> StorageError { StorageError(.corrupt, "manifest is damaged: \(why)", file: file, offset: off) }
        // The last line is `crc <8 hex>\n` over everything before it.
        guard bytes.count >= 14, bytes.last == 0x0A else { throw bad("truncated", bytes.count) }
        var lineStart = bytes.count - 1
        while lineStart > 0 && bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
        let crcLine = String(decoding: bytes[lineStart..<(bytes.count - 1)], as: UTF8.self)
        guard crcLine.hasPrefix("crc "), let want = UInt32(crcLine.dropFirst(4), radix: 16), crcLine.count == 12 else {
            throw bad("missing checksum line", lineStart)
        }
        let body = Array(bytes[0..<lineStart])
        guard CRC32C.checksum(body) == want else { throw bad("checksum mismatch", lineStart) }
        var m = Manifest()
        var offset = 0
        var sawMagic = false
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            defer { offset += line.utf8.count + 1 }
            if line.isEmpty { continue }
            if !sawMagic {
                guard line == Manifest.magic else { throw bad("unknown format '\(line)'", offset) }
                sawMagic = true
                continue
            }
            let f = line.split(separator: " ").map(String.init)
            switch f[0] {
            case "next-segment" where f.count == 2: guard let v = UInt64(f[1]) else { throw bad("bad line", offset) }; m.nextSegmentId = v
            case "next-import" where f.count == 2: guard let v = UInt32(f[1]) else { throw bad("bad line", offset) }; m.nextImportId = v
            case "wal-start" where f.count == 2: guard let v = UInt64(f[1]) else { throw bad("bad line", offset) }; m.walStart = v
            case "segment" where f.count == 10:
                guard let id = UInt64(f[1]), let site = Manifest.unescape(f[2]), let rows = Int(f[4]),
                      let lo = Int64(f[5]), let hi = Int64(f[6]), let b = Int(f[7]),
                      let i0 = UInt32(f[8]), let i1 = UInt32(f[9]) else { throw bad("bad segment line", offset) }
                m.segments.append(SegmentMeta(id: id, partition: PartitionKey(site: site, month: f[3]), rows: rows,
                                              minTs: lo, maxTs: hi, bytes: b, minImport: i0, maxImport: i1))
            default: throw bad("unknown line '\(f[0])'", offset)
            }
        }
        guard sawMagic else { throw bad("empty", 0) }
        return m
    }

    /// Site ids become file names and manifest fields: keep `[A-Za-z0-9._-]`, percent-encode the rest.
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                out.append(Character(Unicode.Scalar(b)))
            case UInt8(ascii: ".") where !out.isEmpty:
                out.append(".")
            default:
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out.isEmpty ? "%" : out
    }

    static func unescape(_ s: String) -> String? {
        if s == "%" { return "" }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
                it = it.dropFirst(2)
            } else { bytes.append(b) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func pad(_ v: UInt64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
