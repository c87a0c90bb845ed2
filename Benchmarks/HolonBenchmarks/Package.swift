// swift-tools-version:6.1
import PackageDescription

// package-benchmark (ordo-one/benchmark) measurements of the Holon kernels, with allocation
// counts — a separate package so the main build does not carry the benchmark framework, its
// malloc interposer or its plugin. Run: swift package --package-path Benchmarks/HolonBenchmarks benchmark
let package = Package(
    name: "HolonBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Holon", path: "../.."),
        // MallocInterposer: the mallocCount* metrics come from the interposer on Swift 6.3+.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "VSA",
            dependencies: [
                .product(name: "Holon", package: "Holon"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/VSA",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
