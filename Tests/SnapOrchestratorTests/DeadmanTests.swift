import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized database suite: one private server set at a time.)
/// The dead-man of a database hold: no lock outlives the freeze deadline by more than 2 s, even when
/// snaporch is stopped inside the window, measured with real writers against real servers.
extension DatabasePluginTests {
    /// SIGSTOP snaporch inside the window (a 2 s freeze timeout), with a MariaDB writer and a
    /// PostgreSQL writer inserting continuously: both must write again within freeze.timeout + 2 s
    /// (without the dead-man, MariaDB's lock stayed until the holder's `wait_timeout = 1800`). Then
    /// snaporch is continued (its own report says why the lock ended) or killed (`recover` says why).
    @Test(arguments: ["continue", "kill"])
    func aStoppedSnaporchHoldsNoDatabaseLockPastTheFreezeDeadline(_ after: String) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop(sizeMB: 384)
            try await withDatabase("mariadb", at: m.mountPoint + "/mariadb") { maria in
                try await withDatabase("postgres", at: m.mountPoint + "/postgres") { pg in
                    let config = tree.write(
                        TestConfig(
                            freeze: .on(timeout: "2s", mounts: [m.mountPoint]), snapshot: .none,
                            plugins: [
                                .mysql("mariadb", on: maria),
                                .postgresBackup("postgres", on: pg, labelDir: tree.path("labels")),
                            ]))
                    try FileManager.default.createDirectory(
                        atPath: tree.path("labels"), withIntermediateDirectories: true)
                    let mariaWriter = try await DatabaseWriter.start("mariadb", maria, in: tree)
                    defer { mariaWriter.stop() }
                    let pgWriter = try await DatabaseWriter.start("postgres", pg, in: tree)
                    defer { pgWriter.stop() }
                    let fixture = RunFixture(tree, freezing: [m])
                    let run = Task {
                        try await fixture.run(
                            config, ["--json"], env: ["SNAPORCH_FAULT_STOP_AT": "window"], timeout: 120)
                    }
                    let pid = try await stoppedSnaporch(config: config, within: 60)
                    defer { kill(pid, SIGCONT) }
                    let stopped = monotonicSeconds()
                    // Bounded: without the dead-man MariaDB stays blocked for 30 minutes.
                    let mariaGap = try await mariaWriter.resumed(after: stopped, limit: 10).map { $0 - stopped }
                    let pgGap = try await pgWriter.resumed(after: stopped, limit: 10).map { $0 - stopped }
                    print(
                        "deadman (\(after)): writes resumed after the stop: MariaDB \(mariaGap ?? -1) s, "
                            + "PostgreSQL \(pgGap ?? -1) s (freeze.timeout 2 s)")
                    #expect(
                        mariaGap.map { $0 <= 4 } == true,
                        "MariaDB writes resumed \(mariaGap.map { "\($0) s" } ?? "not within 10 s") after the stop")
                    #expect(
                        pgGap.map { $0 <= 4 } == true,
                        "PostgreSQL writes resumed \(pgGap.map { "\($0) s" } ?? "not within 10 s") after the stop")
                    if after == "continue" {
                        kill(pid, SIGCONT)
                        let report = try await run.value.report()
                        #expect(report.freeze.deadlineHit == true)
                        #expect(
                            report.reasons.contains {
                                $0.contains("the dead-man ended the database session(s) of 'mariadb', 'postgres'")
                            }, "\(report.reasons)")
                        #expect(report.consistency != .application)
                        #expect(
                            report.plugins[0].release?.details?["released"]?.hasPrefix("early") == true,
                            "\(report.plugins[0].release?.details ?? [:])")
                    } else {
                        kill(pid, SIGKILL)
                        #expect(try await run.value.status == .signaled(SIGKILL))
                        let recover = try await fixture.recover()
                        #expect(recover.code == 0, "\(recover.stdout)\(recover.stderr)")
                        #expect(
                            recover.stdout.contains("MySQL/MariaDB " + HoldDeadlineTests.endedByDeadman),
                            "\(recover.stdout)")
                        #expect(recover.stdout.contains("PostgreSQL session"), "\(recover.stdout)")
                    }
                    // The writers really were blocked by the freeze (and MariaDB's by its lock as well).
                    #expect(mariaWriter.longestBlockSeconds >= 1, "MariaDB writes were never blocked")
                    #expect(pgWriter.longestBlockSeconds >= 1, "PostgreSQL writes were never blocked")
                    // Nothing of the run is left holding: a write goes through at once.
                    let probe = try await appInsert(maria)
                    #expect(probe.code == 0, "\(probe.output)")
                }
            }
        }
    }

    /// The `snaporch run --config CONFIG` process once it has stopped itself (state T).
    func stoppedSnaporch(config: String, within seconds: Double) async throws -> Int32 {
        let end = monotonicSeconds() + seconds
        while monotonicSeconds() < end {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline")
                else { continue }
                let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                guard args.contains("run"), args.contains(config), !args.contains("__guard") else { continue }
                let stat = (try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8)) ?? ""
                if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "T" { return pid }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("snaporch never stopped in the window")
    }
}

