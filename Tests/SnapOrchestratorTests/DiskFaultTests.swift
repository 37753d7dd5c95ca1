import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The report/state directory full or read-only: a clear error and a non-zero exit, while the
/// filesystems are thawed and the post steps run.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct DiskFaultTests {
    @Test(arguments: ["full", "read-only"])
    func stateDirectoryFault(_ kind: String) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let state = tree.path("var/lib/snaporch")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            _ = try await sh("mount -t tmpfs -o size=64k tmpfs \(state)")
            defer { _ = Task { _ = try? await sh("umount -l \(state)") } }
            if kind == "full" {
                _ = try await sh("dd if=/dev/zero of=\(state)/filler bs=4k count=100 2>/dev/null; true")
            } else {
                _ = try await sh("mount -o remount,ro \(state)")
            }
            let log = tree.path("order.log")
            let app = tree.script("s/app.sh", "echo $SNAPORCH_PHASE >> \(log)")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "5s", mounts: [m.mountPoint]), snapshot: .command(["/bin/true"]),
                    plugins: [.script("app", pre: app, post: app)]))
            let r = try await RunFixture(tree, freezing: [m]).run(config)
            #expect(r.code == 1, "exit \(r.code): \(r.stderr)")
            #expect(r.stderr.contains("error: cannot write \(state)/last-report.json"), "\(r.stderr)")
            #expect(r.stderr.contains("SUCCESS"), "the summary is still printed")
            #expect(tree.read("order.log") == "pre\npost\n")
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
            _ = try await sh("umount \(state)")
        }
    }
}
