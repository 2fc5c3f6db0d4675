/// Password policy and e-mail rules of api.md §2.
enum Credentials {
    /// The failed rules, in the documented order; empty when the password is acceptable.
    static func passwordProblems(_ p: String) -> [String] {
        var out: [String] = []
        let n = p.count
        if n < 12 { out.append("Password must be at least 12 characters") }
        if n > 128 { out.append("Password must not exceed 128 characters") }
        if !p.unicodeScalars.contains(where: { $0.value >= 0x61 && $0.value <= 0x7A }) {
            out.append("Password must contain at least one lowercase letter")
        }
        if !p.unicodeScalars.contains(where: { $0.value >= 0x41 && $0.value <= 0x5A }) {
            out.append("Password must contain at least one uppercase letter")
        }
        if !p.unicodeScalars.contains(where: { $0.value >= 0x30 && $0.value <= 0x39 }) {
            out.append("Password must contain at least one number")
        }
        let punct = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)
        if !p.unicodeScalars.contains(where: { punct.contains($0) }) {
            out.append("Password must contain at least one special character")
        }
        return out
    }

    static func checkPassword(_ p: String) throws(APIError) {
        let problems = passwordProblems(p)
        if !problems.isEmpty { throw APIError.badRequest("Password does not meet requirements", details: problems) }
    }

    /// The normalised e-mail (trimmed, lower-cased), or the api.md error.
    static func email(_ v: JSONValue?) throws(APIError) -> String {
        guard let raw = v?.stringValue else {
            if v?.isNull ?? true { throw APIError.badRequest("Email is required") }
            throw APIError.badRequest("Invalid email format")
        }
        let e = raw.trimmingCharacters(" ").lowercased()
        if e.isEmpty { throw APIError.badRequest("Email is required") }
        guard isValidEmail(e) else { throw APIError.badRequest("Invalid email format") }
        return e
    }

    /// `local@domain`, at most 254 bytes, no spaces, a dot in the domain.
    static func isValidEmail(_ e: String) -> Bool {
        guard e.utf8.count <= 254, !e.contains(where: { $0 == " " || $0 == "\t" }) else { return false }
        let parts = e.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return false }
        let domain = parts[1]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else { return false }
        return true
    }
}
