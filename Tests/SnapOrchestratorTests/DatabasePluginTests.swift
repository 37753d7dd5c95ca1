import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The database plugins against real, private MariaDB and PostgreSQL servers.
@Suite(
    .serialized, .timeLimit(.minutes(5)),
    .enabled(if: TestEnv.rootTests, "the test servers need root (run as root, or CI=true)"))
struct DatabasePluginTests {
    func context(_ phase: Phase, runId: String = "dbtest", frozen: [String] = []) -> StepContext {
        StepContext(
            phase: phase, runId: runId, taskId: runId, budget: .seconds(30), deadlineEpoch: 0, frozenMounts: frozen)
    }

    func mysqlSpec(
        _ server: DatabaseServer, mode: String = "auto", defaults: String? = nil, lockWaitTimeout: String = "5"
    ) throws -> PluginSpec {
        var spec = PluginSpec(name: "db", kind: .mysql)
        spec.database = try .decoded(
            .mysql,
            ["defaults_file": defaults ?? server["DEFAULTS_FILE"], "mode": mode, "lock_wait_timeout": lockWaitTimeout])
        return spec
    }

    /// The PostgreSQL plugin on `server`'s socket with `options` (user, mode, ...).
    func postgresSpec(_ server: DatabaseServer, _ options: [String: String]) throws -> PluginSpec {
        var spec = PluginSpec(name: "pg", kind: .postgres)
        spec.database = try .decoded(
            .postgres, options.merging(["host": server["SOCKET_DIR"], "port": server["PORT"]]) { $1 })
        return spec
    }

    /// The PostgreSQL plugin in backup mode as the password user `snaporch`, labels in `labelDir`.
    func postgresBackupSpec(_ server: DatabaseServer, labelDir: String) throws -> PluginSpec {
        try postgresSpec(
            server,
            ["mode": "backup", "user": "snaporch", "password_file": server["PGPASSFILE"], "label_dir": labelDir])
    }

    /// An INSERT from the application's own session with a 1 s lock wait: 0 when it went through.
    func appInsert(_ server: DatabaseServer) async throws -> (code: Int32, output: String) {
        try await server.mariadb(
            "SET SESSION lock_wait_timeout = 1; INSERT INTO snaporch_test.t (v) VALUES ('probe');",
            defaults: server["APP_DEFAULTS_FILE"])
    }

