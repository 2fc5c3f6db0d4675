/// Static vocabularies of the synthetic workload: traffic sources, devices, places, page
/// elements and custom events, each with a weight for how often it occurs.
enum WorkloadCatalog {
    /// How a session arrived: the values written on its first pageview and the channel that
    /// `events.md` §4 gives them after §6.16 normalisation (`referrer` is written as is, so some
    /// carry `www.` or capitals that the importer removes).
    struct Acquisition: Sendable {
        var referrer: String
        var utmSource = ""
        var utmMedium = ""
        var utmCampaign = ""
        var channel: String
        var weight: Double
    }

    static let acquisitions: [Acquisition] = [
        .init(referrer: "", channel: "direct", weight: 36),
        // Search engines (organic).
        .init(referrer: "google.com", channel: "organic", weight: 17),
        .init(referrer: "www.google.com", channel: "organic", weight: 3),
        .init(referrer: "Google.com", channel: "organic", weight: 0.3),
        .init(referrer: "google.de", channel: "organic", weight: 1.5),
        .init(referrer: "google.co.uk", channel: "organic", weight: 1.2),
        .init(referrer: "google.fr", channel: "organic", weight: 0.6),
        .init(referrer: "google.com.br", channel: "organic", weight: 0.4),
        .init(referrer: "google.co.in", channel: "organic", weight: 0.8),
        .init(referrer: "bing.com", channel: "organic", weight: 2.8),
        .init(referrer: "www.bing.com", channel: "organic", weight: 0.4),
        .init(referrer: "duckduckgo.com", channel: "organic", weight: 1.4),
        .init(referrer: "yahoo.com", channel: "organic", weight: 0.5),
        .init(referrer: "yandex.ru", channel: "organic", weight: 0.35),
        .init(referrer: "baidu.com", channel: "organic", weight: 0.2),
        .init(referrer: "ecosia.org", channel: "organic", weight: 0.35),
        .init(referrer: "search.brave.com", channel: "organic", weight: 0.3),
        // Social networks.
        .init(referrer: "facebook.com", channel: "social", weight: 2.0),
        .init(referrer: "t.co", channel: "social", weight: 1.5),
        .init(referrer: "x.com", channel: "social", weight: 1.1),
        .init(referrer: "twitter.com", channel: "social", weight: 0.3),
        .init(referrer: "linkedin.com", channel: "social", weight: 1.4),
        .init(referrer: "www.reddit.com", channel: "social", weight: 1.4),
        .init(referrer: "news.ycombinator.com", channel: "social", weight: 1.9),
        .init(referrer: "youtube.com", channel: "social", weight: 0.6),
        .init(referrer: "instagram.com", channel: "social", weight: 0.45),
        .init(referrer: "pinterest.com", channel: "social", weight: 0.2),
        .init(referrer: "tiktok.com", channel: "social", weight: 0.2),
        .init(referrer: "mastodon.social", channel: "social", weight: 0.2),
        // Hosts that look social or search but are not on the §4 lists: referrals.
        .init(referrer: "l.facebook.com", channel: "referral", weight: 0.3),
        .init(referrer: "m.youtube.com", channel: "referral", weight: 0.1),
        .init(referrer: "googleblog.com", channel: "referral", weight: 0.05),
        // Referral sites.
        .init(referrer: "github.com", channel: "referral", weight: 2.6),
        .init(referrer: "stackoverflow.com", channel: "referral", weight: 1.3),
        .init(referrer: "chatgpt.com", channel: "referral", weight: 1.2),
        .init(referrer: "dev.to", channel: "referral", weight: 0.8),
        .init(referrer: "medium.com", channel: "referral", weight: 0.9),
        .init(referrer: "en.wikipedia.org", channel: "referral", weight: 0.5),
        .init(referrer: "perplexity.ai", channel: "referral", weight: 0.4),
        .init(referrer: "producthunt.com", channel: "referral", weight: 0.4),
        // Campaigns.
        .init(referrer: "google.com", utmSource: "google", utmMedium: "cpc", utmCampaign: "brand_search", channel: "paid", weight: 2.2),
        .init(referrer: "google.com", utmSource: "google", utmMedium: "cpc", utmCampaign: "generic_analytics", channel: "paid", weight: 0.8),
        .init(referrer: "bing.com", utmSource: "bing", utmMedium: "cpc", utmCampaign: "brand_search", channel: "paid", weight: 0.5),
        .init(referrer: "googleads.g.doubleclick.net", utmSource: "gdn", utmMedium: "display", utmCampaign: "display_awareness", channel: "paid", weight: 0.4),
        .init(referrer: "facebook.com", utmSource: "facebook", utmMedium: "paid", utmCampaign: "spring_sale", channel: "paid", weight: 0.6),
        .init(referrer: "linkedin.com", utmSource: "linkedin", utmMedium: "cpc", utmCampaign: "b2b_q2", channel: "paid", weight: 0.3),
        .init(referrer: "", utmSource: "newsletter", utmMedium: "email", utmCampaign: "weekly_digest", channel: "email", weight: 1.6),
        .init(referrer: "", utmSource: "mailchimp", utmMedium: "email", utmCampaign: "product_update", channel: "email", weight: 0.4),
        .init(referrer: "", utmSource: "email", utmCampaign: "onboarding", channel: "email", weight: 0.2),
        .init(referrer: "t.co", utmSource: "twitter", utmMedium: "social", utmCampaign: "launch_week", channel: "social", weight: 0.7),
        .init(referrer: "acme-partners.example", utmSource: "partner_acme", utmMedium: "affiliate", utmCampaign: "partner_2026", channel: "referral", weight: 0.45),
        .init(referrer: "", utmSource: "podcast", utmMedium: "audio", utmCampaign: "devtalk_ep42", channel: "direct", weight: 0.2),
    ]

