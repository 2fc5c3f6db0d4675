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
    @Test func incrementalEqualsWhole() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32C.checksum(data)
        let part = CRC32C.checksum(Array(data[300...]), initial: CRC32C.checksum(Array(data[..<300])))
        #expect(whole == part)
    }
}
