import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// What a command that sends no HTTP loads, seen from the inside of a real rehearsal: its first pre
/// script copies the memory map of snaporch (its parent) to a file.
@Suite(.timeLimit(.minutes(1)))
struct CommandFootprintTests {
    @Test func aRunWithoutHTTPNeverLoadsLibcurl() async throws {
        let tree = TestTree("footprint")
        defer { tree.cleanup() }
        let maps = tree.path("maps.txt")
        let probe = tree.script("etc/azure/prepost/probe.sh", "cat /proc/$PPID/maps > \(maps)")
        tree.write(TestConfig(plugins: [.script("probe", pre: probe, post: probe)]), at: TestConfig.defaultPath)
        let r = try await runCLI(["run", "--no-freeze", "--no-snapshot"], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: maps, encoding: .utf8)
        // The probe really read snaporch's map (the binary itself is in it).
        #expect(text.contains(URL(fileURLWithPath: TestEnv.snaporch).lastPathComponent), "\(text.prefix(400))")
        #expect(
            !text.contains("libcurl"),
            "a rehearsal mapped libcurl:\n\(text.split(separator: "\n").filter { $0.contains("curl") }.joined(separator: "\n"))"
        )
    }

    @Test func theHTTPClientLoadsLibcurlOnFirstUse() {
        // In this (test) process: the client loads libcurl.so.4 when it is created.
        _ = CurlHTTPClient()
        let maps = ProcFile.text("/proc/self/maps") ?? ""
        #expect(maps.contains("libcurl.so.4"))
    }
}
