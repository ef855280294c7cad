// swift-tools-version:6.0
// volley: a distributed WebSocket load-generation cluster. No package dependencies, by design:
// the toolchain, small C shims for Linux headers, and system libz only.
import PackageDescription

// Hot-path modules drop dynamic exclusivity checks in release builds (debug builds and the
// tests keep them): per-event class-property accesses would otherwise each call into the runtime.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "volley",
    products: [
        .executable(name: "volley", targets: ["volley"]),
        .executable(name: "volley-bench", targets: ["volley-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // OpenSSL (TLS for wss:// and the control channel) is linked statically from Debian's
        // libssl-dev, so the release binary copies to hosts without it.
        .target(name: "CVolleyLinux", linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libssl.a", "-Xlinker", "-l:libcrypto.a", "-Xlinker", "-ldl"])]),
        .target(name: "ByteCoding"),
        .target(name: "Digest"),
        .target(name: "JSON"),
        .target(name: "Scenario", dependencies: ["JSON"]),
        .target(name: "Stats", dependencies: ["ByteCoding", "CZlib"],
                linkerSettings: [.linkedLibrary("m")]),
        .target(name: "Net", dependencies: ["CVolleyLinux", "CZlib"], swiftSettings: hotPath),
        .target(name: "WebSocket", dependencies: ["Net", "ByteCoding", "Digest"], swiftSettings: hotPath),
        .target(name: "Target", dependencies: ["Net", "WebSocket", "JSON", "ByteCoding"], swiftSettings: hotPath),
        .target(name: "WireProtocol", dependencies: ["ByteCoding", "Digest", "Stats", "Scenario", "Net"]),
        .target(name: "Report", dependencies: ["Scenario", "Stats", "JSON"]),
        .target(name: "Coordinator", dependencies: ["Scenario", "Stats", "JSON", "Net", "WireProtocol", "Report"]),
        .target(name: "Agent", dependencies: ["Net", "WebSocket", "Scenario", "Stats", "JSON", "WireProtocol"], swiftSettings: hotPath),
        .executableTarget(name: "volley", dependencies: ["Target", "Agent", "Coordinator", "Report", "WireProtocol", "Scenario", "Stats", "Net", "WebSocket", "JSON"]),
        .executableTarget(name: "volley-conformance", dependencies: ["Net", "WebSocket"]),
        // libFuzzer targets (scripts/fuzz.sh builds them with -sanitize=fuzzer); a plain build replays inputs.
        .executableTarget(name: "volley-fuzz", dependencies: ["Net", "WebSocket", "WireProtocol", "Scenario", "Stats", "ByteCoding"]),
        .executableTarget(name: "volley-bench", dependencies: ["Stats", "Net", "WebSocket", "WireProtocol", "ByteCoding", "Scenario", "Coordinator", "Report", "JSON", "Agent"]),
        // Test-only: replaces malloc in the test binary to count allocations per thread.
        .target(name: "CAllocationCounter"),
        .target(name: "TestSupport", dependencies: ["Net", "WebSocket"], linkerSettings: [.linkedLibrary("m")]),

        .testTarget(name: "ByteCodingTests", dependencies: ["ByteCoding", "TestSupport"]),
        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "JSON", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Scenario", "Stats", "Net", "WebSocket", "WireProtocol", "TestSupport", "CAllocationCounter"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "Scenario", "Stats", "ByteCoding", "TestSupport"]),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "Report", "Scenario", "Stats", "JSON", "Net", "WireProtocol", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Scenario", "Stats", "JSON", "TestSupport"]),
        .testTarget(name: "volleyTests", dependencies: ["TestSupport", "Net", "Stats", "WireProtocol"]),
        .testTarget(name: "TargetTests", dependencies: ["Target", "WebSocket", "Net", "JSON", "TestSupport"]),
        .testTarget(name: "StatsTests", dependencies: ["Stats", "ByteCoding", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "NetTests", dependencies: ["Net", "TestSupport"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "Net", "ByteCoding", "TestSupport"]),
    ]
)
