// swift-tools-version: 6.0
import PackageDescription

// Three layers, each a target, so the compiler keeps the dependency order (README "Layout"):
//   SnapSystem        Model/ System/ Process/ YAML/ — value types, every call into C (CLinux, CYaml, CCurl)
//   SnapCore          Config/ Freeze/ Report/ → Plugins/ Snapshot/ → Run/ Validate/
//   SnapOrchestrator  Handler/ → CLI/ (the library the `snaporch` executable calls)
// The folder order inside a target is checked by `scripts/layers` (run by `scripts/test`).
//
// Concrete generic types (CheckedContinuation<ProcessOutcome, Never>, a Codable type's keyed
// container, ...) are reached through their metadata accessors, not by name: by name, the runtime
// demangles each one on first use and checks its requirements against every protocol conformance
// of the (static) binary, ~0.1 ms per type, which the first plugin step of every run paid.
let swift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

let package = Package(
    name: "SnapOrchestrator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "snaporch", targets: ["snaporch"])
    ],
    targets: [
        .systemLibrary(name: "CLinux"),
        .systemLibrary(name: "CYaml", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // libcurl's headers only: the library is loaded on first use (dlopen, see Sources/CCurl/shim.h),
        // so no pkg-config (it would link -lcurl and its ~30 libraries into every command).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "SnapSystem", dependencies: ["CLinux", "CYaml", "CCurl"], swiftSettings: swift6),
        .target(name: "SnapCore", dependencies: ["SnapSystem"], swiftSettings: swift6),
        .target(name: "SnapOrchestrator", dependencies: ["SnapCore", "SnapSystem"], swiftSettings: swift6),
        .executableTarget(name: "snaporch", dependencies: ["SnapOrchestrator", "SnapSystem"], swiftSettings: swift6),
        .testTarget(
            name: "SnapOrchestratorTests",
            dependencies: ["SnapOrchestrator", "SnapCore", "SnapSystem", "snaporch"],
            exclude: ["Fixtures"],
            swiftSettings: swift6
        ),
    ]
)
