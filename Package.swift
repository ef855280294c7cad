// swift-tools-version:6.0
// volley: a distributed WebSocket load-generation cluster. No package dependencies, by design:
// the toolchain, small C shims for Linux headers, and system libz only.
import PackageDescription

let package = Package(
    name: "volley",
    products: [
        .executable(name: "volley-bench", targets: ["volley-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "ByteCoding"),
        .target(name: "Stats", dependencies: ["ByteCoding", "CZlib"],
                linkerSettings: [.linkedLibrary("m")]),
        .executableTarget(name: "volley-bench", dependencies: ["Stats"]),
        .target(name: "TestSupport", linkerSettings: [.linkedLibrary("m")]),

        .testTarget(name: "ByteCodingTests", dependencies: ["ByteCoding", "TestSupport"]),
        .testTarget(name: "StatsTests", dependencies: ["Stats", "ByteCoding", "TestSupport"],
                    exclude: ["Fixtures"]),
    ]
)
