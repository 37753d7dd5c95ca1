import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Bad config files get a clear, positioned error and never a crash.
@Suite struct BadInputTests {
    func load(_ bytes: [UInt8]) -> [Diagnostic] {
        let tree = TestTree("bad")
        defer { tree.cleanup() }
        let path = tree.path("c.yaml")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return ConfigLoader(paths: Paths(root: systemRoot)).load(path).diagnostics
    }

    @Test func emptyFile() {
        #expect(load([]).first?.message.contains("empty") == true)
    }

    @Test func directoryGivenAsConfig() {
        let tree = TestTree("bad")
        defer { tree.cleanup() }
        let d = ConfigLoader().load(tree.root).diagnostics
        #expect(d.first?.message.contains("is a directory") == true)
        #expect(d.first?.file == tree.root)
    }

    @Test func missingFile() {
        #expect(
            ConfigLoader().load("/nonexistent/p.yaml").diagnostics.first?.rendered
                == "/nonexistent/p.yaml: error: no such file")
    }

    @Test func binaryGarbage() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let d = load(bytes)
        #expect(d.hasErrors)
    }

    @Test func invalidUTF8HasAPosition() {
        let d = load(Array("version: 1\nname: ".utf8) + [0xC3, 0x28] + Array("\n".utf8))
        #expect(d.first?.message.contains("UTF-8") == true)
        #expect(d.first?.line == 2 && d.first?.column == 7)
    }

    @Test func tenMegabyteDocumentIsRefusedClearly() {
        let big = Array(("version: 1\n# " + String(repeating: "x", count: 10 << 20) + "\n").utf8)
        let d = load(big)
        #expect(d.first?.message.contains("larger than 4 MiB") == true)
    }

    @Test func threeMegabyteDocumentParses() {
        var text = "version: 1\nfreeze:\n  exclude:\n"
        while text.utf8.count < 3 << 20 { text += "    - \"/mnt/some/long/path/pattern/number/\(text.utf8.count)\"\n" }
        let d = load(Array(text.utf8))
        #expect(!d.hasErrors, "\(d.prefix(2).map(\.rendered))")
    }

    @Test func tenThousandDeepNesting() {
        let d = load(
            Array(
                ("version: 1\nx: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
                    + "\n").utf8))
        #expect(d.first?.message.contains("nesting deeper") == true)
    }

    @Test func configThatIsAList() {
        let d = load(Array("- version: 1\n".utf8))
        #expect(d.first?.message == "the config must be a mapping, found a list")
    }

    @Test func nulBytes() {
        #expect(load(Array("version: 1\n\0\n".utf8)).first?.message.contains("NUL") == true)
    }
}
