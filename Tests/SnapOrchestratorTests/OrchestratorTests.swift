import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The pipeline with real scripts, freeze and snapshot off (rehearsal) or faked.
@Suite(.timeLimit(.minutes(3)))
struct OrchestratorTests {
    /// A config whose scripts append "phase:name" to a log file.
    func tree(_ plugins: [(String, String)], dropIns: [String] = [], extra: String = "") -> (TestTree, Config) {
        let tree = TestTree("orch")
        let log = tree.path("order.log")
        var yaml = "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\n\(extra)plugins:\n"
        for (name, body) in plugins {
            tree.script("s/\(name)-pre.sh", "echo pre:\(name) >> \(log)\n\(body)")
            tree.script(
                "s/\(name)-post.sh",
                "echo post:\(name) >> \(log); env | grep ^SNAPORCH_ | sort > \(tree.path("env-\(name)"))")
            yaml +=
                "  - name: \(name)\n    pre: \(tree.path("s/\(name)-pre.sh"))\n    post: \(tree.path("s/\(name)-post.sh"))\n"
            if body.contains("#abort") { yaml += "    on_failure: abort\n" }
            if body.contains("#retry2") { yaml += "    retries: 2\n" }
            if body.contains("#timeout") { yaml += "    timeout: 300ms\n" }
        }
        if !dropIns.isEmpty {
            for name in dropIns { tree.script("d/\(name)", "echo $1:\(name) >> \(log)") }
            yaml += "scripts_dir: \(tree.path("d"))\n"
        }
        let (config, diagnostics) = ConfigDecoder(file: "t.yaml").decode(Array(yaml.utf8))
        precondition(config != nil, "\(diagnostics.map(\.rendered))")
        return (tree, config!)
    }

    func execute(_ config: Config, options: RunOptions = RunOptions()) async -> RunReport {
        var options = options
        options.freeze = false
        let plan = Planner(environment: [:]).plan(config, options: options)
        let orchestrator = Orchestrator(
            launcher: PosixProcessLauncher(), freezer: GuardedFreezer(executable: TestEnv.snaporch),
            makeProvider: { _ in nil }, journal: nil)
        return await orchestrator.execute(plan, runId: "r1")
    }

    func order(_ tree: TestTree) -> [String] {
        (tree.read("order.log") ?? "").split(separator: "\n").map(String.init)
    }

