import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized database suite: one private server set at a time.)
/// The database lock nests around the freeze window: a plugin after the database, whose pre and
/// post write to it, is never blocked by it — before the hold stage it waited out its lock wait.
extension DatabasePluginTests {
    @Test func aScriptAfterTheDatabaseWritesToItInItsPreAndPost() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop(sizeMB: 384)
            try await withDatabase("mariadb", at: m.mountPoint + "/mariadb") { maria in
                // Each step of the writer inserts one row with a 3 s lock wait: under the
                // database's lock it fails with 1205 and so does the step.
                let writer = tree.script(
                    "s/writer.sh",
                    """
                    mariadb --defaults-extra-file=\(maria["APP_DEFAULTS_FILE"]) --batch -e \\
                      "SET SESSION lock_wait_timeout = 3; INSERT INTO snaporch_test.t (v) VALUES ('$SNAPORCH_PHASE-writer');"
                    """)
                let snap = tree.script("s/snap.sh", "true")
                let config = tree.write(
                    TestConfig(
                        freeze: .on(timeout: "10s", mounts: [m.mountPoint]), snapshot: .command([snap]),
                        plugins: [
                            .mysql("mariadb", on: maria),
                            .script("writer", pre: writer, post: writer, ["timeout": "20s"]),
                        ]))
                let r = try await RunFixture(tree, freezing: [m]).run(config, ["--json"], timeout: 120)
                #expect(r.code == 0, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
                #expect(report.plugins[1].pre?.ok == true, "\(report.plugins[1].pre?.error ?? "")")
                #expect(report.plugins[1].post?.ok == true, "\(report.plugins[1].post?.error ?? "")")
                #expect(report.consistency == .application && report.outcome == .success, "\(report.reasons)")
                let rows = try await maria.mariadb("SELECT v FROM snaporch_test.t WHERE v LIKE '%-writer' ORDER BY id;")
                #expect(rows.output.split(separator: "\n") == ["pre-writer", "post-writer"], "\(rows.output)")
                // The lock spans the window only: taken after the writer's pre, released before its post.
                let at = Dictionary(report.timeline.map { ($0.step.rawValue, $0) }, uniquingKeysWith: { a, _ in a })
                let hold = try #require(at["hold:mariadb"])
                let release = try #require(at["release:mariadb"])
                let window = try #require(at["freeze-window"])
                #expect(hold.startMs >= at["pre:writer"]!.endMs && hold.endMs <= window.startMs, "\(report.timeline)")
                #expect(release.startMs >= window.endMs && release.endMs <= at["post:writer"]!.startMs)
                #expect(report.restorePoints.first?.binlogFile == report.plugins[0].hold?.details?["binlogFile"])
            }
        }
    }
}
