/// The credential of an `Authorization: Bearer …` header (api.md §2): an API key (`zta_…`) or a
/// session JWT. Anything else — no header, another scheme, an empty or space-holding token — is
/// no credential (the 401 `Authentication required`).
enum BearerToken: Equatable {
    case apiKey(String)
    case jwt(String)

    /// Parses the header value; nil when it carries no usable bearer token.
    init?(header: String?) {
        guard let header, header.hasPrefix("Bearer "),
              case let token = String(header.dropFirst(7)).trimmingCharacters(" "), !token.isEmpty,
              !token.contains(" ") else {
            return nil
        }
        self = token.hasPrefix("zta_") ? .apiKey(token) : .jwt(token)
    }
}
