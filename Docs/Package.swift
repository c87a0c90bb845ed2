// swift-tools-version:6.0
import PackageDescription

// Builds the DocC documentation of the Holon library (Sources/Holon/Holon.docc) without adding
// swift-docc-plugin to the main package: the plugin documents targets of dependencies too.
//   swift package --package-path Docs generate-documentation --target Holon
let package = Package(
    name: "HolonDocs",
    dependencies: [
        .package(name: "Holon", path: ".."),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: []
)
