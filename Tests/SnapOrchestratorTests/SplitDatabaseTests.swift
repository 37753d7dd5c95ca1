import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized database suite: one private server set at a time.)
/// A split-phase run holds the MariaDB lock from `begin` to `end` in the detached holder's session;
/// a kill -9 of the holder releases it at once (its client reads EOF).
extension DatabasePluginTests {
    /// One row written by the application user with a 2 s lock wait: fails (1205) under the lock.
    func write(_ maria: DatabaseServer, _ value: String) async throws -> (code: Int32, output: String) {
        try await maria.mariadb(
            "SET SESSION lock_wait_timeout = 2; INSERT INTO snaporch_test.t (v) VALUES ('\(value)');",
            defaults: maria["APP_DEFAULTS_FILE"])
    }

    @Test func aSplitRunHoldsTheDatabaseLockFromBeginToEnd() async throws {
        let tree = TestTree("split-db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { maria in
            let log = tree.path("order.log")
            let app = tree.script("s/app.sh", "echo \"$SNAPORCH_PHASE:${SNAPORCH_OUTCOME:-}\" >> \(log)")
            let config = tree.write(
                TestConfig(freeze: .off, plugins: [.script("app", pre: app, post: app), .mysql("mariadb", on: maria)]))
            let fx = RunFixture(tree)
            let begin = try await fx.begin(config, ["--platform-freezes", "--caller", "qemu-ga", "--lease", "60s"])
            #expect(begin.code == 0, "\(begin.stderr)")
            let quiesced = try begin.quiesced()
            #expect(quiesced.plugins[1].hold?.ok == true, "\(quiesced.plugins[1])")
            let blocked = try await write(maria, "during")
            #expect(blocked.code != 0 && blocked.output.contains("1205"), "a write went through: \(blocked.output)")
            let end = try await fx.end(["--json"])
            #expect(end.code == 0, "\(end.stderr)")
            let report = try end.report()
            #expect(report.consistency == .application && report.plugins[1].release?.ok == true, "\(report.reasons)")
            #expect((tree.read("order.log") ?? "") == "pre:\npost:snapshot-taken\n")
            let after = try await write(maria, "after")
            #expect(after.code == 0, "\(after.output)")
            // kill -9 of the holder: the server ends the session and its lock at once.
            let second = try await fx.begin(config, ["--lease", "60s"]).quiesced()
            kill(second.split.holderPid, SIGKILL)
            let start = Date()
            let freed = try await write(maria, "after-kill")
            let seconds = Date().timeIntervalSince(start)
            #expect(freed.code == 0 && seconds < 2, "the lock outlived the holder: \(freed.output) after \(seconds) s")
            print("split: MariaDB write after kill -9 of the holder went through in \(String(format: "%.3f", seconds)) s")
            let finished = try await fx.end()
            #expect(finished.code == 1 && finished.stderr.contains("holder died"), "\(finished.stderr)")
        }
    }
}
