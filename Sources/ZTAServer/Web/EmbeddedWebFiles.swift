/// The files of `Web/Assets`, embedded into the binary by SwiftPM (`resources: .embedInCode`).
enum EmbeddedWebFiles {
    /// By file name.
    static let all: [String: [UInt8]] = [
        "index.html": PackageResources.index_html,
        "app.js": PackageResources.app_js,
        "app.css": PackageResources.app_css,
        "favicon.svg": PackageResources.favicon_svg,
        "analytics.js": PackageResources.analytics_js,
        "heatmap.js": PackageResources.heatmap_js,
    ]
}
