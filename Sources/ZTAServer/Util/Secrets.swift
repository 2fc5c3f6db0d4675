import Crypto

/// Random identifiers and tokens, and SHA-256 of tokens at rest.
enum Secrets {
    /// `n` bytes from the system CSPRNG.
    static func randomBytes(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    static func randomHex(bytes n: Int) -> String { hex(randomBytes(n)) }

    /// A type-prefixed opaque id, e.g. `site_3f9a…` (12 random bytes).
    static func id(_ prefix: String) -> String { prefix + "_" + randomHex(bytes: 12) }

    static func sha256Hex(_ s: String) -> String { hex(Array(SHA256.hash(data: Array(s.utf8)))) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var s = String.UnicodeScalarView()
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return String(s)
    }

    /// Constant-time comparison of two strings' bytes.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in 0..<x.count { d |= x[i] ^ y[i] }
        return d == 0
    }

    /// RFC 4648 base32 without padding (TOTP secrets).
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".unicodeScalars)
        var out = String.UnicodeScalarView()
        var buffer: UInt32 = 0, bits = 0
        for b in bytes {
            buffer = buffer << 8 | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(out)
    }
}
