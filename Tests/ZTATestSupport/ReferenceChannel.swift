/// events.md §4's channel from stored values, written naively from the spec's words (the
/// reference the engine's `Channel` derivation is checked against; not its code). Exact,
/// case-sensitive matches, as the spec lists them; the referrer as stored (normalised).
public func referenceChannel(referrer: String, utmSource: String, utmMedium: String) -> String {
    let medium = utmMedium, source = utmSource
    if ["cpc", "ppc", "paid", "paidsearch", "display", "cpm"].contains(medium) { return "paid" }
    if medium == "email" || ["newsletter", "email"].contains(source) { return "email" }
    let search = ["bing.com", "duckduckgo.com", "yahoo.com", "baidu.com", "ecosia.org", "search.brave.com"]
    if referrer.hasPrefix("google.") || referrer.hasPrefix("yandex.") || search.contains(referrer) { return "organic" }
    let social = ["facebook.com", "t.co", "twitter.com", "x.com", "linkedin.com", "reddit.com", "instagram.com",
                  "youtube.com", "pinterest.com", "tiktok.com", "news.ycombinator.com", "mastodon.social"]
    if social.contains(referrer) { return "social" }
    return referrer.isEmpty ? "direct" : "referral"
}

/// A referrer host lower-cased, without a leading `www.` (events.md §6.16).
public func referenceReferrer(_ r: String) -> String {
    let l = r.lowercased()
    return l.hasPrefix("www.") ? String(l.dropFirst(4)) : l
}
