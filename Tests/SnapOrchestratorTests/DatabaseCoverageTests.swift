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
    /// A config freezing `mounts`, a snapshot command, and `plugin` (YAML lines of one plugin entry).
    func coverageConfig(_ tree: TestTree, mounts: [String], plugin: String, snapshot: String = "/bin/true") -> String {
        tree.write(
            "c.yaml",
            """
            version: 1
            freeze:
              timeout: 20s
              mounts: [\(mounts.joined(separator: ", "))]
            snapshot:
              provider: command
              command: [\(snapshot)]
              timeout: 15s
            plugins:
            \(plugin)
            """)
    }

    func freezeEnv(_ tree: TestTree, _ mounts: [LoopMount]) -> [String: String] {
        var env = tree.environment
        env["SNAPORCH_FREEZE_ALLOW"] = mounts.map(\.mountPoint).joined(separator: ":")
        return env
    }

    @Test func mysqlRedoLogOnAnUnfrozenFilesystemIsNotApplicationConsistent() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let frozen = try await fx.loop("frozen", sizeMB: 256)
            let other = try await fx.loop("other", sizeMB: 128)
            let redo = other.mountPoint + "/redo"
            _ = try await sh("mkdir -p \(redo) && chown mysql:mysql \(redo)")
            let server = try await DatabaseServer.start(
                "mariadb", in: frozen.mountPoint + "/my", extraArgs: "--innodb-log-group-home-dir=\(redo)")
            do {
                try #require(FileManager.default.fileExists(atPath: redo + "/ib_logfile0"), "the redo log is elsewhere")
                let plugin = """
                      - name: db
                        type: mysql
                        defaults_file: \(server["DEFAULTS_FILE"])
                    """
                let partial = coverageConfig(tree, mounts: [frozen.mountPoint], plugin: plugin)
                let env = freezeEnv(tree, [frozen, other])
                let r = try await runCLI(["run", "--config", partial, "--json"], env: env, timeout: 120)
                #expect(r.code == 3, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
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
                let v = try await runCLI(["validate", "--config", partial], env: env, timeout: 60)
                #expect(v.code == 0, "\(v.stderr)")
                #expect(
                    v.stderr.contains(
                        "\(partial):10:5: warning: plugin 'db': the freeze set (\(frozen.mountPoint)) does not cover the server's files: innodb_log_group_home_dir \(redo) is on \(other.mountPoint) (ext4)"
                    ), "\(v.stderr)")
                // Both filesystems frozen: application-consistent.
                let full = coverageConfig(tree, mounts: [frozen.mountPoint, other.mountPoint], plugin: plugin)
                let ok = try await runCLI(["run", "--config", full, "--json"], env: env, timeout: 120)
                #expect(ok.code == 0, "\(ok.stderr)")
                let good = try JSONDecoder().decode(RunReport.self, from: Data(ok.stdout.utf8))
                #expect(good.consistency == .application, "\(good.reasons)")
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    @Test func postgresTablespaceOnAnUnfrozenFilesystemFailsBackupAndCheckpointModes() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let frozen = try await fx.loop("frozen", sizeMB: 256)
            let other = try await fx.loop("other", sizeMB: 64)
            let server = try await DatabaseServer.start("postgres", in: frozen.mountPoint + "/pg")
            do {
                let location = other.mountPoint + "/ts"
                _ = try await sh("mkdir -p \(location) && chown postgres \(location)")
                let made = try await server.psql("CREATE TABLESPACE ts_other LOCATION '\(location)';")
                try #require(made.code == 0, "\(made.output)")
                let env = freezeEnv(tree, [frozen, other])
                let backup = """
                      - name: pg
                        type: postgres
                        mode: backup
                        host: \(server["SOCKET_DIR"])
                        port: \(server["PORT"])
                        user: snaporch
                        password_file: \(server["PGPASSFILE"])
                        label_dir: \(tree.path("labels"))
                    """
                let config = coverageConfig(tree, mounts: [frozen.mountPoint], plugin: backup)
                let r = try await runCLI(["run", "--config", config, "--json"], env: env, timeout: 120)
                #expect(r.code == 3, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
                #expect(report.consistency == .filesystem, "\(report.reasons)")
                #expect(
                    report.plugins[0].pre?.error?.contains(
                        "tablespace ts_other \(location) is on \(other.mountPoint) (ext4), which is not frozen")
                        == true,
                    "\(report.plugins[0].pre?.error ?? "")")
                let checkpoint = """
                      - name: pg
                        type: postgres
                        host: \(server["SOCKET_DIR"])
                        port: \(server["PORT"])
                        user: snaporch_peer
                        os_user: postgres
                    """
                let strict = coverageConfig(tree, mounts: [frozen.mountPoint], plugin: checkpoint)
                let v = try await runCLI(["validate", "--config", strict], env: env, timeout: 60)
                #expect(v.code == 1, "\(v.stderr)")
                #expect(
                    v.stderr.contains(
                        "\(strict):10:5: error: plugin 'pg': the freeze set (\(frozen.mountPoint)) does not cover the server's files: tablespace ts_other \(location) is on \(other.mountPoint) (ext4), which is not frozen — checkpoint mode needs every directory frozen"
                    ), "\(v.stderr)")
                _ = try await server.psql("DROP TABLESPACE ts_other;")
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    @Test func aSessionLostInTheWindowSaysTheApplicationResumedEarly() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let disk = try await fx.loop("frozen", sizeMB: 256)
            let server = try await DatabaseServer.start("mariadb", in: disk.mountPoint + "/my")
            do {
                // Inside the window the plugin's session is killed on the server (nothing is written).
                let admin = server["ADMIN_DEFAULTS_FILE"]
                let kill = tree.script(
                    "s/kill.sh",
                    """
                    for id in $(mariadb --defaults-file=\(admin) -N -B -e "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'snaporch'"); do
                      mariadb --defaults-file=\(admin) -e "KILL $id"
                    done
                    """)
                let plugin = """
                      - name: db
                        type: mysql
                        defaults_file: \(server["DEFAULTS_FILE"])
                    """
                let config = coverageConfig(tree, mounts: [disk.mountPoint], plugin: plugin, snapshot: kill)
                let r = try await runCLI(
                    ["run", "--config", config, "--json"], env: freezeEnv(tree, [disk]), timeout: 120)
                #expect(r.code == 3, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
                #expect(report.consistency == .filesystem, "\(report.reasons)")
                let reasons = report.reasons.joined(separator: "\n")
                #expect(
                    reasons.contains(
                        "the lock was released early; the application resumed during the window; filesystem-consistent"),
                    "\(reasons)")
                #expect(!reasons.contains("may not have resumed"), "\(reasons)")
                #expect(report.plugins[0].release?.details?["released"]?.hasPrefix("early") == true)
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }
}
