// swift-tools-version:6.0
import PackageDescription

// A separate package so the root's plain `swift build` / `swift test` never see an executable
// without `main`: libFuzzer supplies it, only under `--sanitize fuzzer`. Run through scripts/fuzz.
let package = Package(
    name: "HolonFuzz",
    dependencies: [
        .package(name: "Holon", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "PacketsFuzz",
            dependencies: [.product(name: "Packets", package: "Holon")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
