import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Scripts that misbehave: a gigabyte of output, deleting themselves, dying by a signal, a process tree.
@Suite(.timeLimit(.minutes(3)))
struct ScriptFaultTests {
    func run(_ body: String, timeout: String = "30s") async throws -> (RunReport, TestTree) {
        let tree = TestTree("sf")
        let script = tree.script("s/pre.sh", body)
        let post = tree.script("s/post.sh", "echo post >> \(tree.path("post.log"))")
        let yaml =
            "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\nkill_grace: 500ms\nplugins:\n  - name: p\n    pre: \(script)\n    post: \(post)\n    timeout: \(timeout)\n"
        let config = try #require(ConfigDecoder(file: "c").decode(Array(yaml.utf8)).config)
        let plan = Planner(environment: [:]).plan(config, options: RunOptions())
        let orchestrator = Orchestrator(
            launcher: PosixProcessLauncher(), freezer: FakeFreezer(), makeProvider: { _ in nil }, journal: nil)
        return (await orchestrator.execute(plan, runId: "sf"), tree)
    }

    @Test func aGigabyteOfOutputIsDrainedAndTailed() async throws {
        let (report, tree) = try await run("head -c 1073741824 /dev/zero; echo; echo LAST-LINE")
        defer { tree.cleanup() }
        let pre = try #require(report.plugins.first?.pre)
        #expect(pre.ok)
        #expect(pre.stdoutTail.hasSuffix("LAST-LINE\n"))
        #expect(pre.stdoutTail.utf8.count <= 64 * 1024)
        #expect(tree.read("post.log") == "post\n")
    }

    /// The report keeps the last 64 KiB of a step's output. A cut that lands inside a secret's
    /// name (`pass|word=X`) leaves a value nothing marks as secret: the kept text starts after the
    /// first line break (or blank) of the tail.
    @Test func aSecretWhoseNameWasCutOffTheTailIsNotShown() async throws {
        // Each stream is 65,540 bytes: the first four ("pass") are cut off.
        let (report, tree) = try await run(
            "printf 'password=TailSecret1 '; head -c 65519 /dev/zero | tr '\\0' x; "
                + "printf 'password=TailSecret2\\n' >&2; head -c 65518 /dev/zero | tr '\\0' y >&2; echo >&2")
        defer { tree.cleanup() }
        let pre = try #require(report.plugins.first?.pre)
        #expect(pre.ok, "\(pre.error ?? "")")
        #expect(!pre.stdoutTail.contains("TailSecret1") && !pre.stderrTail.contains("TailSecret2"))
        #expect(pre.stdoutTail.hasPrefix("xxx") && pre.stdoutTail.utf8.count == 65_536 - 17)
        #expect(pre.stderrTail.hasPrefix("yyy") && pre.stderrTail.hasSuffix("y\n"))
    }

    /// A step asleep in the kernel — writing to a filesystem another tool froze — does not die of
    /// SIGKILL until the thaw: the run gives up on it 2 s after the kill instead of waiting for it
    /// forever, and the post still runs.
    @Test(.enabled(if: TestEnv.rootTests, "needs a loop mount of its own (root)"))
    func aStepThatSigkillCannotEndIsGivenUpOn() async throws {
        try await withFreezeFixture { fx in
            let b = try await fx.loop("b")
            #expect(try await sh("fsfreeze -f \(b.mountPoint)").code == 0)
            let started = ContinuousClock.now
            let (report, tree) = try await run("echo x >> \(b.mountPoint)/f", timeout: "1s")
            defer { tree.cleanup() }
            #expect(ContinuousClock.now - started < .seconds(10))
            let pre = try #require(report.plugins.first?.pre)
            #expect(pre.status == .timedOut)
            #expect(pre.error?.contains("did not die (asleep in the kernel") == true, "\(pre.error ?? "")")
            #expect(tree.read("post.log") == "post\n")
        }
    }

    @Test func aScriptThatDeletesItselfStillCompletesAndItsPostFailsClearly() async throws {
        let (report, tree) = try await run("rm -f \"$0\" \"$(dirname \"$0\")/post.sh\"; echo gone")
        defer { tree.cleanup() }
        #expect(report.plugins[0].pre?.ok == true)
        let post = try #require(report.plugins[0].post)
        #expect(post.status == .failed)
        #expect(
            post.error?.contains("post.sh") == true && post.error?.contains("No such file or directory") == true,
            "\(post.error ?? "")")
    }

    @Test func aScriptKilledByASignalIsReportedAsSuch() async throws {
        let (report, tree) = try await run("kill -KILL $$")
        defer { tree.cleanup() }
        #expect(report.plugins[0].pre?.signal == SIGKILL)
        #expect(report.plugins[0].pre?.error?.contains("killed by signal 9") == true)
    }

    @Test func aHangingProcessTreeIsKilledAsAWhole() async throws {
        let (report, tree) = try await run(
            """
            (sleep 300 & echo $! > $(dirname $0)/grandchild.pid; sleep 300) &
            echo $! > $(dirname $0)/tree.pid; trap '' TERM; while :; do sleep 1; done
            """, timeout: "500ms")
        let pids = ["s/tree.pid", "s/grandchild.pid"].map {
            Int32((tree.read($0) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        defer {
            // Whatever the product did, no `sleep 300` outlives the test.
            for pid in pids where pid > 0 { kill(pid, SIGKILL) }
            tree.cleanup()
        }
        #expect(report.plugins[0].pre?.status == .timedOut)
        #expect(report.plugins[0].pre?.error?.contains("process group was killed") == true)
        try await Task.sleep(for: .milliseconds(200))
        #expect(pids[0] > 0 && !processAlive(pids[0]), "a subshell of the tree survived")
        #expect(pids[1] > 0 && !processAlive(pids[1]), "a grandchild of the tree survived")
    }
}
