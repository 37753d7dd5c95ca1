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
            print(
                "split: MariaDB write after kill -9 of the holder went through in \(String(format: "%.3f", seconds)) s")
            let finished = try await fx.end()
            #expect(finished.code == 1 && finished.stderr.contains("holder died"), "\(finished.stderr)")
        }
    }

    @Test func aStoppedHolderLosesTheDatabaseLockSoonAfterItsLease() async throws {
        let tree = TestTree("split-db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { maria in
            let config = tree.write(
                TestConfig(
                    freeze: .off, options: ["kill_grace": "1s"],
                    plugins: [.mysql("mariadb", on: maria, ["timeout": "2s"])]
                ))
            let fx = RunFixture(tree)
            let quiesced = try await fx.begin(config, ["--lease", "3s"]).quiesced()
            // Stopped: it can neither release nor answer. The server's own idle timeout, derived from
            // the window (the lease) when the hold was taken, ends the session.
            kill(quiesced.split.holderPid, SIGSTOP)
            let start = Date()
            let write = try await maria.mariadb(
                "SET SESSION lock_wait_timeout = 30; INSERT INTO snaporch_test.t (v) VALUES ('stopped-holder');",
                defaults: maria["APP_DEFAULTS_FILE"])
            let seconds = Date().timeIntervalSince(start)
            kill(quiesced.split.holderPid, SIGCONT)
            #expect(write.code == 0, "\(write.output)")
            // The lease (3 s) + the hold's budget (2 s) and kill grace (1 s) + the dead-man's margin.
            #expect(seconds < 9, "the lock outlived the lease by far: \(seconds) s")
            print(
                "split: a stopped holder's MariaDB lock ended \(String(format: "%.1f", seconds)) s after begin returned (lease 3 s)"
            )
            #expect(await eventually(within: 30) { !processAlive(quiesced.split.holderPid) })
            let late = try await fx.end()
            #expect(late.code != 0 && late.stderr.contains("already ended"), "\(late.stderr)")
        }
    }
}
