import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapSystem

/// (Part of the database suite.) `replica: true` stops the replica SQL thread in the pre step, and
/// STOP REPLICA is global: it outlives the session and the run. A run killed before its post must
/// not leave the replica stopped for good — `recover` restarts it, but only when the run stopped it.
extension DatabasePluginTests {
    @Test(arguments: [true, false])
    func recoverRestartsTheReplicaTheKilledRunStopped(runningBefore: Bool) async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            try await makeReplica(server, sqlThreadRunning: runningBefore)
            let fx = RunFixture(tree)
            // Stopped before the posts, then killed: the post that restarts the replica never runs.
            let (config, run, pid) = try await runStoppedBeforeThePosts(server, fx)
            kill(pid, SIGKILL)
            _ = try? await run.value
            let recover = try await fx.recover(config)
            #expect(recover.code == 0, "\(recover.stdout) \(recover.stderr)")
            if runningBefore {
                #expect(
                    try await sqlThreadRunning(server) == "Yes", "recover left the replica stopped: \(recover.stderr)")
                #expect(recover.stdout.contains("SQL thread restarted"), "\(recover.stdout)")
            } else {
                // Stopped by its admin before the run: the run did not stop it, and recover leaves it so.
                #expect(try await sqlThreadRunning(server) == "No", "recover started a replica its admin had stopped")
            }
            _ = try? await server.mariadb("STOP REPLICA; RESET REPLICA ALL;")
        }
    }

    /// The stop is recorded before it is made: a journal that cannot record it leaves the replica
    /// running (nobody could start it again after a crash), and the pre says why.
    @Test func aReplicaStopTheJournalCannotRecordIsNotMade() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            try await makeReplica(server, sqlThreadRunning: true)
            let plugin = try replicaStoppingPlugin(server)
            var pre = context(.pre)
            pre.announceReplicaStop = { "the run journal /run/snaporch/journal.jsonl: No space left on device" }
            let result = await plugin.pre(pre)
            #expect(!result.ok)
            #expect(result.error?.contains("replica SQL thread was not stopped") == true, "\(result.error ?? "")")
            #expect(try await sqlThreadRunning(server) == "Yes", "stopped without a record of it")
            _ = await plugin.post(context(.post))
            _ = try? await server.mariadb("STOP REPLICA; RESET REPLICA ALL;")
        }
    }

    /// A STOP REPLICA that the server answers only after the pre's budget (here: the server is
    /// stopped while it reads it) still stops the SQL thread, later. The pre fails and says the
    /// server may still stop it; its post, which runs for every started plugin, starts it again.
    @Test func aStopReplicaAnsweredTooLateIsUndoneByThePost() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            try await makeReplica(server, sqlThreadRunning: true)
            let serverPid = try #require(pid_t(server["PID"]))
            let plugin = try replicaStoppingPlugin(server)
            var pre = context(.pre)
            pre.budget = .milliseconds(1500)
            // Right before the STOP is sent: the server stalls for 3 s, past the 1.5 s budget.
            pre.announceReplicaStop = {
                kill(serverPid, SIGSTOP)
                Thread.detachNewThread {
                    usleep(3_000_000)
                    kill(serverPid, SIGCONT)
                }
                return nil
            }
            let result = await plugin.pre(pre)
            kill(serverPid, SIGCONT)
            #expect(!result.ok)
            #expect(result.error?.contains("the server may still stop it") == true, "\(result.error ?? "")")
            // The server has run the late STOP by now (the client waited for its answer to exit).
            #expect(try await sqlThreadRunning(server) == "No", "the late STOP did not happen: the test shows nothing")
            let post = await plugin.post(context(.post))
            #expect(post.ok, "\(post.error ?? "")")
            #expect(post.details?["replica"]?.contains("SQL thread restarted") == true, "\(post.details ?? [:])")
            #expect(try await sqlThreadRunning(server) == "Yes", "the replica was left stopped")
            _ = try? await server.mariadb("STOP REPLICA; RESET REPLICA ALL;")
        }
    }

    /// A post that cannot start the replica SQL thread again (the server went away during the run)
    /// leaves that duty in the run's journal: the replica must not stay stopped for good when the
    /// server comes back with replication left off at start (`--skip-slave-start`, as many replicas
    /// run). `recover`, or the next run (here one without any plugin), starts it — and one that
    /// still finds the server away keeps the duty for the one after.
    @Test(arguments: ["recover", "next run"])
    func theReplicaThePostCouldNotStartIsStartedLater(by finisher: String) async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        let directory = tree.path("mariadb")
        try await withDatabase("mariadb", at: directory) { server in
            try await makeReplica(server, sqlThreadRunning: true)
            let fx = RunFixture(tree)
            // Stopped before the posts; the server shuts down meanwhile.
            let (config, run, pid) = try await runStoppedBeforeThePosts(server, fx)
            await server.stop()
            kill(pid, SIGCONT)
            _ = try await run.value
            let report = try fx.storedReport()
            #expect(report.plugins.first?.post?.dutyLeft != nil, "\(String(describing: report.plugins.first?.post))")
            #expect(report.reasons.contains { $0.contains("left a duty") }, "\(report.reasons)")
            let plain = fx.write(TestConfig(freeze: .off, plugins: []), at: "plain.yaml")
            // The server is still away: the duty stays.
            let first = try await finishOnce(fx, finisher, config: config, plain: plain)
            #expect(first.text.contains("ended with a post's duty left"), "\(first.text)")
            #expect(first.failedReplica, "\(first.text)")
            #expect(first.text.contains("still owed:"), "the failed recovery is not shown: \(first.text)")
            let restarted = try await DatabaseServer.start("mariadb", in: directory, extraArgs: "--skip-slave-start")
            #expect(try await sqlThreadRunning(restarted) == "No")
            let second = try await finishOnce(fx, finisher, config: config, plain: plain)
            #expect(second.text.contains("ended with a post's duty left"), "\(second.text)")
            #expect(second.restarted, "\(second.text)")
            #expect(try await sqlThreadRunning(restarted) == "Yes", "the replica stayed stopped")
            let third = try await fx.recover(config)
            #expect(third.stdout.contains("nothing to recover"), "the finished duty stayed: \(third.stdout)")
            _ = try? await restarted.mariadb("STOP REPLICA; RESET REPLICA ALL;")
        }
    }

    /// A run of the MySQL plugin with `replica: true` on `server`, stopped (SIGSTOP) at the `post`
    /// fault point after its pre stopped the SQL thread (if it ran): its config, the run, the pid.
    func runStoppedBeforeThePosts(_ server: DatabaseServer, _ fx: RunFixture) async throws
        -> (config: String, run: Task<CLIResult, any Error>, pid: Int32)
    {
        let config = fx.write(
            TestConfig(freeze: .off, plugins: [.mysql(on: server, ["replica": "true", "mode": "ftwrl"])]))
        let run = Task { try await fx.run(config, ["--no-snapshot"], env: ["SNAPORCH_FAULT_STOP_AT": "post"]) }
        let pid = try await waitForStoppedSnaporch(root: fx.tree.root, timeout: 30)
        #expect(try await sqlThreadRunning(server) == "No")
        return (config, run, pid)
    }

    /// One recovery of a left duty by `finisher` (`recover`, or a run of `plain`, a config without
    /// plugins): what it printed, whether the replica's owed post failed or restarted the thread.
    func finishOnce(_ fx: RunFixture, _ finisher: String, config: String, plain: String) async throws
        -> (text: String, failedReplica: Bool, restarted: Bool)
    {
        if finisher == "recover" {
            let recover = try await fx.recover(config)
            let text = recover.stdout + recover.stderr
            return (text, text.contains("post db") && text.contains("failed"), text.contains("SQL thread restarted"))
        }
        let next = try await fx.run(plain, ["--no-snapshot"])
        let steps = try fx.storedReport().recovered
        let text = next.stdout + next.stderr + "\n\(steps)"
        return (
            text, steps.contains { $0.result.status == .failed && $0.result.dutyLeft != nil },
            steps.contains { $0.result.details?["replica"]?.contains("SQL thread restarted") == true }
        )
    }

    /// A real primary and replica: the replica's SQL thread applies a 12 s statement on a
    /// non-transactional table, which a STOP REPLICA must wait for. Our STOP gets no answer within
    /// the pre's budget and is still running when the post comes: the post waits until the STOP's
    /// connection has ended (the thread is stopped by then), then starts the thread again — it must
    /// not take the still running thread for a replica that needs nothing.
    @Test func thePostWaitsForAStopReplicaStillRunningOnTheServer() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", at: tree.path("p/mariadb")) { primary in
            try await withDatabase("mariadb", at: tree.path("r/mariadb"), serverId: 2) { replica in
                let setup = try await primary.mariadb(
                    "CREATE USER 'repl'@'127.0.0.1'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';"
                        + " CREATE DATABASE slowrep; CREATE TABLE slowrep.m (v INT) ENGINE=MyISAM;")
                try #require(setup.code == 0, "\(setup.output)")
                let start = try await replica.mariadb(
                    "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=\(primary["PORT"]), MASTER_USER='repl',"
                        + " MASTER_USE_GTID=slave_pos; START REPLICA;")
                try #require(start.code == 0, "\(start.output)")
                try await waitForServer("the table on the replica", timeout: 60) {
                    try await replica.mariadb("SELECT COUNT(*) FROM slowrep.m;").code == 0
                }
                // Logged as a statement: the replica runs the 12 s SLEEP again, on a MyISAM table.
                let slow = Task {
                    try await primary.mariadb(
                        "SET SESSION binlog_format = 'STATEMENT'; INSERT INTO slowrep.m SELECT SLEEP(12);")
                }
                let applying =
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO slowrep%';"
                try await waitForServer("the replica applying the statement", timeout: 60) {
                    try await replica.mariadb(applying).output.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
                }
                let plugin = try replicaStoppingPlugin(replica)
                var pre = context(.pre)
                pre.budget = .milliseconds(1500)
                let result = await plugin.pre(pre)
                #expect(!result.ok)
                #expect(result.error?.contains("timed out") == true, "\(result.error ?? "")")
                let post = await plugin.post(context(.post))
                #expect(post.ok, "\(post.error ?? "")")
                #expect(post.details?["replica"]?.contains("SQL thread restarted") == true, "\(post.details ?? [:])")
                // Once the statement is applied, the thread must run (a late STOP would have ended it by now).
                try await waitForServer("the statement applied", timeout: 60) {
                    try await replica.mariadb(applying).output.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
                }
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await sqlThreadRunning(replica) == "Yes", "the late STOP left the replica stopped")
                _ = try? await slow.value
                _ = try? await replica.mariadb("STOP REPLICA; RESET REPLICA ALL;")
            }
        }
    }

    /// Polls `condition` every 200 ms until it holds; fails after `timeout` seconds naming `what`.
    func waitForServer(_ what: String, timeout: Double, _ condition: () async throws -> Bool) async throws {
        let end = Date().addingTimeInterval(timeout)
        while try await !condition() {
            if Date() > end { throw TestFailure("waited \(timeout) s for \(what)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
