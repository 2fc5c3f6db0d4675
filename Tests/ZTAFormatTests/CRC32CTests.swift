import Testing
@testable import ZTAFormat

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        // RFC 3720 B.4 test vectors.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0...31).map { UInt8($0) }) == 0x46DD_794E)
    }
    @Test func hardwareMatchesSoftware() {
        var state: UInt64 = 7
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4099] {
            let data = (0..<len).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return UInt8(truncatingIfNeeded: state >> 33)
            }
            let sw = data.withUnsafeBytes { CRC32C.software($0) }
            #expect(CRC32C.checksum(data) == sw, "length \(len)")
            #expect(CRC32C.checksum(data, initial: 0x1234_5678) == data.withUnsafeBytes { CRC32C.software($0, initial: 0x1234_5678) })
        }
    }

    @Test func incrementalEqualsWhole() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32C.checksum(data)
        let part = CRC32C.checksum(Array(data[300...]), initial: CRC32C.checksum(Array(data[..<300])))
        #expect(whole == part)
    }
}
