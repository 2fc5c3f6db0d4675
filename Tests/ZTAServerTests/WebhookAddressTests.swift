import Testing
@testable import ZTAServer

/// The SSRF guard's address classification (api.md §7.8), range by range with both edges, the
/// IPv6 spellings and the IPv6 forms that embed an IPv4 address.
@Suite("Webhook address classification")
struct WebhookAddressTests {
    /// Classification of a literal; a literal that does not parse fails the test.
    static func cls(_ s: String) -> AddressClass? { AddressClass.of(literal: s) }

    @Test func ipv4Ranges() {
        let cases: [(String, AddressClass)] = [
            ("0.0.0.0", .unspecified), ("0.0.0.1", .thisNetwork), ("0.255.255.255", .thisNetwork), ("1.0.0.0", .global),
            ("9.255.255.255", .global), ("10.0.0.0", .privateNetwork), ("10.255.255.255", .privateNetwork), ("11.0.0.0", .global),
            ("100.63.255.255", .global), ("100.64.0.0", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
            ("100.128.0.0", .global),
            ("126.255.255.255", .global), ("127.0.0.0", .loopback), ("127.0.0.1", .loopback), ("127.255.255.255", .loopback),
            ("128.0.0.0", .global),
            ("169.253.255.255", .global), ("169.254.0.0", .linkLocal), ("169.254.169.254", .linkLocal),
            ("169.254.255.255", .linkLocal), ("169.255.0.0", .global),
            ("172.15.255.255", .global), ("172.16.0.0", .privateNetwork), ("172.31.255.255", .privateNetwork), ("172.32.0.0", .global),
            ("192.0.0.0", .reserved), ("192.0.0.255", .reserved), ("192.0.1.0", .global),
            ("192.167.255.255", .global), ("192.168.0.0", .privateNetwork), ("192.168.255.255", .privateNetwork), ("192.169.0.0", .global),
            ("198.17.255.255", .global), ("198.18.0.0", .reserved), ("198.19.255.255", .reserved), ("198.20.0.0", .global),
            ("223.255.255.255", .global), ("224.0.0.0", .multicast), ("224.0.0.1", .multicast), ("239.255.255.255", .multicast),
            ("240.0.0.0", .reserved), ("255.255.255.254", .reserved), ("255.255.255.255", .broadcast),
            ("8.8.8.8", .global), ("93.184.216.34", .global),
        ]
        for (ip, expected) in cases { #expect(Self.cls(ip) == expected, "\(ip)") }
    }

    @Test func ipv6Ranges() {
        let cases: [(String, AddressClass)] = [
            ("::", .unspecified), ("::1", .loopback), ("0:0:0:0:0:0:0:1", .loopback), ("[::1]", .loopback),
            ("::2", .thisNetwork),  // IPv4-compatible ::0.0.0.2
            ("fc00::", .uniqueLocal), ("fc00::1", .uniqueLocal), ("fd12:3456:789a::1", .uniqueLocal),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .uniqueLocal), ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .global),
            ("fe00::", .global),
            ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .global), ("fe80::", .linkLocal), ("fe80::1", .linkLocal),
            ("fe80::1%eth0", .linkLocal), ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .linkLocal),
            ("fec0::1", .uniqueLocal), ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .uniqueLocal),
            ("ff00::", .multicast), ("ff02::1", .multicast), ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .multicast),
            ("2001:4860:4860::8888", .global), ("2606:4700:4700::1111", .global), ("2001:db8::1", .global),
        ]
        for (ip, expected) in cases { #expect(Self.cls(ip) == expected, "\(ip)") }
    }

    @Test func ipv6FormsCarryingIPv4() {
        let cases: [(String, AddressClass)] = [
            // IPv4-mapped, dotted and hex spellings.
            ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("0:0:0:0:0:ffff:7f00:0001", .loopback),
            ("::ffff:10.0.0.1", .privateNetwork), ("::ffff:a00:1", .privateNetwork), ("::ffff:172.16.0.1", .privateNetwork),
            ("::ffff:192.168.1.1", .privateNetwork), ("::ffff:169.254.169.254", .linkLocal), ("::ffff:a9fe:a9fe", .linkLocal),
            ("::ffff:100.64.0.1", .sharedAddressSpace), ("::ffff:0.0.0.0", .unspecified), ("::ffff:224.0.0.1", .multicast),
            ("::ffff:255.255.255.255", .broadcast), ("::ffff:8.8.8.8", .global),
            // IPv4-compatible (deprecated).
            ("::127.0.0.1", .loopback), ("::10.1.2.3", .privateNetwork), ("::8.8.8.8", .global),
            // NAT64 well-known prefix and the local-use prefix.
            ("64:ff9b::127.0.0.1", .loopback), ("64:ff9b::a9fe:a9fe", .linkLocal), ("64:ff9b::8.8.8.8", .global),
            ("64:ff9b:1::1", .reserved),
            // 6to4.
            ("2002:7f00:1::", .loopback), ("2002:c0a8:101::1", .privateNetwork), ("2002:a9fe:a9fe::", .linkLocal),
            ("2002:808:808::1", .global),
        ]
        for (ip, expected) in cases { #expect(Self.cls(ip) == expected, "\(ip)") }
    }

    @Test func byteLengthsAndNonLiterals() {
        #expect(AddressClass.of([1, 2, 3]) == .reserved)
        #expect(AddressClass.of([]) == .reserved)
        #expect(AddressClass.of([8, 8, 8, 8]) == .global)
        for s in ["localhost", "example.com", "", "1.2.3", "::g", "127.1", "0x7f.0.0.1", "2130706433"] {
            #expect(Self.cls(s) == nil, "\(s) is no strict literal")
        }
        #expect(AddressClass.allCases.filter(\.isGlobal) == [.global])
    }

    /// Agreement with a naive reference over random IPv4 addresses: the ranges written out as
    /// (first, last) integers straight from the RFCs.
    @Test func randomIPv4AgainstReference() {
        let ranges: [(UInt32, UInt32, AddressClass)] = [
            (0x0000_0000, 0x0000_0000, .unspecified), (0x0000_0001, 0x00FF_FFFF, .thisNetwork),
            (0x0A00_0000, 0x0AFF_FFFF, .privateNetwork), (0x6440_0000, 0x647F_FFFF, .sharedAddressSpace),
            (0x7F00_0000, 0x7FFF_FFFF, .loopback), (0xA9FE_0000, 0xA9FE_FFFF, .linkLocal),
            (0xAC10_0000, 0xAC1F_FFFF, .privateNetwork), (0xC000_0000, 0xC000_00FF, .reserved),
            (0xC0A8_0000, 0xC0A8_FFFF, .privateNetwork), (0xC612_0000, 0xC613_FFFF, .reserved),
            (0xE000_0000, 0xEFFF_FFFF, .multicast), (0xF000_0000, 0xFFFF_FFFE, .reserved),
            (0xFFFF_FFFF, 0xFFFF_FFFF, .broadcast),
        ]
        func reference(_ v: UInt32) -> AddressClass { ranges.first { $0.0 <= v && v <= $0.1 }?.2 ?? .global }
        var g = SystemRandomNumberGenerator()
        var samples: [UInt32] = (0..<20_000).map { _ in UInt32.random(in: 0...UInt32.max, using: &g) }
        for (lo, hi, _) in ranges { samples += [lo, hi, lo &- 1, hi &+ 1] }
        for v in samples {
            let b = [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            #expect(AddressClass.of(b) == reference(v), "\(b)")
            // The same address IPv4-mapped in IPv6 classifies the same.
            #expect(AddressClass.of(Array(repeating: 0, count: 10) + [0xFF, 0xFF] + b) == reference(v), "mapped \(b)")
        }
    }

    @Test func webhookURLParsing() {
        func parse(_ s: String, http: Bool = false) -> Result<WebhookURL, WebhookURL.Problem> { WebhookURL.parse(s, allowHTTP: http) }
        #expect((try? parse("https://hooks.example.com/x?y=1").get())?.host == "hooks.example.com")
        #expect((try? parse("https://[::1]:8443/").get())?.host == "::1")
        #expect((try? parse("https://[::1]:8443/").get())?.literal != nil)
        #expect((try? parse("https://127.0.0.1/").get())?.literal != nil)
        #expect((try? parse("https://2130706433/").get())?.literal == nil)  // a name: resolved, then checked
        #expect(parse("http://hooks.example.com/") == .failure(.notHTTPS))
        #expect((try? parse("http://hooks.example.com/", http: true).get())?.scheme == "http")
        for bad in ["ftp://example.com/", "example.com", "https://", "https:///path", "https://user:pw@example.com/",
                    "https://exa mple.com/", "javascript:alert(1)", "https://example.com:70000/",
                    "https://example.com/" + String(repeating: "a", count: 2100)] {
            #expect(parse(bad, http: true) == .failure(.invalid), "\(bad)")
        }
    }

    @Test func droppingQueueKeepsTheNewest() {
        var q = DroppingQueue<Int>(capacity: 3)
        #expect(q.push(1) == false)
        #expect(q.push(2) == false)
        #expect(q.push(3) == false)
        #expect(q.push(4) == true)
        #expect(q.push(5) == true)
        #expect(q.count == 3)
        #expect([q.pop(), q.pop(), q.pop(), q.pop()] == [3, 4, 5, nil])
        #expect(q.push(6) == false)
        #expect(q.removeAll() == 1)
        #expect(q.pop() == nil)
    }

    /// Against a naive reference (an array dropping its first element) over random pushes and pops.
    @Test func droppingQueueAgainstReference() {
        var g = SystemRandomNumberGenerator()
        // 40 and 100 grow the ring past its first 16 slots, wrapped (16 → 32 → 40 or 64 → 100).
        for capacity in [1, 2, 3, 7, 16, 40, 100] {
            var q = DroppingQueue<Int>(capacity: capacity)
            var reference: [Int] = []
            for step in 0..<5000 {
                if Bool.random(using: &g) || Int.random(in: 0..<4, using: &g) == 0 {
                    let dropped = q.push(step)
                    reference.append(step)
                    let refDropped = reference.count > capacity
                    if refDropped { reference.removeFirst() }
                    #expect(dropped == refDropped)
                } else {
                    #expect(q.pop() == (reference.isEmpty ? nil : reference.removeFirst()))
                }
                #expect(q.count == reference.count)
            }
        }
    }

    /// RFC 4231 test case 2, and the header form.
    @Test func signatureIsHMACSHA256() {
        #expect(WebhookService.signature(secret: "Jefe", body: Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let (body, headers) = WebhookService.request(id: "dlv_1", event: .pageview, webhookId: "wh_1", secret: "whsec_x",
                                                     timestampMs: 0, data: .object([("siteId", "site_1")]))
        #expect(String(decoding: body, as: UTF8.self)
                == #"{"id":"dlv_1","event":"pageview","timestamp":"1970-01-01T00:00:00.000Z","data":{"siteId":"site_1"}}"#)
        let h = Dictionary(headers, uniquingKeysWith: { a, _ in a })
        #expect(h["X-ZTA-Signature"] == "sha256=" + WebhookService.signature(secret: "whsec_x", body: body))
        #expect(h["User-Agent"] == "ZTA-Webhooks/1")
        #expect(h["X-ZTA-Delivery"] == "dlv_1")
        #expect(h["X-ZTA-Event"] == "pageview")
        #expect(h["X-ZTA-Webhook-ID"] == "wh_1")
        #expect(h["Content-Type"] == "application/json")
    }
}