    /// Weight of the generated long tail of small referring blogs (all `referral`).
    static let blogReferralWeight = 4.0

    /// Browser and OS by device.
    struct Platform: Sendable {
        var browser: String
        var os: String
        var weight: Double
    }

    static let devices: [(name: String, weight: Double, width: Int32, height: Int32)] = [
        ("desktop", 55, 1280, 1024), ("mobile", 38, 375, 667), ("tablet", 7, 768, 1024),
    ]

    static let platforms: [[Platform]] = [
        [ // desktop
            .init(browser: "Chrome", os: "Windows", weight: 40), .init(browser: "Chrome", os: "macOS", weight: 15),
            .init(browser: "Safari", os: "macOS", weight: 12), .init(browser: "Edge", os: "Windows", weight: 12),
            .init(browser: "Firefox", os: "Windows", weight: 8), .init(browser: "Firefox", os: "Linux", weight: 3),
            .init(browser: "Chrome", os: "Linux", weight: 3), .init(browser: "Firefox", os: "macOS", weight: 3),
            .init(browser: "Opera", os: "Windows", weight: 2), .init(browser: "Chrome", os: "Chrome OS", weight: 2),
        ],
        [ // mobile
            .init(browser: "Safari", os: "iOS", weight: 45), .init(browser: "Chrome", os: "Android", weight: 38),
            .init(browser: "Samsung Internet", os: "Android", weight: 8), .init(browser: "Chrome", os: "iOS", weight: 5),
            .init(browser: "Firefox", os: "Android", weight: 2), .init(browser: "Edge", os: "Android", weight: 2),
        ],
        [ // tablet
            .init(browser: "Safari", os: "iOS", weight: 60), .init(browser: "Chrome", os: "Android", weight: 30),
            .init(browser: "Chrome", os: "iOS", weight: 5), .init(browser: "Samsung Internet", os: "Android", weight: 5),
        ],
    ]

