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
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let base = IPBytes(parts[0]) else { return nil }
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

    init(trustedProxies: [String]) {
        trusted = trustedProxies.compactMap { IPRange($0) }
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
