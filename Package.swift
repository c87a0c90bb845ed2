// swift-tools-version:6.0
import PackageDescription

// Module map: ../shared/DESIGN.md. Pure modules (Holon, Packets) never touch the OS beyond files.
let package = Package(
    name: "Holon",
    products: [
        .library(name: "Holon", targets: ["Holon"]),
        .executable(name: "holon", targets: ["HolonCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Bit-plane kernels with per-CPU dispatch (AVX-512 VPOPCNTDQ / AVX2 / POPCNT / baseline),
        // kept in C because Swift cannot multiversion a function for several ISAs in one binary.
        .target(name: "CHolonKernels"),
        .target(name: "Holon", dependencies: ["CHolonKernels"]),
        .executableTarget(
            name: "HolonCLI",
            dependencies: [
                "Holon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "HolonTests", dependencies: ["Holon"]),
    ]
)
