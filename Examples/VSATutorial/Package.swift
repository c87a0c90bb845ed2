// swift-tools-version:6.0
import PackageDescription

// Proof that the VSA library stands alone: this package depends on the product `Holon` only,
// and building it compiles Holon and its C kernels — no packets, BPF or HTTP server.
let package = Package(
    name: "VSATutorial",
    dependencies: [.package(name: "Holon", path: "../..")],
    targets: [
        .executableTarget(name: "VSATutorial", dependencies: [.product(name: "Holon", package: "Holon")]),
    ]
)