/// A writer (Tests/Support/db/writer.py) inserting continuously through its own client session;
/// every completed insert is a `START END` line (CLOCK_MONOTONIC seconds) in its log.
struct DatabaseWriter {
    let log: String
    let pidFile: String

    static func start(_ kind: String, _ server: DatabaseServer, in tree: TestTree) async throws -> DatabaseWriter {
        let client =
            kind == "mariadb"
            ? "mariadb --defaults-extra-file=\(server["APP_DEFAULTS_FILE"]) --batch --unbuffered --skip-column-names"
            : "env PGPASSFILE=\(server["PGPASSFILE"]) psql -X -q -A -t -w -h \(server["SOCKET_DIR"]) "
                + "-p \(server["PORT"]) -U snaporch_app -d snaporch_test"
        let writer = DatabaseWriter(log: tree.path("\(kind).writes"), pidFile: tree.path("\(kind).writer.pid"))
        // A lifetime well past any test (it is stopped by the test): on a loaded CI machine the window
        // once came more than 100 s after the writer started, and the writers had ended by then.
        _ = try await sh(
            "python3 \(DatabaseServer.scripts)/writer.py \(kind) \(writer.log) --seconds 600 -- \(client) "
                + ">/dev/null 2>&1 & echo $! > \(writer.pidFile)")
        for _ in 0..<500 where writer.inserts().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        guard !writer.inserts().isEmpty else {
            writer.stop()
            throw TestFailure("the \(kind) writer did not start")
        }
        return writer
    }

    /// Ends the writer (it ends its client session).
    func stop() {
        let text = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
        if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 { kill(pid, SIGTERM) }
    }

    /// The completed inserts so far: (start, end) in monotonic seconds.
    func inserts() -> [(start: Double, end: Double)] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ").compactMap { Double($0) }
            return p.count == 2 ? (p[0], p[1]) : nil
        }
    }

    /// Waits until an insert completes after `moment`, up to `limit` seconds after it; returns when.
    func resumed(after moment: Double, limit: Double) async throws -> Double? {
        while monotonicSeconds() < moment + limit {
            if let done = inserts().first(where: { $0.end > moment }) { return done.end }
            try await Task.sleep(for: .milliseconds(20))
        }
        return inserts().first(where: { $0.end > moment })?.end
    }

    /// The longest single insert: how long the writer was blocked at most.
    var longestBlockSeconds: Double { inserts().map { $0.end - $0.start }.max() ?? 0 }
}

/// CLOCK_MONOTONIC in seconds (the clock of writer.py and of snaporch).
func monotonicSeconds() -> Double { Double(Sys.monotonicNanos()) / 1e9 }

