// swift-tools-version:6.0
import PackageDescription

/// Module layering (dependencies point one way):
/// CLZ4, CZTASupport (hardware CRC-32C) ← ZTAFormat ← ZTAStorage ← ZTAQuery ← ZTAEngine ← ZTAServer ← ztas
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
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CZTASupport"),
        .target(name: "ZTAFormat", dependencies: ["CLZ4", "CZTASupport"], swiftSettings: optimized),
        .target(name: "ZTAStorage", dependencies: ["ZTAFormat"], swiftSettings: optimized),
        .target(name: "ZTAQuery", dependencies: ["ZTAFormat", "ZTAStorage"], swiftSettings: optimized),
        .target(name: "ZTAEngine", dependencies: ["ZTAFormat", "ZTAStorage", "ZTAQuery", "CZlib"], swiftSettings: optimized),
        .target(name: "ZTAWorkloads", dependencies: ["ZTAFormat"], swiftSettings: optimized),
        .executableTarget(name: "ztas", dependencies: [
            "ZTAEngine", "ZTAWorkloads",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimized),
        .testTarget(name: "ZTAFormatTests", dependencies: ["ZTAFormat"], resources: [.copy("Golden")]),
        .testTarget(name: "ZTAStorageTests", dependencies: ["ZTAStorage", "ZTAFormat"]),
        .testTarget(name: "ZTAQueryTests", dependencies: ["ZTAQuery", "ZTAStorage", "ZTAFormat"]),
        .testTarget(name: "ZTAEngineTests", dependencies: ["ZTAEngine", "ZTAWorkloads", "ZTAQuery", "ZTAStorage", "ZTAFormat"]),
    ]
)
