import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized database suite: one private server set at a time.)
/// A database plugin claims application consistency only for what the snapshot holds: every
/// directory its server writes durable state to must be on a frozen filesystem. Each database is
/// spread over two loop mounts the test makes, one frozen and one not.
extension DatabasePluginTests {
    /// A config freezing `mounts`, a snapshot command, and `plugin` (its entry is on line 10).
    func coverageConfig(
        _ tree: TestTree, mounts: [String], plugin: TestPlugin, snapshot: String = "/bin/true"
    ) -> String {
        tree.write(
            TestConfig(
                freeze: .on(timeout: "20s", mounts: mounts), snapshot: .command([snapshot], timeout: "15s"),
                plugins: [plugin]))
    }

    @Test func mysqlRedoLogOnAnUnfrozenFilesystemIsNotApplicationConsistent() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let frozen = try await fx.loop("frozen", sizeMB: 256)
            let other = try await fx.loop("other", sizeMB: 128)
            let redo = other.mountPoint + "/redo"
            _ = try await sh("mkdir -p \(redo) && chown mysql:mysql \(redo)")
            try await withDatabase(
                "mariadb", at: frozen.mountPoint + "/my", extraArgs: "--innodb-log-group-home-dir=\(redo)"
            ) { server in
                try #require(FileManager.default.fileExists(atPath: redo + "/ib_logfile0"), "the redo log is elsewhere")
                let plugin = TestPlugin.mysql(on: server)
                let partial = coverageConfig(tree, mounts: [frozen.mountPoint], plugin: plugin)
                let fixture = RunFixture(tree, freezing: [frozen, other])
                let r = try await fixture.run(partial, ["--json"], timeout: 120)
                #expect(r.code == 3, "\(r.stderr)")
                let report = try r.report()
                #expect(report.consistency == .filesystem, "\(report.reasons)")
                let error = report.plugins[0].pre?.error ?? ""
                #expect(
                    error.contains(
                        "innodb_log_group_home_dir \(redo) is on \(other.mountPoint) (ext4), which is not frozen"),
                    "\(error)")
                #expect(!error.contains("datadir"), "the datadir is frozen: \(error)")
                // The lock was released at once, not held through the window.
                #expect(try await appInsert(server).code == 0)
                // validate connects and warns about the same directory.
                let v = try await fixture.validate(partial)
                #expect(v.code == 0, "\(v.stderr)")
                #expect(
                    v.stderr.contains(
                        "\(partial):10:5: warning: plugin 'db': the freeze set (\(frozen.mountPoint)) does not cover the server's files: innodb_log_group_home_dir \(redo) is on \(other.mountPoint) (ext4)"
                    ), "\(v.stderr)")
                // Both filesystems frozen: application-consistent.
                let full = coverageConfig(tree, mounts: [frozen.mountPoint, other.mountPoint], plugin: plugin)
                let ok = try await fixture.run(full, ["--json"], timeout: 120)
                #expect(ok.code == 0, "\(ok.stderr)")
                let good = try ok.report()
                #expect(good.consistency == .application, "\(good.reasons)")
            }
        }
    }

    @Test func postgresTablespaceOnAnUnfrozenFilesystemFailsBackupAndCheckpointModes() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let frozen = try await fx.loop("frozen", sizeMB: 256)
            let other = try await fx.loop("other", sizeMB: 64)
            try await withDatabase("postgres", at: frozen.mountPoint + "/pg") { server in
                let location = other.mountPoint + "/ts"
                _ = try await sh("mkdir -p \(location) && chown postgres \(location)")
                let made = try await server.psql("CREATE TABLESPACE ts_other LOCATION '\(location)';")
                try #require(made.code == 0, "\(made.output)")
                let fixture = RunFixture(tree, freezing: [frozen, other])
                let backup = TestPlugin.postgresBackup(on: server, labelDir: tree.path("labels"))
                let config = coverageConfig(tree, mounts: [frozen.mountPoint], plugin: backup)
                let r = try await fixture.run(config, ["--json"], timeout: 120)
                #expect(r.code == 3, "\(r.stderr)")
                let report = try r.report()
                #expect(report.consistency == .filesystem, "\(report.reasons)")
                #expect(
                    report.plugins[0].pre?.error?.contains(
                        "tablespace ts_other \(location) is on \(other.mountPoint) (ext4), which is not frozen")
                        == true,
                    "\(report.plugins[0].pre?.error ?? "")")
                let strict = coverageConfig(tree, mounts: [frozen.mountPoint], plugin: .postgresPeer(on: server))
                let v = try await fixture.validate(strict)
                #expect(v.code == 1, "\(v.stderr)")
                #expect(
                    v.stderr.contains(
                        "\(strict):10:5: error: plugin 'pg': the freeze set (\(frozen.mountPoint)) does not cover the server's files: tablespace ts_other \(location) is on \(other.mountPoint) (ext4), which is not frozen — checkpoint mode needs every directory frozen"
                    ), "\(v.stderr)")
                _ = try await server.psql("DROP TABLESPACE ts_other;")
            }
        }
    }

    @Test func aSessionLostInTheWindowSaysTheApplicationResumedEarly() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let disk = try await fx.loop("frozen", sizeMB: 256)
            try await withDatabase("mariadb", at: disk.mountPoint + "/my") { server in
                // Inside the window the plugin's session is killed on the server (nothing is written).
                let admin = server["ADMIN_DEFAULTS_FILE"]
                let kill = tree.script(
                    "s/kill.sh",
                    """
                    for id in $(mariadb --defaults-file=\(admin) -N -B -e "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'snaporch'"); do
                      mariadb --defaults-file=\(admin) -e "KILL $id"
                    done
                    """)
                let config = coverageConfig(tree, mounts: [disk.mountPoint], plugin: .mysql(on: server), snapshot: kill)
                let r = try await RunFixture(tree, freezing: [disk]).run(config, ["--json"], timeout: 120)
                #expect(r.code == 3, "\(r.stderr)")
                let report = try r.report()
                #expect(report.consistency == .filesystem, "\(report.reasons)")
                let reasons = report.reasons.joined(separator: "\n")
                #expect(
                    reasons.contains(
                        "the lock was released early; the application resumed during the window; filesystem-consistent"),
                    "\(reasons)")
                #expect(!reasons.contains("may not have resumed"), "\(reasons)")
                #expect(report.plugins[0].release?.details?["released"]?.hasPrefix("early") == true)
            }
        }
    }
}