extension DatabasePluginTests {
    /// The server-side dead-man alone (as when snaporch stops between the hold and the freeze,
    /// where no guard is armed yet): the holding session's `wait_timeout` ends the lock at the
    /// window deadline given to the hold, plus the margin.
    @Test func theServerEndsAnIdleHoldAtItsWindowDeadline() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let plugin = MySQLPlugin(spec: try mysqlSpec(server))
            let pre = await plugin.pre(context(.pre))
            #expect(pre.ok, "\(pre.error ?? "")")
            var hold = context(.hold)
            hold.windowDeadline = MonotonicInstant(nanoseconds: Sys.monotonicNanos()) + .seconds(1)
            let held = await plugin.hold(hold)
            #expect(held.ok, "\(held.error ?? "")")
            #expect(held.details?["deadman"]?.contains("after 2 s idle") == true, "\(held.details ?? [:])")
            let taken = monotonicSeconds()
            #expect(try await appInsert(server).output.contains("1205"), "the lock was not held")
            var resumed: Double?
            while monotonicSeconds() < taken + 10 {
                if try await appInsert(server).code == 0 {
                    resumed = monotonicSeconds()
                    break
                }
            }
            let lasted = resumed.map { $0 - taken }
            print("deadman (server only): the lock ended \(lasted ?? -1) s after the hold (window deadline 1 s + 1 s)")
            #expect(
                lasted.map { $0 >= 1 && $0 <= 4 } == true, "the lock lasted \(lasted.map { "\($0) s" } ?? "over 10 s")")
            let release = await plugin.release(context(.release))
            #expect(release.details?["released"]?.hasPrefix("early") == true, "\(release.details ?? [:])")
            let post = await plugin.post(context(.post))
            #expect(post.ok, "\(post.error ?? "")")
            #expect(post.details?["verified"] == "session gone")
        }
    }
}

extension DatabasePluginTests {
    /// STOP REPLICA is global: when the dead-man (or anything) ended the holding session, the post
    /// restarts the replica SQL thread from a new session — before, it tried the dead session, said
    /// "SQL thread restarted" and left the replica stopped.
    @Test func theReplicaRestartsWhenTheHoldingSessionIsGone() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            try await makeReplica(server, sqlThreadRunning: true)
            let plugin = try replicaStoppingPlugin(server)
            let pre = await plugin.pre(context(.pre))
            #expect(
                pre.ok && pre.details?["replica"] == "SQL thread stopped", "\(pre.error ?? "") \(pre.details ?? [:])")
            #expect(try await sqlThreadRunning(server) == "No")
            let hold = await plugin.hold(context(.hold))
            #expect(hold.ok, "\(hold.error ?? "")")
            // The holding session ends without snaporch (as its dead-man ends it).
            let killed = try await server.mariadb("KILL CONNECTION \(pre.details?["connectionId"] ?? "0");")
            #expect(killed.code == 0, "\(killed.output)")
            let release = await plugin.release(context(.release))
            #expect(release.details?["released"]?.hasPrefix("early") == true, "\(release.details ?? [:])")
            let post = await plugin.post(context(.post))
            #expect(post.ok, "\(post.error ?? "")")
            #expect(post.details?["replica"] == "SQL thread restarted", "\(post.details ?? [:])")
            #expect(try await sqlThreadRunning(server) == "Yes", "the post left the replica stopped")
        }
    }

    /// Makes `server` a replica whose source does not answer: its IO thread retries, its SQL thread
    /// runs (or is stopped, as its admin may leave it).
    func makeReplica(_ server: DatabaseServer, sqlThreadRunning running: Bool) async throws {
        let setup = try await server.mariadb(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=9, MASTER_USER='nobody', MASTER_CONNECT_RETRY=60;"
                + (running ? " START REPLICA SQL_THREAD;" : ""))
        try #require(setup.code == 0, "\(setup.output)")
        #expect(try await sqlThreadRunning(server) == (running ? "Yes" : "No"))
    }

    /// The MySQL plugin on `server` with `replica: true` (mode `auto`).
    func replicaStoppingPlugin(_ server: DatabaseServer) throws -> MySQLPlugin {
        var spec = try mysqlSpec(server)
        spec.database = try .decoded(
            .mysql, ["defaults_file": server["DEFAULTS_FILE"], "mode": "auto", "replica": "true"])
        return MySQLPlugin(spec: spec)
    }

    /// `Slave_SQL_Running` of the server's replica status (its 12th field).
    func sqlThreadRunning(_ server: DatabaseServer) async throws -> String {
        let fields = try await server.mariadb("SHOW REPLICA STATUS;").output.split(
            separator: "\t", omittingEmptySubsequences: false)
        return fields.count > 11 ? String(fields[11]) : ""
    }
}
