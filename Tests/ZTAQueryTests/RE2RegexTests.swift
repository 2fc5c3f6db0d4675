import XCTest
@testable import ZTAQuery

/// The goal regex matcher against RE2's behaviour: unanchored search, syntax accepted and
/// rejected as RE2 does, and linear work on patterns that make backtracking engines explode.
final class RE2RegexTests: XCTestCase {
    /// (pattern, text, RE2's answer to "does the text contain a match").
    static let cases: [(String, String, Bool)] = [
        ("abc", "xxabcxx", true), ("abc", "ab", false), ("", "", true), ("", "anything", true),
        ("^/docs", "/docs/a", true), ("^/docs", "/x/docs", false), ("a$", "ba", true), ("a$", "ab", false),
        ("^$", "", true), ("^$", "x", false), ("^/docs/reference/[a-z-]+$", "/docs/reference/api-keys", true),
        ("^/docs/reference/[a-z-]+$", "/docs/reference/API", false), ("^/docs/reference/[a-z-]+$", "/docs/reference/", false),
        ("a.c", "abc", true), ("a.c", "a\nc", false), ("(?s)a.c", "a\nc", true), ("a.c", "aéc", true),
        ("colou?r", "color", true), ("colou?r", "colour", true), ("colou?r", "colouur", false),
        ("ab*c", "ac", true), ("ab+c", "ac", false), ("ab+c", "abbbc", true),
        ("a{2}", "a", false), ("a{2}", "xaax", true), ("^a{2,3}$", "aaaa", false), ("^a{2,}$", "aaaaa", true),
        ("^a{0,1}$", "", true), ("a{,3}", "a{,3}", true), ("a{", "a{", true), ("x{2}y", "xxy", true),
        ("cat|dog", "hotdog", true), ("cat|dog", "bird", false), ("^(cat|dog)s?$", "cats", true), ("^(cat|dog)s?$", "cowss", false),
        ("(?:ab)+$", "xabab", true), ("(?P<word>blog)/", "/blog/x", true), ("(?<w>blog)/", "/blog/x", true),
        ("[abc]", "xbx", true), ("[^abc]", "abc", false), ("[^abc]", "abcd", true), ("[a-c]+z", "bcaz", true),
        ("[]a]", "]", true), ("[^]a]", "]", false), ("[a-]", "-", true), ("[\\d]", "5", true), ("[\\]]", "]", true),
        ("[[:digit:]]+", "ab12", true), ("[[:^alpha:]]", "abc", false), ("[[:upper:]]", "aBc", true),
        ("\\d+", "page42", true), ("^\\d+$", "4a2", false), ("\\D", "123", false), ("\\w+", "___", true),
        ("\\W", "abc_1", false), ("\\s", "a b", true), ("\\S", "   ", false),
        ("\\bfoo\\b", "a foo b", true), ("\\bfoo\\b", "afoob", false), ("\\Bfoo", "afoo", true),
        ("\\Aabc\\z", "abc", true), ("\\Aabc\\z", "abc\n", false), ("a\\.b", "a.b", true), ("a\\.b", "axb", false),
        ("\\/blog\\/", "/blog/", true), ("\\x41", "A", true), ("\\x{1F600}", "😀", true), ("\\n", "a\nb", true),
        ("\\Qa.b\\E", "a.b", true), ("\\Qa.b\\E", "axb", false), ("\\Q*+?\\E", "*+?", true),
        ("(?i)BLOG", "/blog", true), ("BLOG", "/blog", false), ("(?i:B)log", "blog", true), ("(?i:B)LOG", "blog", false),
        ("(?m)^b$", "a\nb\nc", true), ("^b$", "a\nb\nc", false), ("(?i)straße", "STRAßE", true),
        ("a*?b", "aab", true), ("a+?", "a", true), ("a??b", "b", true), ("a{1,3}?b", "aab", true),
        ("(a|b)*c", "ababc", true), ("(a*)*b", "aaaa", false), ("(a*)+$", "b", true), ("(|a)+", "", true),
        ("über", "/über/", true), ("[ü-ü]", "ü", true), ("^.{3}$", "äöü", true), ("^.{3}$", "abcd", false),
        ("^/products/", "/products/shoe", true), ("/products/$", "/products/", true),
        ("a|", "b", true), ("^(a|)$", "", true), ("x*", "", true), ("^\\^", "^x", true), ("\\$$", "a$", true),
    ]

