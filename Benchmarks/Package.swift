// swift-tools-version: 6.1
import PackageDescription

/// Micro benchmarks for ztas (ordo-one/benchmark). A side package: the product never needs it to
/// build or test. Run with `cd Benchmarks && swift package benchmark`.
///
/// Only the `MallocInterposer` trait of the benchmark package is enabled (not its default
/// `RuntimeInterposer`), so no jemalloc and no Swift-runtime interposer are needed.
let package = Package(
    name: "ZTABenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ztas", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ZTABenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ZTAEngine", package: "ztas"),
                .product(name: "ZTAWorkloads", package: "ztas"),
            ],
            path: "ZTABenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