    /// Countries (ISO 3166-1) with their subdivisions (ISO 3166-2 codes), by weight.
    static let countries: [(code: String, weight: Double, regions: [String])] = [
        ("US", 33, ["US-CA", "US-NY", "US-TX", "US-WA", "US-FL", "US-IL", "US-MA", "US-MI", "US-NC", "US-CO", "US-GA", "US-OR"]),
        ("DE", 10, ["DE-BY", "DE-BE", "DE-NW", "DE-HE", "DE-BW", "DE-HH"]),
        ("GB", 8, ["GB-ENG", "GB-SCT", "GB-WLS", "GB-NIR"]),
        ("IN", 6, ["IN-KA", "IN-MH", "IN-DL", "IN-TN"]),
        ("FR", 5, ["FR-IDF", "FR-ARA", "FR-OCC"]),
        ("CA", 4, ["CA-ON", "CA-QC", "CA-BC"]),
        ("BR", 3, ["BR-SP", "BR-RJ"]),
        ("NL", 3, ["NL-NH", "NL-ZH"]),
        ("JP", 3, ["JP-13", "JP-27"]),
        ("AU", 2, ["AU-NSW", "AU-VIC"]),
        ("ES", 2, ["ES-MD", "ES-CT"]),
        ("IT", 2, ["IT-25", "IT-62"]),
        ("SE", 1.5, ["SE-AB"]),
        ("PL", 1.5, ["PL-14", "PL-12"]),
        ("CH", 1, ["CH-ZH", "CH-GE"]),
        ("AT", 1, ["AT-9"]),
        ("MX", 1, ["MX-CMX"]),
        ("", 1, []),
    ]

    /// A clickable (or not) thing on a page: selector, visible text, where it sits (x as a
    /// fraction of the viewport width, y in px on a desktop page), and how often it is clicked.
    struct Element: Sendable {
        var selector: String
        var text: String
        var x: Double
        var y: Double
        var weight: Double
    }

    static let elements: [Element] = [
        .init(selector: "a#nav-home", text: "Home", x: 0.08, y: 32, weight: 6),
        .init(selector: "a#nav-pricing", text: "Pricing", x: 0.55, y: 32, weight: 8),
        .init(selector: "a#nav-docs", text: "Docs", x: 0.65, y: 32, weight: 6),
        .init(selector: "a#nav-blog", text: "Blog", x: 0.74, y: 32, weight: 4),
        .init(selector: "button#signup", text: "Start free trial", x: 0.88, y: 32, weight: 9),
        .init(selector: "button.cta-primary", text: "Get started — it's free", x: 0.5, y: 420, weight: 10),
        .init(selector: "a.cta-secondary", text: "See a live demo →", x: 0.5, y: 470, weight: 5),
        .init(selector: "button#plan-pro", text: "Choose Pro", x: 0.5, y: 880, weight: 4),
        .init(selector: "button#plan-business", text: "Contact us", x: 0.8, y: 880, weight: 2),
        .init(selector: "div.plan-price", text: "$49/mo", x: 0.5, y: 760, weight: 2.5),
        .init(selector: "img.hero-image", text: "", x: 0.7, y: 300, weight: 3),
        .init(selector: "div.feature-card", text: "Privacy first", x: 0.3, y: 1160, weight: 2),
        .init(selector: "span.badge", text: "New", x: 0.2, y: 210, weight: 1),
        .init(selector: "p.lead", text: "Simple, privacy-friendly analytics.", x: 0.4, y: 360, weight: 1),
        .init(selector: "summary", text: "Can I cancel anytime?", x: 0.45, y: 2400, weight: 2),
        .init(selector: "details.faq", text: "Is my data stored in the EU?", x: 0.45, y: 2480, weight: 1),
        .init(selector: "input#email", text: "", x: 0.4, y: 1900, weight: 2),
        .init(selector: "button#subscribe", text: "Subscribe", x: 0.62, y: 1900, weight: 2.5),
        .init(selector: "a.article-link", text: "How we cut query latency by 10×", x: 0.35, y: 640, weight: 5),
        .init(selector: "a.read-more", text: "Read more", x: 0.3, y: 980, weight: 3),
        .init(selector: "button.copy-code", text: "Copy", x: 0.9, y: 720, weight: 2.5),
        .init(selector: "a.footer-link", text: "Datenschutzerklärung", x: 0.2, y: 2900, weight: 0.8),
        .init(selector: "a.lang-switch", text: "日本語", x: 0.92, y: 2900, weight: 0.4),
        .init(selector: "button.share", text: "Share \"this\" story", x: 0.85, y: 560, weight: 1.2),
        .init(selector: "label[for=terms]", text: "I agree to the terms\\conditions", x: 0.3, y: 2010, weight: 0.5),
        .init(selector: "#cookie-accept", text: "Accept all 🍪", x: 0.8, y: 620, weight: 3),
        .init(selector: ".carousel-next", text: "›", x: 0.95, y: 520, weight: 1.5),
        .init(selector: "video#intro", text: "", x: 0.5, y: 1400, weight: 1),
    ]

