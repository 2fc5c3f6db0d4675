import Testing
@testable import ZTAEngine

/// XXH64 against reference values (the python `xxhash` package, i.e. the C library).
@Suite struct IngestXXH64Tests {
    @Test func officialVectors() {
        #expect(XXH64.hash("") == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash("a") == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash("abc") == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash("message digest") == 0x066E_D728_FCEE_B3BE)
        #expect(XXH64.hash("abcdefghijklmnopqrstuvwxyz") == 0xCFE1_F278_FA89_835C)
        #expect(XXH64.hash(String(repeating: "1234567890", count: 8)) == 0xE04A_477F_19EE_145D)
        #expect(XXH64.hash("café 😀") == 0x6EB6_1839_8B4E_A49C)
    }

    @Test func seeds() {
        #expect(XXH64.hash("", seed: 1) == 0xD5AF_BA13_36A3_BE4B)
        #expect(XXH64.hash("a", seed: 0x9E37_79B1_85EB_CA87) == 0x727C_10E0_D238_E188)
        let bytes = (0..<768).map { UInt8($0 & 0xFF) }
        #expect(XXH64.hash(bytes) == 0x8E03_C838_C596_036F)
        #expect(XXH64.hash(bytes, seed: 12345) == 0x6ECA_C135_863F_12B2)
    }

    /// Every length from 0 to 100 goes through the same code whether hashed from a String or
    /// from an unaligned slice of a larger buffer.
    @Test func unalignedSlicesMatchWholeValues() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for len in 0...100 {
            let whole = XXH64.hash(Array(bytes[1..<(1 + len)]))
            let slice = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[1..<(1 + len)])) }
            #expect(whole == slice)
        }
    }
}
