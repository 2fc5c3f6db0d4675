import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP answer as the tests look at it.
struct HTTPResult: Sendable {
    var status: Int
    /// Header names lower-cased.
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) as? [String: Any] ?? [:]
    }

    var error: String? { json["error"] as? String }
    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// A minimal HTTP/1.1 client over a blocking loopback socket (one request per connection),
/// run on a GCD thread so it never blocks Swift's cooperative pool, which the in-process server
/// needs. Decodes `Content-Length` and chunked bodies.
enum HTTPClient {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func send(port: Int, method: String, path: String, headers: [(String, String)] = [],
                     body: [UInt8]? = nil) async throws -> HTTPResult {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResult, any Error>) in
            DispatchQueue.global().async {
                do { c.resume(returning: try sendBlocking(port: port, method: method, path: path, headers: headers, body: body)) }
                catch { c.resume(throwing: error) }
            }
        }
    }

    /// A socket connected to 127.0.0.1:`port` whose reads give up after `receiveTimeout`
    /// seconds (the caller closes it).
    static func connectLoopback(port: Int, receiveTimeout: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "connect failed: \(e)")
        }
        return fd
    }

    static func sendBlocking(port: Int, method: String, path: String, headers: [(String, String)], body: [UInt8]?) throws -> HTTPResult {
        let fd = try connectLoopback(port: port, receiveTimeout: 120)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        var hasUA = false, hasLength = false
        for (k, v) in headers {
            head += "\(k): \(v)\r\n"
            if k.lowercased() == "user-agent" { hasUA = true }
            if k.lowercased() == "content-length" { hasLength = true }
        }
        if !hasUA { head += "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36\r\n" }
        if let body, !hasLength { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var out = Array(head.utf8)
        if let body { out += body }
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                // The server may answer (413) and close before reading everything.
                break
            }
            sent += n
        }
        var raw: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { break }
            raw += buf[0..<n]
        }
        return try parse(raw)
    }

    static func parse(_ raw: [UInt8]) throws -> HTTPResult {
        guard let end = find(raw, [13, 10, 13, 10], from: 0) else { throw Failure(description: "no response head (\(raw.count) bytes)") }
        let lines = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line") }
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(raw[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded: [UInt8] = []
            var i = 0
            while true {
                guard let le = find(body, [13, 10], from: i) else { throw Failure(description: "truncated chunked body") }
                let sizeText = String(decoding: body[i..<le], as: UTF8.self).split(separator: ";")[0]
                guard let size = Int(sizeText, radix: 16) else { throw Failure(description: "bad chunk size") }
                if size == 0 { break }
                decoded += body[(le + 2)..<(le + 2 + size)]
                i = le + 2 + size + 2
            }
            body = decoded
        }
        return HTTPResult(status: status, headers: headers, body: body)
    }

    static func find(_ a: [UInt8], _ p: [UInt8], from: Int) -> Int? {
        guard a.count >= p.count else { return nil }
        var i = from
        while i + p.count <= a.count {
            if a[i] == p[0] && Array(a[i..<(i + p.count)]) == p { return i }
            i += 1
        }
        return nil
    }
}