    /// Writers are blocked from the hold to the release only: the prepare (pre) and the finish
    /// (post) block nobody.
    @Test(arguments: ["backup-stage", "ftwrl"])
    func mysqlBlocksWritersOnlyFromHoldToRelease(_ mode: String) async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let plugin = MySQLPlugin(spec: try mysqlSpec(server, mode: mode))
            let pre = await plugin.pre(context(.pre))
            #expect(pre.ok, "\(pre.error ?? "")")
            #expect(pre.details?["lockMode"] == mode)
            let afterPrepare = try await appInsert(server)
            #expect(afterPrepare.code == 0, "the prepare blocked a writer: \(afterPrepare.output)")
            let hold = await plugin.hold(context(.hold))
            #expect(hold.ok, "\(hold.error ?? "")")
            #expect(hold.details?["binlogFile"]?.hasPrefix("binlog.") == true)
            #expect(hold.details?["gtidBinlogPos"] != nil)
            let blocked = try await appInsert(server)
            #expect(
                blocked.code != 0 && blocked.output.contains("1205"),
                "a write went through under the lock: \(blocked.output)")
            #expect(await plugin.verifyHeld() == nil)
            let release = await plugin.release(context(.release))
            #expect(release.ok && release.details?["released"] == "yes", "\(release.error ?? "")")
            #expect(try await appInsert(server).code == 0, "a writer was still blocked after the release")
            let post = await plugin.post(context(.post))
            #expect(post.ok, "\(post.error ?? "")")
            #expect(post.details?["verified"] == "session gone")
            #expect(try await appInsert(server).code == 0)
            #expect(
                try await server.mariadb("SELECT @@global.read_only;").output.trimmingCharacters(
                    in: .whitespacesAndNewlines) == "0")
        }
    }

    /// Taking the lock is bounded by `lock_wait_timeout`: while another session holds a table
    /// write lock, the pre step fails after about that long with the server's own lock-wait error
    /// instead of waiting out its whole step budget (30 s here) with writers queued behind it.
    @Test func mysqlLockWaitIsBoundedByLockWaitTimeout() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let blocker = Task {
                try await server.mariadb("LOCK TABLES snaporch_test.t WRITE; SELECT SLEEP(12) /* snaporch-blocker */;")
            }
            defer { blocker.cancel() }
            let probe =
                "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%SLEEP(12) /* snaporch-b%';"
            for _ in 0..<200 {
                let holding = try await server.mariadb(probe).output.trimmingCharacters(in: .whitespacesAndNewlines)
                if holding != "0" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let spec = try mysqlSpec(server, mode: "ftwrl", lockWaitTimeout: "2")
            let start = Date()
            let plugin = MySQLPlugin(spec: spec)
            let pre = await plugin.pre(context(.pre))
            let quiesce = pre.ok ? await plugin.hold(context(.hold)) : pre
            let elapsed = Date().timeIntervalSince(start)
            _ = await plugin.post(context(.post))
            #expect(quiesce.status == .failed, "the lock was taken while another session held a write lock")
            #expect(elapsed < 10, "the lock wait took \(elapsed) s with lock_wait_timeout = 2")
            #expect(quiesce.error?.contains("Lock wait timeout") == true, "\(quiesce.error ?? "")")
            let ids = try await server.mariadb(
                "SELECT id FROM information_schema.processlist WHERE info LIKE '%snaporch-blocker%' AND id <> CONNECTION_ID();"
            ).output.split(whereSeparator: \.isNewline)
            for id in ids { _ = try await server.mariadb("KILL \(id);") }
            _ = try? await blocker.value
            #expect(try await appInsert(server).code == 0, "writers must go through once the blocker is gone")
        }
    }

    @Test func mysqlBadCredentialsAndUnsafeDefaultsFileAreClearErrors() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let bad = server.wrongPasswordFile(in: tree)
            let pre = await MySQLPlugin(spec: try mysqlSpec(server, defaults: bad)).pre(context(.pre))
            #expect(pre.status == .failed)
            #expect(
                pre.error?.contains("Access denied") == true && pre.error?.contains(bad) == true, "\(pre.error ?? "")")
            #expect(pre.error?.contains("WRONG-SECRET-PW") == false)
            chmod(bad, 0o644)
            let unsafe = await MySQLPlugin(spec: try mysqlSpec(server, defaults: bad)).pre(context(.pre))
            #expect(unsafe.error?.contains("credentials must be 0600") == true)
            await server.stop()
            let down = await MySQLPlugin(spec: try mysqlSpec(server)).pre(context(.pre))
            #expect(down.status == .failed && down.error?.contains("2002") == true, "\(down.error ?? "")")
        }
    }

    @Test func validateConnectsAndChecksPrivileges() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let fixture = RunFixture(tree)
            let good = tree.write(
                TestConfig(freeze: .absent, snapshot: .absent, plugins: [.mysql(on: server)]), at: "good.yaml")
            let ok = try await fixture.validate(good)
            #expect(ok.code == 0, "\(ok.stderr)")
            #expect(ok.stderr.contains("connected to 10."))
            let weak = tree.write(
                TestConfig(
                    freeze: .absent, snapshot: .absent, plugins: [.mysql(defaultsFile: server["APP_DEFAULTS_FILE"])]),
                at: "weak.yaml")
            let r = try await fixture.validate(weak)
            #expect(r.code == 1 && r.stderr.contains("lacks RELOAD"), "\(r.stderr)")
        }
    }

    @Test func killingTheOrchestratorReleasesTheDatabaseLock() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let marker = tree.path("marker")
            let hold = tree.script("s/hold.sh", "echo $PPID > \(marker); sleep 60")
            let release = tree.script("s/release.sh", "true")
            // The database holds its lock from its hold step on; the script's hold comes after it.
            let config = tree.write(
                TestConfig(plugins: [.mysql(on: server), .script("hold", hold: hold, release: release)]))
            let run = Task { try await RunFixture(tree).run(config) }
            let orchestrator = try await waitForPid(in: tree.path("marker"))
            #expect(try await appInsert(server).output.contains("1205"), "the lock was not held while the holds ran")
            kill(orchestrator, SIGKILL)
            _ = try await run.value
            let start = Date()
            let after = try await server.mariadb(
                "SET SESSION lock_wait_timeout = 5; INSERT INTO snaporch_test.t (v) VALUES ('after');",
                defaults: server["APP_DEFAULTS_FILE"])
            #expect(after.code == 0, "\(after.output)")
            #expect(Date().timeIntervalSince(start) < 3, "the lock outlived the orchestrator")
            _ = try await sh("pkill -f \(ShellQuote.quote(hold)) || true")
        }
    }

    @Test func postgresBackupModeHoldsOneSessionAndStoresTheLabel() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("postgres", in: tree) { server in
            let spec = try postgresBackupSpec(server, labelDir: tree.path("labels"))
            let plugin = PostgresPlugin(spec: spec)
            let pre = await plugin.pre(context(.pre, runId: "run-pg-1"))
            #expect(pre.ok, "\(pre.error ?? "")")
            let startLSN = try #require(pre.details?["startLSN"])
            let pid = try #require(pre.details?["backendPid"])
            let live = try await server.psql(
                "SELECT application_name FROM pg_stat_activity WHERE pid = \(pid);", database: "postgres")
            #expect(live.output.contains("snaporch-run-pg-1"), "the backup session is not alive: \(live.output)")
            #expect(await plugin.verifyHeld() == nil)
            let post = await plugin.post(context(.post, runId: "run-pg-1"))
            #expect(post.ok, "\(post.error ?? "")")
            let label = try String(contentsOfFile: tree.path("labels/run-pg-1/backup_label"), encoding: .utf8)
            #expect(label.contains("START WAL LOCATION: \(startLSN)"))
            #expect(post.details?["verified"] == "session gone")
            #expect(post.details?["restore"]?.contains(startLSN) == true)
        }
    }

    @Test func postgresCheckpointModeCheckpointsAndChecksTheFrozenSet() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("postgres", in: tree) { server in
            let spec = try postgresSpec(server, ["user": "snaporch_peer", "os_user": "postgres"])
            let before = try await server.psql("SELECT checkpoints_req FROM pg_stat_bgwriter;").output
            let pre = await PostgresPlugin(spec: spec).pre(context(.pre))
            #expect(pre.ok, "\(pre.error ?? "")")
            let after = try await server.psql("SELECT checkpoints_req FROM pg_stat_bgwriter;").output
            #expect(
                Int(after.trimmingCharacters(in: .whitespacesAndNewlines))! > Int(
                    before.trimmingCharacters(in: .whitespacesAndNewlines))!)
            let outside = await PostgresPlugin(spec: spec).pre(context(.pre, frozen: ["/nonexistent-mount"]))
            #expect(
                outside.status == .failed && outside.error?.contains("not on a frozen filesystem") == true,
                "\(outside.error ?? "")")
        }
    }

    @Test func killingTheOrchestratorMidBackupLeavesPostgresHealthy() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("postgres", in: tree) { server in
            let marker = tree.path("marker")
            let hold = tree.script("s/hold.sh", "echo $PPID > \(marker); sleep 60")
            let config = tree.write(
                TestConfig(
                    plugins: [.postgresBackup(on: server, labelDir: tree.path("labels")), .script("hold", pre: hold)]))
            let run = Task { try await RunFixture(tree).run(config) }
            kill(try await waitForPid(in: tree.path("marker")), SIGKILL)
            _ = try await run.value
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await server.psql("SELECT 1;").output.contains("1"))
            let again = try await server.psql(
                "SELECT pg_backup_start('after', true); SELECT lsn FROM pg_backup_stop(false);", database: "postgres")
            #expect(again.code == 0, "a new backup could not run: \(again.output)")
            _ = try await sh("pkill -f \(ShellQuote.quote(hold)) || true")
        }
    }
}
