import Testing
@testable import ZTAEngine

/// Channel derivation, `events.md` §4 (first match wins) with §6.16 host matching.
@Suite struct IngestChannelTests {
    static func ch(_ referrer: String = "", source: String = "", medium: String = "") -> String {
        ChannelClassifier.channel(referrer: referrer, utmSource: source, utmMedium: medium)
    }

    @Test func rule1PaidMedia() {
        for m in ["cpc", "ppc", "paid", "paidsearch", "display", "cpm"] {
            #expect(Self.ch(medium: m) == "paid", "\(m)")
            // Rule 1 beats every later rule.
            #expect(Self.ch("google.com", source: "newsletter", medium: m) == "paid")
        }
        for m in ["CPC", "cpc ", "paid_social", "cp", "displays", "social", "affiliate"] {
            #expect(Self.ch(medium: m) == "direct", "\(m) is not a paid medium")
        }
    }

    @Test func rule2Email() {
        #expect(Self.ch(medium: "email") == "email")
        #expect(Self.ch(source: "newsletter") == "email")
        #expect(Self.ch(source: "email") == "email")
        #expect(Self.ch("google.com", medium: "email") == "email", "rule 2 beats rule 3")
        #expect(Self.ch("facebook.com", source: "newsletter", medium: "social") == "email")
        #expect(Self.ch(source: "Email") == "direct")
        #expect(Self.ch(source: "mailchimp") == "direct")
        #expect(Self.ch(medium: "e-mail") == "direct")
        #expect(Self.ch(source: "email", medium: "cpc") == "paid", "rule 1 beats rule 2")
    }

    @Test func rule3SearchEngines() {
        for r in ["google.com", "google.de", "google.co.uk", "google.", "google.anything", "yandex.ru", "yandex.com",
                  "bing.com", "duckduckgo.com", "yahoo.com", "baidu.com", "ecosia.org", "search.brave.com"] {
            #expect(Self.ch(r) == "organic", "\(r)")
        }
        for r in ["google", "googleblog.com", "mail.google.com", "www.google.com", "news.yahoo.com", "bing.co.uk",
                  "brave.com", "yandexx.ru", "Google.com"] {
            #expect(Self.ch(r) == "referral", "\(r) is not a listed search host (as stored)")
        }
        #expect(Self.ch("google.com", source: "google", medium: "organic") == "organic")
    }

    @Test func rule4SocialNetworks() {
        for r in ["facebook.com", "t.co", "twitter.com", "x.com", "linkedin.com", "reddit.com", "instagram.com",
                  "youtube.com", "pinterest.com", "tiktok.com", "news.ycombinator.com", "mastodon.social"] {
            #expect(Self.ch(r) == "social", "\(r)")
            #expect(Self.ch(r, source: "twitter", medium: "social") == "social")
        }
        for r in ["m.facebook.com", "l.facebook.com", "ycombinator.com", "old.reddit.com", "facebook.co", "t.com", "x.co"] {
            #expect(Self.ch(r) == "referral", "\(r)")
        }
    }

    @Test func rules5And6() {
        #expect(Self.ch("github.com") == "referral")
        #expect(Self.ch("a") == "referral")
        #expect(Self.ch("") == "direct")
        #expect(Self.ch(source: "podcast", medium: "audio") == "direct", "UTM without a rule is still direct")
        #expect(Self.ch("partner.example", source: "acme", medium: "affiliate") == "referral")
    }

    @Test func everyChannelHasItsStoredName() {
        #expect(ChannelClassifier.Channel.allCases.map(\.name) == ["direct", "organic", "referral", "social", "paid", "email"])
        for c in ChannelClassifier.Channel.allCases {
            #expect(c.utf8.description == c.name)
        }
    }
}
