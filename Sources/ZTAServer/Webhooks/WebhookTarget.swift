import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves a webhook host name to addresses. The SSRF guard checks every address returned and
/// delivers to the first one (never to a second lookup); tests inject one to make a name move.
public protocol WebhookHostResolver: Sendable {
    /// Address literals (`93.184.216.34`, `2001:db8::1`) for `host`; empty or a throw: unresolvable.
    func resolve(host: String) async throws -> [String]
}

/// `getaddrinfo` on a GCD thread (it blocks), TCP addresses of any family, in the system's order.
public struct SystemHostResolver: WebhookHostResolver {
    public init() {}

    public func resolve(host: String) async throws -> [String] {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: Self.lookup(host)) }
        }
    }

    static func lookup(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var out: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node, out.count < 32 {
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            if let sa = n.pointee.ai_addr {
                if n.pointee.ai_family == AF_INET {
                    sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                        var a = p.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
                    }
                } else if n.pointee.ai_family == AF_INET6 {
                    sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                        var a = p.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
                    }
                }
            }
            let text = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.isEmpty && !out.contains(text) { out.append(text) }
            node = n.pointee.ai_next
        }
        return out
    }
}

/// A webhook URL taken apart the way the HTTP client will take it apart (Foundation's `URL`),
/// so that the host checked is the host connected to.
struct WebhookURL: Sendable, Equatable {
    var url: String
    /// `http` or `https`.
    var scheme: String
    /// The host as the client sees it, IPv6 brackets removed.
    var host: String
    /// The host's address when the URL names an address literally.
    var literal: IPBytes?

    static let maxLength = 2048

    enum Problem: Error, Equatable { case invalid, notHTTPS }

    /// A syntactically usable absolute `http(s)` URL with a host and no credentials.
    static func parse(_ text: String, allowHTTP: Bool) -> Result<WebhookURL, Problem> {
        guard text.utf8.count <= maxLength, !text.contains(where: { $0.isWhitespace }),
              let u = URL(string: text), let rawScheme = u.scheme?.lowercased(),
              rawScheme == "http" || rawScheme == "https",
              var host = u.host, !host.isEmpty, u.user == nil, u.password == nil else {
            return .failure(.invalid)
        }
        if let port = u.port, !(1...65535).contains(port) { return .failure(.invalid) }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if rawScheme == "http" && !allowHTTP { return .failure(.notHTTPS) }
        // Only strict literals (inet_pton) count as addresses; anything else (`2130706433`,
        // `0x7f.1`) is a name and goes through the resolver, whose answer is what is checked.
        var v4 = in_addr(), v6 = in6_addr()
        let isLiteral = inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
        return .success(WebhookURL(url: text, scheme: rawScheme, host: host, literal: isLiteral ? IPBytes(host) : nil))
    }
}

/// The SSRF guard of api.md §7.8: the address a delivery may connect to, after resolution.
struct WebhookAddressGuard: Sendable {
    let resolver: any WebhookHostResolver
    let allowPrivate: Bool

    enum Refusal: Error, Equatable {
        case unresolvable
        /// The first refused address's class.
        case privateAddress(AddressClass)
    }

    /// The address to connect to (nil: the URL is itself an address literal, connect to it):
    /// every resolved address must be global unless private ones are allowed.
    func check(_ target: WebhookURL) async -> Result<String?, Refusal> {
        if let literal = target.literal {
            let c = AddressClass.of(literal.bytes)
            return c.isGlobal || allowPrivate ? .success(nil) : .failure(.privateAddress(c))
        }
        let addresses = (try? await resolver.resolve(host: target.host)) ?? []
        var chosen: String?
        for a in addresses {
            guard let ip = IPBytes(a) else { continue }
            let c = AddressClass.of(ip.bytes)
            if !c.isGlobal && !allowPrivate { return .failure(.privateAddress(c)) }
            if chosen == nil { chosen = a }
        }
        guard let chosen else { return .failure(.unresolvable) }
        return .success(chosen)
    }
}