    /// Custom events: name, category, label and how the value is drawn.
    enum ValueKind: Sendable { case none, one, cents(Int, Int) }

    struct CustomEvent: Sendable {
        var name: String
        var category: String
        var labels: [String]
        var value: ValueKind
        var weight: Double
    }

    static let customEvents: [CustomEvent] = [
        .init(name: "Signup", category: "conversion", labels: ["pricing-pro", "hero", "footer"], value: .none, weight: 5),
        .init(name: "Purchase", category: "ecommerce", labels: ["order"], value: .cents(900, 49_900), weight: 2),
        .init(name: "Add to Cart", category: "ecommerce", labels: ["starter-kit", "pro-license", "t-shirt"], value: .cents(500, 19_900), weight: 3),
        .init(name: "Download", category: "engagement", labels: ["whitepaper.pdf", "cheatsheet.pdf"], value: .none, weight: 3),
        .init(name: "Newsletter", category: "conversion", labels: ["footer", "inline"], value: .one, weight: 3),
        .init(name: "Video Play", category: "media", labels: ["intro-video", "webinar-replay"], value: .none, weight: 2),
        .init(name: "Share", category: "social", labels: ["twitter", "facebook", "linkedin", "copy-link"], value: .none, weight: 2),
        .init(name: "Search", category: "engagement", labels: ["retention", "heatmap", "café crème", "\"exact phrase\""], value: .none, weight: 3),
        .init(name: "Outbound Link", category: "", labels: [""], value: .none, weight: 1.5),
        .init(name: "404", category: "error", labels: [""], value: .none, weight: 0.5),
    ]

    /// Traffic by hour of day (local time of the site), relative.
    static let hourly: [Double] = [
        0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.5, 0.75, 1.0, 1.2, 1.3, 1.35,
        1.3, 1.3, 1.35, 1.35, 1.3, 1.2, 1.1, 1.05, 1.0, 0.9, 0.7, 0.5,
    ]
    /// Traffic by weekday, Monday first.
    static let weekly: [Double] = [1.0, 1.02, 1.0, 0.98, 0.92, 0.72, 0.68]

    /// Site ids, then `site_<n>`.
    static let siteNames = ["site_alpha", "site_beta", "site_gamma", "site_delta", "site_epsilon", "site_zeta"]
    /// UTC offset (hours) of each site's audience, cycled.
    static let siteOffsets = [0, -8, 1, 0, 9, -5]

    /// Words for generated page slugs and referring hosts.
    static let words = [
        "privacy", "analytics", "cookie", "consent", "dashboard", "heatmap", "retention", "cohort", "funnel",
        "session", "visitor", "query", "index", "column", "storage", "engine", "segment", "bloom", "vector",
        "latency", "throughput", "swift", "rust", "python", "sqlite", "postgres", "docker", "kubernetes",
        "react", "typescript", "html", "theme", "design", "mobile", "tablet", "chrome", "safari", "edge",
        "gdpr", "seo", "growth", "pricing", "launch", "release", "guide", "tutorial", "benchmark", "api",
    ]
    static let tlds = [".com", ".dev", ".io", ".net", ".org", ".co.uk", ".de"]
}