    /// Patterns RE2 rejects (backreferences, lookaround, possessive or doubled quantifiers,
    /// counts above 1000, bad syntax).
    static let invalid = [
        "(a)\\1", "\\1", "(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "a*+", "a++", "a?+", "a**", "a{2}{3}", "a{2}*",
        "a{1001}", "a{1,1001}", "a{3,2}", "(", ")", "(a", "a)", "[a", "[z-a]", "*a", "+", "?", "{2}", "a|*",
        "\\", "\\y", "\\Z", "\\x{110000}", "\\xZ", "(?P=n)", "(?P<>a)", "(?i", "(?)", "(?-)", "(?i-)", "(?z)",
        "[[:nope:]]", "(a{1000}){1000}", "\\pL", "\\C",
        String(repeating: "(", count: 5000) + "a" + String(repeating: ")", count: 5000),
    ]

    func testMatchesLikeRE2() throws {
        for (p, text, want) in Self.cases {
            let r = try RE2Regex(p)
            XCTAssertEqual(r.matches(text), want, "pattern \(p) on \(text.debugDescription)")
        }
    }

    func testRejectsWhatRE2Rejects() {
        for p in Self.invalid {
            XCTAssertThrowsError(try RE2Regex(p), "pattern \(p) should be rejected") { e in
                XCTAssertEqual(e as? QueryError, QueryError("Invalid regular expression"))
            }
        }
    }

    /// `(a*)*b` on 10 kB of `a` takes exponential time in a backtracking engine; here the work
    /// (instructions visited) is bounded by text length × program size, and grows linearly.
    func testPathologicalPatternsAreLinear() throws {
        for p in ["(a*)*b", "(a|aa)*c", "(x+x+)+y", "^(a?){25}a{25}$"] {
            let r = try RE2Regex(p)
            let small = r.search(Array(String(repeating: "a", count: 5_000).unicodeScalars.map(\.value)))
            let large = r.search(Array(String(repeating: "a", count: 10_000).unicodeScalars.map(\.value)))
            XCTAssertFalse(large.matched && p != "^(a?){25}a{25}$", p)
            let bound = (10_001) * (r.program.count + 1) * 2
            XCTAssertLessThanOrEqual(large.steps, bound, "\(p): \(large.steps) steps")
            // Linear: doubling the text at most doubles the work (plus a constant).
            XCTAssertLessThanOrEqual(large.steps, 2 * small.steps + 4 * r.program.count, p)
        }
        XCTAssertTrue(try RE2Regex("^(a?){25}a{25}$").matches(String(repeating: "a", count: 25)))
    }

    /// The goal path matcher: exact and contains compare bytes; regex is unanchored.
    func testPathMatcher() throws {
        XCTAssertTrue(try PathMatcher(path: "/pricing", matchType: .exact).matches("/pricing"))
        XCTAssertFalse(try PathMatcher(path: "/pricing", matchType: .exact).matches("/pricing/"))
        XCTAssertTrue(try PathMatcher(path: "/blog/", matchType: .contains).matches("/en/blog/x"))
        XCTAssertFalse(try PathMatcher(path: "/Blog/", matchType: .contains).matches("/blog/x"))
        XCTAssertTrue(try PathMatcher(path: "blog", matchType: .regex).matches("/en/blog/x"))
        XCTAssertThrowsError(try PathMatcher(path: "(?=x)", matchType: .regex))
        let g = try GoalMatcher(GoalDefinition(id: "g", name: "n", type: .event, eventAction: "Signup", eventLabel: "hero"))
        XCTAssertTrue(g.matchesRow(type: .event, path: "/", name: "Signup", category: "any", label: "hero"))
        XCTAssertFalse(g.matchesRow(type: .event, path: "/", name: "Signup", category: "any", label: "footer"))
        XCTAssertFalse(g.matchesRow(type: .pageview, path: "/", name: "Signup", category: "", label: "hero"))
        XCTAssertEqual(g.completionValue(eventValue: 0), 0)
        XCTAssertEqual(g.completionValue(eventValue: 4.5), 4.5)
    }
}
