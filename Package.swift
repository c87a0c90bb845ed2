// swift-tools-version:6.0
import PackageDescription

// Module map: ../shared/DESIGN.md. Pure modules (Holon, Packets) never touch the OS beyond files.
let package = Package(
    name: "Holon",
    products: [
        .library(name: "Holon", targets: ["Holon"]),
        .library(name: "Packets", targets: ["Packets"]),
        .library(name: "Rules", targets: ["Rules"]),
        .library(name: "Traffic", targets: ["Traffic"]),
        .library(name: "Detection", targets: ["Detection"]),
        .library(name: "Dataplane", targets: ["Dataplane"]),
        .library(name: "Lab", targets: ["Lab"]),
        .library(name: "Generator", targets: ["Generator"]),
        .library(name: "Sidecar", targets: ["Sidecar"]),
        .library(name: "ControlPlane", targets: ["ControlPlane"]),
        .library(name: "Flowspec", targets: ["Flowspec"]),
        .library(name: "BaselineLab", targets: ["BaselineLab"]),
        .executable(name: "holon", targets: ["HolonCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Hummingbird already depends on it (HummingbirdTLS); named here for the certificate types.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // Bit-plane kernels with per-CPU dispatch (AVX-512 VPOPCNTDQ / AVX2 / POPCNT / baseline),
        // kept in C because Swift cannot multiversion a function for several ISAs in one binary.
        .target(name: "CHolonKernels"),
        .target(name: "Holon", dependencies: ["CHolonKernels"]),
        // The packet field table (ids, names, widths, carriers, size-class and port-band
        // thresholds), header only: the XDP program and Swift read the same rows.
        .target(name: "CHolonFields"),
        // Packets depends on Holon only for the Walkable protocol PacketFeatures conforms to.
        .target(name: "Packets", dependencies: ["Holon", "CHolonFields"]),
        .target(name: "Rules", dependencies: ["Packets"]),
        .target(name: "Traffic", dependencies: ["Holon", "Packets"]),
        .target(name: "Detection", dependencies: ["Holon", "Packets", "Rules"]),
        // Debian's libbpf-dev (scripts/setup installs it).
        .systemLibrary(name: "CLibBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        // The XDP program's shared header (map layouts, the field table through CHolonFields) and
        // C helpers for the loader.
        .target(name: "CHolonXDP", dependencies: ["CHolonFields"], exclude: ["bpf"]),
        // One loader for every embedded BPF object (the filter's, the generator's).
        .target(name: "BPFEmbedding", dependencies: ["CLibBPF"]),
        // Lab for its one setns (filters attach inside the lab's namespaces).
        .target(name: "Dataplane", dependencies: ["Packets", "Rules", "Lab", "CLibBPF", "CHolonXDP", "BPFEmbedding"], plugins: ["BPFObject"]),
        // Compiles the bpf/*.bpf.c of a target's C dependencies (clang -target bpf) into it, no manual step.
        .plugin(name: "BPFObject", capability: .buildTool()),
        // setns(2) and CLONE_NEWNET: behind _GNU_SOURCE, so Glibc's Swift overlay lacks them.
        .target(name: "CLabNamespace"),
        // The one process runner: children started from one thread (so a death signal ends them with
        // us), pipes read with poll, children stopped by signal.
        // pipe2(2) is behind _GNU_SOURCE; clone + prctl(PR_SET_PDEATHSIG) is what posix_spawn cannot do.
        .target(name: "CSpawn"),
        .target(name: "Spawn", dependencies: ["CSpawn"]),
        .target(name: "Lab", dependencies: ["CLabNamespace", "Spawn"]),
        // sockaddr_ll, mmsghdr/sendmmsg, PACKET_QDISC_BYPASS: missing from Glibc's Swift overlay.
        // Also holds the live-frames XDP program (bpf/holon_gen.bpf.c, built by BPFObject).
        .target(name: "CGeneratorShim", exclude: ["bpf"]),
        .target(name: "Generator", dependencies: ["Packets", "Traffic", "CGeneratorShim", "CLibBPF", "Lab", "Spawn", "BPFEmbedding"], plugins: ["BPFObject"]),
        // The live loop: the filter's samples → Detector → rules into the filter.
        .target(name: "Sidecar", dependencies: ["Detection", "Dataplane", "Packets", "Rules",
                                                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        // Rules as BGP Flowspec (RFC 8955/8956): model, wire encoding, GoBGP and ExaBGP speakers.
        .target(name: "Flowspec", dependencies: ["Packets", "Rules", "Spawn"]),
        // The baseline lab: WordPress behind the filter, 23 source addresses, real browsers over
        // WebDriver (Dataplane for detaching the filter a run leaves behind).
        .target(name: "BaselineLab", dependencies: ["Lab", "Dataplane", "Traffic", "Spawn"]),
        // HTTP API, Prometheus /metrics, server-sent events and the dashboard; the only target
        // with Hummingbird, so the rest builds without it.
        .target(name: "ControlPlane", dependencies: [
            "Sidecar", "Dataplane", "Rules", "Generator", "Lab", "Traffic", "Flowspec",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // `holon run --config`: the YAML file an operator writes (Yams keeps every node's line and
        // column, so each error points at its value).
        .target(name: "Config", dependencies: ["Packets", .product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "HolonCLI",
            dependencies: [
                "Holon", "Packets", "Rules", "Traffic", "Detection", "Dataplane", "Lab", "Generator", "Sidecar", "ControlPlane", "Config", "Flowspec", "BaselineLab", "Spawn",
                // The generator stop flag's signal handler (Commands/StopSignal.swift).
                "CGeneratorShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // `.ownThread`: blocking tests off the cooperative pool (Tests/TestSupport).
        .target(name: "TestSupport", dependencies: ["CLibBPF", "Spawn"], path: "Tests/TestSupport"),
        .testTarget(name: "HolonTests", dependencies: ["Holon"]),
        .testTarget(name: "PacketsTests", dependencies: ["Packets", "Holon"], exclude: ["Corpus"]),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "Packets", "Holon", "CHolonFields"]),
        .testTarget(name: "TrafficTests", dependencies: ["Traffic", "Packets"]),
        .testTarget(name: "DetectionTests", dependencies: ["TestSupport", "Detection", "Traffic", "Rules", "Packets", "Holon"]),
        .testTarget(name: "DataplaneTests", dependencies: ["TestSupport", "Dataplane", "Generator", "Lab", "Rules", "Packets", "Traffic"]),
        // SpawnProbe: a parent for SpawnTests to kill (its child must end with it).
        .executableTarget(name: "SpawnProbe", dependencies: ["Spawn"], path: "Tests/SpawnProbe"),
        .testTarget(name: "SpawnTests", dependencies: ["Spawn"]),
        .testTarget(name: "GeneratorTests", dependencies: ["TestSupport", "Generator", "Lab", "Spawn", "Packets", "Traffic"]),
        .testTarget(name: "ControlPlaneTests", dependencies: [
            "TestSupport",
            "ControlPlane", "Sidecar", "Dataplane", "Rules", "Detection",
            // A real server on a loopback port, not HummingbirdTesting: that would build
            // AsyncHTTPClient and BoringSSL for the tests alone.
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "FlowspecTests", dependencies: ["TestSupport", "Flowspec", "Rules", "Packets", "Traffic"]),
        .testTarget(name: "ConfigTests", dependencies: ["TestSupport", "Config", "Packets"]),
        // Fixtures: a capture of the baseline (23 people, real browsers) as the filter saw it.
        .testTarget(name: "BaselineLabTests", dependencies: ["TestSupport", "BaselineLab", "Lab", "Dataplane"], exclude: ["Fixtures"]),
        .testTarget(name: "SidecarTests", dependencies: ["TestSupport", "Flowspec", "Sidecar", "Dataplane", "Detection", "Generator", "Lab", "Traffic", "Rules"]),
    ]
)
