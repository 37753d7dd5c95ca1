// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "SnapOrchestrator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "snaporch", targets: ["snaporch"]),
        .library(name: "SnapOrchestrator", targets: ["SnapOrchestrator"]),
    ],
    targets: [
        .systemLibrary(
            name: "CYaml",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "SnapOrchestrator",
            dependencies: ["CYaml", "CCurl"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "snaporch",
            dependencies: ["SnapOrchestrator"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "SnapOrchestratorTests",
            dependencies: ["SnapOrchestrator", "snaporch"],
            exclude: ["Fixtures"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
