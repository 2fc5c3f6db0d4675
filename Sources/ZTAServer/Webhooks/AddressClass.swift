/// What kind of network an IP address belongs to, for the webhook SSRF guard (api.md §7.8):
/// only `.global` addresses may receive deliveries unless `WEBHOOK_ALLOW_PRIVATE` is set.
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`) are classified by
/// the IPv4 address they lead to, so `::ffff:127.0.0.1` or `2002:7f00:1::` are loopback.
enum AddressClass: String, Sendable, Equatable, CaseIterable {
    case global
    /// `0.0.0.0`, `::`.
    case unspecified
    /// `0.0.0.0/8` other than `0.0.0.0` ("this network"; Linux connects 0.x to the local host).
    case thisNetwork
    /// `127.0.0.0/8`, `::1`.
    case loopback
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    case privateNetwork
    /// RFC 6598 carrier-grade NAT: `100.64/10`.
    case sharedAddressSpace
    /// `169.254/16` (incl. the cloud metadata address `169.254.169.254`), `fe80::/10`.
    case linkLocal
    /// IPv6 unique local `fc00::/7` and the deprecated site-local `fec0::/10`.
    case uniqueLocal
    /// `224/4`, `ff00::/8`.
    case multicast
    /// `255.255.255.255`.
    case broadcast
    /// Other special-purpose IPv4 blocks a webhook has no business reaching: `192.0.0/24` (IETF
    /// protocol assignments), `198.18/15` (benchmarking), `240/4` (reserved).
    case reserved

    /// Whether a delivery may go there without `WEBHOOK_ALLOW_PRIVATE`.
    var isGlobal: Bool { self == .global }

    /// Classifies 4 (IPv4) or 16 (IPv6) address bytes in network order; any other length is
    /// `.reserved` (never reachable).
    static func of(_ b: [UInt8]) -> AddressClass {
        switch b.count {
        case 4: return ipv4(b[0], b[1], b[2], b[3])
        case 16: return ipv6(b)
        default: return .reserved
        }
    }

    /// Classifies an address literal (`127.0.0.1`, `::1`, `[::1]`); nil when it is not one.
    static func of(literal: String) -> AddressClass? {
        IPBytes(literal).map { of($0.bytes) }
    }

    private static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> AddressClass {
        switch a {
        case 0: return (b, c, d) == (0, 0, 0) ? .unspecified : .thisNetwork
        case 10: return .privateNetwork
        case 100 where b & 0xC0 == 64: return .sharedAddressSpace
        case 127: return .loopback
        case 169 where b == 254: return .linkLocal
        case 172 where b & 0xF0 == 16: return .privateNetwork
        case 192 where b == 168: return .privateNetwork
        case 192 where b == 0 && c == 0: return .reserved
        case 198 where b & 0xFE == 18: return .reserved
        case 224...239: return .multicast
        case 255 where (b, c, d) == (255, 255, 255): return .broadcast
        case 240...255: return .reserved
        default: return .global
        }
    }

    private static func ipv6(_ b: [UInt8]) -> AddressClass {
        let zeros10 = b[0..<10].allSatisfy { $0 == 0 }
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the IPv4 address
        // decides; `::` and `::1` are the IPv6 unspecified and loopback addresses.
        if zeros10 && b[10] == 0xFF && b[11] == 0xFF { return ipv4(b[12], b[13], b[14], b[15]) }
        if zeros10 && b[10] == 0 && b[11] == 0 {
            if b[12..<15].allSatisfy({ $0 == 0 }) {
                if b[15] == 0 { return .unspecified }
                if b[15] == 1 { return .loopback }
            }
            return ipv4(b[12], b[13], b[14], b[15])
        }
        // NAT64: 64:ff9b::/96 (well-known) and 64:ff9b:1::/48 (local use) end in the IPv4 address.
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B {
            if b[4..<12].allSatisfy({ $0 == 0 }) { return ipv4(b[12], b[13], b[14], b[15]) }
            // The local-use prefix places the IPv4 address by the operator's prefix length: unknown here.
            if b[4] == 0 && b[5] == 1 { return .reserved }
        }
        // 6to4: 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD.
        if b[0] == 0x20 && b[1] == 0x02 { return ipv4(b[2], b[3], b[4], b[5]) }
        if b[0] == 0xFF { return .multicast }
        if b[0] & 0xFE == 0xFC { return .uniqueLocal }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return .linkLocal }
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return .uniqueLocal }
        return .global
    }
}
