#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address as bytes (4 for IPv4, 16 for IPv6; IPv4-mapped IPv6 is folded to IPv4).
struct IPBytes: Equatable, Sendable {
    var bytes: [UInt8]

    init?(_ text: String) {
        var s = text.trimmingCharacters(" ")
        if s.hasPrefix("[") && s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let pct = s.firstIndex(of: "%") { s = String(s[..<pct]) }  // zone id
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, s, &v6) == 1 else { return nil }
        let b = withUnsafeBytes(of: &v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
            bytes = Array(b[12..<16])
        } else {
            bytes = b
        }
    }
}

/// A trusted proxy: one address or a CIDR range.
struct IPRange: Sendable {
    let base: IPBytes
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let base = IPBytes(first) else { return nil }
        self.base = base
        let bits = base.bytes.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= bits else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
    }

    func contains(_ ip: IPBytes) -> Bool {
        guard ip.bytes.count == base.bytes.count else { return false }
        var left = prefix
        for k in 0..<ip.bytes.count where left > 0 {
            let take = min(8, left)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if ip.bytes[k] & mask != base.bytes[k] & mask { return false }
            left -= take
        }
        return true
    }
}

/// Client address rules of api.md §1: the TCP peer, or the left-most `X-Forwarded-For` entry when
/// the peer is a trusted proxy.
struct ClientAddressResolver: Sendable {
    let trusted: [IPRange]

    /// Fails with the first entry that is neither an address nor a CIDR range, so a typo in
    /// `TRUSTED_PROXIES` stops the start instead of silently trusting nobody (or trapping).
    init(trustedProxies: [String]) throws(ServerError) {
        var ranges: [IPRange] = []
        for entry in trustedProxies {
            guard let r = IPRange(entry) else { throw ServerError("TRUSTED_PROXIES: not an IP address or CIDR range: \"\(entry)\"") }
            ranges.append(r)
        }
        trusted = ranges
    }

    /// The key per-IP rate limits count under: the address itself for IPv4, its /64 for IPv6
    /// (one subscriber usually holds a whole /64, so per-address limits would not limit).
    static func rateKey(_ ip: String) -> String {
        guard ip.contains(":"), let b = IPBytes(ip), b.bytes.count == 16 else { return ip }
        var key = "v6:"
        for k in 0..<8 {
            let h = "0123456789abcdef".utf8
            let byte = b.bytes[k]
            key.unicodeScalars.append(Unicode.Scalar(h[h.index(h.startIndex, offsetBy: Int(byte >> 4))]))
            key.unicodeScalars.append(Unicode.Scalar(h[h.index(h.startIndex, offsetBy: Int(byte & 15))]))
        }
        return key + "/64"
    }

    func clientIP(peer: String?, forwardedFor: String?) -> String {
        let peerIP = peer ?? ""
        guard let xff = forwardedFor, !trusted.isEmpty, let p = IPBytes(peerIP),
              trusted.contains(where: { $0.contains(p) }) else { return peerIP }
        let first = xff.split(separator: ",", maxSplits: 1).first.map { String($0).trimmingCharacters(" ") } ?? ""
        return IPBytes(first) != nil ? first : peerIP
    }

    /// `a.b.***.***` for IPv4, the first group + `:***` for IPv6 (api.md §2 note 4).
    static func masked(_ ip: String) -> String {
        if ip.contains(":") {
            let first = ip.split(separator: ":", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return (first.isEmpty ? "0" : first) + ":***"
        }
        let parts = ip.split(separator: ".")
        guard parts.count == 4 else { return "***" }
        return "\(parts[0]).\(parts[1]).***.***"
    }
}

extension String {
    func trimmingCharacters(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c || s.first == "\t" { s.removeFirst() }
        while s.last == c || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
