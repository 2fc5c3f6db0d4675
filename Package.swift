// swift-tools-version:6.0
import PackageDescription

/// Module layering (dependencies point one way):
/// CLZ4, CZTASupport (hardware CRC-32C) ← ZTAFormat ← ZTAStorage ← ZTAQuery ← ZTAClickHouse ← ZTAEngine ← ZTAServer ← ztas
/// ZTAWorkloads (synthetic data) sits beside ZTAEngine for tests, benchmarks and `ztas generate`.
let optimized: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "ztas",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ztas", targets: ["ztas"]),
        .library(name: "ZTAEngine", targets: ["ZTAEngine"]),
        .library(name: "ZTAWorkloads", targets: ["ZTAWorkloads"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The HTTP server (ZTAServer) and its tests.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Webhook delivery (an HTTP client with a DNS override, timeouts, no redirects).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // CSV parsing for Google Analytics imports (streaming reader: quoted fields, CRLF).
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // GeoIP lookups (country/region) from a MaxMind DB file in the server.
        .systemLibrary(name: "CMaxMindDB", pkgConfig: "libmaxminddb", providers: [.apt(["libmaxminddb-dev"])]),
        .target(name: "CZTASupport"),
        .target(name: "ZTAFormat", dependencies: ["CLZ4", "CZTASupport"], swiftSettings: optimized),
        .target(name: "ZTAStorage", dependencies: ["ZTAFormat"], swiftSettings: optimized),
        .target(name: "ZTAQuery", dependencies: ["ZTAFormat", "ZTAStorage"], swiftSettings: optimized),
        // The ClickHouse event store (issue 14): HTTP client, schema, SQL compiler of the logical query.
        .target(name: "ZTAClickHouse", dependencies: [
            "ZTAFormat", "ZTAStorage", "ZTAQuery",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: optimized),
        .target(name: "ZTAEngine", dependencies: ["ZTAFormat", "ZTAStorage", "ZTAQuery", "ZTAClickHouse", "CZlib"], swiftSettings: optimized),
        .target(name: "ZTAWorkloads", dependencies: ["ZTAFormat"], swiftSettings: optimized),
        .target(name: "ZTAServer", dependencies: [
            "ZTAEngine", "ZTAClickHouse", "ZTAQuery", "ZTAStorage", "ZTAFormat", "ZTAWorkloads", "CZlib", "CMaxMindDB",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "CSV", package: "CSV.swift"),
        ], resources: [
            // The web front end (tracking scripts, dashboard), compiled into the binary.
            .embedInCode("Web/Assets/index.html"),
            .embedInCode("Web/Assets/app.js"),
            .embedInCode("Web/Assets/app.css"),
            .embedInCode("Web/Assets/favicon.svg"),
            .embedInCode("Web/Assets/analytics.js"),
            .embedInCode("Web/Assets/heatmap.js"),
            // The OpenAPI 3.1 document served at /api/openapi.json, compiled in (no file needed at run time).
            .embedInCode("OpenAPI/openapi.json"),
        ], swiftSettings: optimized),
        .executableTarget(name: "ztas", dependencies: [
            "ZTAEngine", "ZTAWorkloads", "ZTAServer", "ZTAClickHouse",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimized),
        // Fuzzing (docs/reliability.md): the targets as a library, one executable per
        // target (libFuzzer with `-D FUZZING` through scripts/fuzz, an input replayer otherwise).
        .target(name: "CFuzzerDriver", path: "Fuzz/Sources/CFuzzerDriver"),
        .target(name: "ZTAFuzzTargets", dependencies: ["ZTAEngine", "ZTAQuery", "ZTAFormat", "ZTAServer", "CFuzzerDriver"]),
        .executableTarget(name: "FuzzNDJSON", dependencies: ["ZTAFuzzTargets"], path: "Fuzz/Sources/FuzzNDJSON"),
        .executableTarget(name: "FuzzTrack", dependencies: ["ZTAFuzzTargets"], path: "Fuzz/Sources/FuzzTrack"),
        .executableTarget(name: "FuzzFilters", dependencies: ["ZTAFuzzTargets"], path: "Fuzz/Sources/FuzzFilters"),
        .executableTarget(name: "FuzzSegment", dependencies: ["ZTAFuzzTargets"], path: "Fuzz/Sources/FuzzSegment"),
        .executableTarget(name: "FuzzAuth", dependencies: ["ZTAFuzzTargets"], path: "Fuzz/Sources/FuzzAuth"),
        // What several test targets share: paths to the repository and the conformance kit, the
        // kit's reference loader and query runner, the local ClickHouse cluster runner, and
        // small reference helpers. One copy, so the test targets cannot drift apart.
        .target(name: "ZTATestSupport", dependencies: ["ZTAFormat", "ZTAQuery", "ZTAClickHouse", "ZTAWorkloads"],
                path: "Tests/ZTATestSupport"),
        .testTarget(name: "ZTAFuzzReplayTests", dependencies: ["ZTAFuzzTargets", "ZTAServer", "ZTATestSupport", "ZTAWorkloads"]),
        .testTarget(name: "ZTAFormatTests", dependencies: ["ZTAFormat", "ZTAWorkloads", "ZTATestSupport"], resources: [.copy("Golden")]),
        .testTarget(name: "ZTAStorageTests", dependencies: ["ZTAStorage", "ZTAFormat", "ZTAWorkloads"]),
        .testTarget(name: "ZTAQueryTests", dependencies: ["ZTAQuery", "ZTAStorage", "ZTAFormat", "ZTAWorkloads", "ZTATestSupport"]),
        .testTarget(name: "ZTAServerTests", dependencies: [
            "ZTAServer", "ZTAEngine", "ZTAClickHouse", "ZTAQuery", "ZTAFormat", "ZTATestSupport", "ZTAWorkloads",
            .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
            .product(name: "Logging", package: "swift-log"),
            // The loopback webhook receiver and its signature check.
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ], exclude: [
            // Read by path (relative to #filePath), not bundled.
            "Fixtures",
        ]),
        .testTarget(name: "ZTAClickHouseTests", dependencies: ["ZTAClickHouse", "ZTAEngine", "ZTAQuery", "ZTAStorage", "ZTAFormat", "ZTATestSupport"]),
        .testTarget(name: "ZTAEngineTests", dependencies: ["ZTAEngine", "ZTAWorkloads", "ZTAQuery", "ZTAStorage", "ZTAFormat", "ZTATestSupport"]),
    ]
)