    @Test func preInOrderPostInExactReverseWithDropInsLast() async throws {
        let (tree, config) = tree([("a", ""), ("b", ""), ("c", "")], dropIns: ["20-y", "10-x"])
        defer { tree.cleanup() }
        let report = await execute(config)
        #expect(
            order(tree) == [
                "pre:a", "pre:b", "pre:c", "pre:10-x", "pre:20-y", "post:20-y", "post:10-x", "post:c", "post:b",
                "post:a",
            ])
        #expect(report.outcome == .success)
        #expect(report.mode == .rehearsal)
        #expect(report.timeline.map(\.step).first == .pre(plugin: "a"))
    }

    @Test func postRunsForFailedAndTimedOutPre() async throws {
        let (tree, config) = tree([("a", ""), ("b", "exit 3"), ("c", "sleep 5 #timeout")])
        defer { tree.cleanup() }
        let report = await execute(config)
        #expect(order(tree) == ["pre:a", "pre:b", "pre:c", "post:c", "post:b", "post:a"])
        #expect(report.plugins[1].pre?.status == .failed && report.plugins[1].pre?.exitCode == 3)
        #expect(report.plugins[2].pre?.status == .timedOut)
        #expect(report.errors.map(\.code.rawValue).sorted() == [300, 308])
        #expect(report.outcome == .degraded)
        #expect(report.reasons.contains { $0.contains("'b'") })
    }

    @Test func abortStopsThePrePhaseAndRunsPostForTheStarted() async throws {
        let (tree, config) = tree([("a", ""), ("b", "exit 1 #abort"), ("c", "")])
        defer { tree.cleanup() }
        let report = await execute(config)
        #expect(order(tree) == ["pre:a", "pre:b", "post:b", "post:a"])
        #expect(report.outcome == .failed)
        #expect(report.plugins[2].pre == nil && report.plugins[2].post == nil)
        #expect(report.consistency == .none)
    }

    @Test func retriesReallyReRun() async throws {
        let (tree, config) = tree([("a", "f=$(dirname $0)/count; echo x >> $f; [ $(wc -l < $f) -ge 2 ] #retry2")])
        defer { tree.cleanup() }
        let report = await execute(config)
        #expect(report.plugins[0].pre?.attempts == 2)
        #expect(report.plugins[0].pre?.status == .succeeded)
        #expect(order(tree).filter { $0 == "pre:a" }.count == 2)
    }

    @Test func postScriptsLearnTheOutcomeThroughTheEnvironment() async throws {
        let (tree, config) = tree([("a", "")])
        defer { tree.cleanup() }
        var options = RunOptions()
        options.taskId = "task-42"
        _ = await execute(config, options: options)
        let env = tree.read("env-a") ?? ""
        #expect(env.contains("SNAPORCH_PHASE=post\n"))
        #expect(env.contains("SNAPORCH_PLUGIN=a\n"))
        #expect(env.contains("SNAPORCH_TASK_ID=task-42\n"))
        #expect(env.contains("SNAPORCH_RUN_ID=r1\n"))
        #expect(env.contains("SNAPORCH_OUTCOME=no-snapshot\n"))
        #expect(env.contains("SNAPORCH_CONSISTENCY=none\n"))
        #expect(env.contains("SNAPORCH_DRY_RUN=0\n"))
        let deadline =
            env.split(separator: "\n").first { $0.hasPrefix("SNAPORCH_DEADLINE=") }.flatMap { Int64($0.dropFirst(18)) }
            ?? 0
        let now = Int64(Date().timeIntervalSince1970)
        #expect(deadline > now - 5 && deadline <= now + 31)
    }

    @Test func preTimeoutBudgetBoundsThePhase() async throws {
        let (tree, config) = tree([("a", "sleep 2"), ("b", "")], extra: "pre_timeout: 400ms\n")
        defer { tree.cleanup() }
        let report = await execute(config)
        // The script sleeps 2 s and would exit 0: SIGTERM and "timed out" mean the 400 ms budget cut it.
        // (No wall-clock bound: on a loaded 2-core machine that would be a flaky timing test.)
        #expect(report.plugins[0].pre?.signal == SIGTERM)
        #expect(
            report.plugins[0].pre?.error?.contains("timed out after 4") == true
                || report.plugins[0].pre?.error?.contains("timed out after 39") == true)
        #expect(report.plugins[0].pre?.status == .timedOut)
        #expect(report.plugins[1].pre?.status == .skipped)
        #expect(report.errors.contains { $0.code.rawValue == 310 })
        #expect(order(tree) == ["pre:a", "post:a"])
    }

    @Test func secretsInScriptOutputAreRedacted() async throws {
        let (tree, config) = tree([
            ("a", "echo 'uri=https://x.blob/c/d?sv=1&sig=TOPSECRET&se=2' ; echo password=hunter22 >&2")
        ])
        defer { tree.cleanup() }
        let report = await execute(config)
        let json = JSONOutput.encode(report)
        #expect(!json.contains("TOPSECRET") && !json.contains("hunter22"))
        #expect(json.contains("sig=***"))
    }

    @Test func consistencyTable() {
        #expect(Orchestrator.consistency(snapshot: false, freezeOK: true, degraded: false) == .none)
        #expect(Orchestrator.consistency(snapshot: true, freezeOK: false, degraded: false) == .crash)
        #expect(Orchestrator.consistency(snapshot: true, freezeOK: true, degraded: true) == .filesystem)
        #expect(Orchestrator.consistency(snapshot: true, freezeOK: true, degraded: false) == .application)
    }
}
