import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// `snaporch recover` runs exactly the post step the interrupted run owed: its argv (a legacy
/// `/bin/sh SCRIPT postScriptParams…`), its environment with the outcome the run knew, its
/// timeout, and the kill grace of `--config F`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RecoveryTests {
    /// Starts `run` with `args`, waits until the orchestrator's pid is in `pidFile` and the process
    /// is where the test wants it (`stopped`: at a SNAPORCH_FAULT_STOP_AT point), then kill -9.
    func runAndKill(_ args: [String], env: [String: String], pidFile: String, stopped: Bool) async throws {
        let run = Task { try await runCLI(args, env: env) }
        let pid = try await waitForPid(in: pidFile)
        for _ in 0..<1000 {
            if !stopped { break }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "T" { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        if !stopped { try await Task.sleep(for: .milliseconds(200)) }
        kill(pid, SIGKILL)
        let result = try await run.value
        #expect(result.status == .signaled(SIGKILL), "the run ended before the kill: \(result.stderr)")
    }

    @Test(.enabled(if: TestEnv.isRoot || TestEnv.isCI, "legacy config files must be root-owned"))
    func aLegacyShellPluginIsRecoveredWithItsPostParameters() async throws {
        let tree = TestTree("recov")
        defer { tree.cleanup() }
        let log = tree.path("post.log")
        // Legacy scripts run as `/bin/sh SCRIPT`: no exec bit, no shebang needed.
        let pre = tree.write(
            "etc/azure/prepost/pre.sh", "echo $PPID > \(tree.path("orch.pid"))\nsleep 60\n", mode: 0o600)
        let post = tree.write(
            "etc/azure/prepost/post.sh", "echo \"post $* $SNAPORCH_PHASE $SNAPORCH_PLUGIN\" >> \(log)\n", mode: 0o600)
        tree.write(
            "etc/azure/VMSnapshotPluginHost.conf",
            "[pre_post]\nnumberOfPlugins = 1\npluginName0 = app\npluginConfigPath0 = /etc/azure/app.json\n",
            mode: 0o600)
        tree.write(
            "etc/azure/app.json",
            """
            {"pluginName": "app", "preScriptLocation": "\(pre)", "postScriptLocation": "\(post)",
             "preScriptParams": ["p1"], "postScriptParams": ["q1", "q 2"], "timeoutInSeconds": 30,
             "continueBackupOnFailure": true, "fsFreezeEnabled": true}
            """, mode: 0o600)
        var env = tree.environment
        env["SNAPORCH_FREEZE_ALLOW"] = tree.path("nothing-to-freeze")
        try await runAndKill(
            ["run", "--no-freeze", "--no-snapshot"], env: env, pidFile: tree.path("orch.pid"), stopped: false)
        let journal = tree.path("run/snaporch/journal.jsonl")
        var st = stat()
        #expect(stat(journal, &st) == 0 && st.st_mode & 0o777 == 0o600, "journal mode \(String(st.st_mode, radix: 8))")
        #expect(stat(tree.path("run/snaporch"), &st) == 0 && st.st_mode & 0o077 == 0, "run dir open to others")
        let recover = try await runCLI(["recover"], env: tree.environment)
        #expect(recover.code == 0, "\(recover.stdout)\(recover.stderr)")
        #expect(tree.read("post.log") == "post q1 q 2 post app\n", "\(recover.stdout)")
    }

    /// Recover thaws before anything else: the leftovers of the killed run (here its snapshot
    /// command) are found and stopped only after the thaw, so none of them — and no grace given to
    /// them — keeps a filesystem frozen. The command probes the mount when SIGTERM comes.
    @Test(.enabled(if: TestEnv.rootTests, TestEnv.rootReason))
    func recoverThawsBeforeItStopsTheKilledRunsLeftovers() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let probe = tree.path("probe.log")
            let snap = tree.script(
                "s/snap.sh",
                """
                echo $PPID > \(tree.path("run.pid"))
                trap 'if timeout 0.3 touch \(m.mountPoint)/.probe; then echo thawed; else echo frozen; fi > \(probe); exit 0' TERM
                sleep 60 &
                wait
                """)
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "20s", mounts: [m.mountPoint]), snapshot: .command([snap], timeout: "15s"),
                    plugins: []))
            let fixture = RunFixture(tree, freezing: [m])
            try await runAndKill(
                ["run", "--config", config], env: fixture.environment, pidFile: tree.path("run.pid"), stopped: false)
            // The guard thawed when the run died; freeze again, as if guard and watchdog had died too.
            #expect(try await sh("fsfreeze -f \(m.mountPoint)").code == 0)
            let r = try await fixture.recover(config)
            #expect(r.code == 0, "\(r.stdout)\(r.stderr)")
            #expect(tree.read("probe.log") == "thawed\n", "the leftover was stopped before the thaw")
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
        }
    }

    @Test func recoveredPostStepsLearnTheOutcomeTheRunKnew() async throws {
        let tree = TestTree("recov")
        defer { tree.cleanup() }
        let log = tree.path("post.log")
        let script = tree.script(
            "etc/azure/prepost/app.sh",
            """
            [ "$SNAPORCH_PHASE" = pre ] && echo $PPID > \(tree.path("orch.pid"))
            [ "$SNAPORCH_PHASE" = post ] && echo "$* $SNAPORCH_OUTCOME $SNAPORCH_CONSISTENCY" >> \(log)
            exit 0
            """)
        tree.write(
            TestConfig(
                snapshot: .command(["/bin/true"]), plugins: [.script("app", pre: script, post: script, args: ["x"])]),
            at: TestConfig.defaultPath)
        var env = tree.environment
        env["SNAPORCH_FAULT_STOP_AT"] = "post"
        try await runAndKill(["run"], env: env, pidFile: tree.path("orch.pid"), stopped: true)
        let journalText = tree.read("run/snaporch/journal.jsonl") ?? ""
        let records = try journalText.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let owed = records.first { $0?["event"] as? String == "preStarting" }??["owed"] as? [String: Any]
        let environment = (owed?["invocation"] as? [String: Any])?["environment"] as? [String: String]
        // The journalled environment is the script contract's, nothing more (no secrets).
        let keys = Set(environment?.keys.map { $0 } ?? [])
        let allowed: Set = [
            "PATH", "LANG", "HOME", "SNAPORCH_PHASE", "SNAPORCH_PLUGIN", "SNAPORCH_TASK_ID", "SNAPORCH_RUN_ID",
            "SNAPORCH_DRY_RUN",
        ]
        #expect(!keys.isEmpty && keys.isSubset(of: allowed), "\(keys)")
        let recover = try await RunFixture(tree).recover()
        #expect(recover.code == 0, "\(recover.stdout)\(recover.stderr)")
        #expect(tree.read("post.log") == "x snapshot-taken crash\n")
    }

    @Test func recoverHonoursTheKillGraceOfItsConfig() async throws {
        let tree = TestTree("recov")
        defer { tree.cleanup() }
        let pre = tree.script("etc/app/pre.sh", "echo $PPID > \(tree.path("orch.pid"))")
        // A post that ignores SIGTERM: only SIGKILL, after kill_grace, ends it.
        let post = tree.script("etc/app/post.sh", "trap '' TERM\necho started >> \(tree.path("post.log"))\nsleep 30")
        let config = tree.write(
            TestConfig(
                options: ["kill_grace": "200ms"], plugins: [.script("app", pre: pre, post: post, ["timeout": "1s"])]),
            at: "etc/app/c.yaml")
        var env = tree.environment
        env["SNAPORCH_FAULT_STOP_AT"] = "post"
        try await runAndKill(
            ["run", "--config", config, "--no-freeze", "--no-snapshot"], env: env, pidFile: tree.path("orch.pid"),
            stopped: true)
        let start = Date()
        let fixture = RunFixture(tree)
        let recover = try await fixture.recover(config)
        let elapsed = Date().timeIntervalSince(start)
        #expect(recover.code == 1, "\(recover.stdout)\(recover.stderr)")
        #expect(recover.stdout.contains("post app: timed-out"), "\(recover.stdout)")
        #expect(tree.read("post.log") == "started\n")
        // 1 s timeout + 0.2 s grace; the built-in 5 s grace would take over 6 s.
        #expect(elapsed < 4, "recover took \(elapsed) s: --config's kill_grace was ignored")

        let missing = try await fixture.recover(tree.path("nope.yaml"))
        #expect(missing.code == 2 && missing.stderr.contains("nope.yaml"), "\(missing.stdout)\(missing.stderr)")
    }
}
