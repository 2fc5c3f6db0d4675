import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a streamed request body to a temporary file, gunzipping it on the way when the
/// request said `Content-Encoding: gzip`, and refuses it once the decoded size passes the limit
/// (api.md §1: `/api/import` 100 MiB decoded → 413).
final class BodySpool {
    enum Failure: Error { case tooLarge, badGzip(String), io(String) }

    let path: String
    private let fd: Int32
    private let limit: Int
    private(set) var decodedBytes = 0
    private var stream: UnsafeMutablePointer<z_stream>?
    private var gzipDone = false

    init(directory: String, limit: Int, gzip: Bool) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/upload-" + Secrets.randomHex(bytes: 8) + ".ndjson"
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard fd >= 0 else { throw Failure.io("cannot create \(path)") }
        self.limit = limit
        if gzip {
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            guard inflateInit2_(s, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                s.deallocate()
                throw Failure.badGzip("inflateInit2 failed")
            }
            stream = s
        }
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
        close(fd)
        unlink(path)
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let stream else { return try write(bytes) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var out = [UInt8](repeating: 0, count: 1 << 16)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(bytes.count)
        while stream.pointee.avail_in > 0 {
            if gzipDone {
                // Concatenated members: start the next one; anything but a gzip header is ignored.
                guard stream.pointee.avail_in >= 2, stream.pointee.next_in[0] == 0x1F, stream.pointee.next_in[1] == 0x8B else { return }
                guard inflateReset(stream) == Z_OK else { throw Failure.badGzip("inflateReset failed") }
                gzipDone = false
            }
            let rc = out.withUnsafeMutableBufferPointer { o -> Int32 in
                stream.pointee.next_out = o.baseAddress
                stream.pointee.avail_out = UInt32(o.count)
                return inflate(stream, Z_NO_FLUSH)
            }
            let produced = out.count - Int(stream.pointee.avail_out)
            if produced > 0 { try out.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            switch rc {
            case Z_STREAM_END: gzipDone = true
            case Z_OK, Z_BUF_ERROR: if produced == 0 && rc == Z_BUF_ERROR { return }
            default:
                throw Failure.badGzip(stream.pointee.msg.map { String(cString: $0) } ?? "inflate error \(rc)")
            }
        }
    }

    /// Call after the last byte: a truncated gzip stream is an error.
    func finish() throws {
        if stream != nil && !gzipDone {
            // A body that ends inside a member never reached Z_STREAM_END.
            throw Failure.badGzip("unexpected end of compressed data")
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        decodedBytes += bytes.count
        if decodedBytes > limit { throw Failure.tooLarge }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.io("write failed")
            }
            off += n
        }
    }
}
