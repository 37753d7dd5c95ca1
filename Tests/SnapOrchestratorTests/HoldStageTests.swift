import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The hold stage through the binary: holds nest tightly around the freeze window (after every
/// pre, right before the FIFREEZE; released right after the thaw, before every post), a release
/// is owed for every hold that started — by the run and, after a kill, by `recover`.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct HoldStageTests {
    /// A script plugin that logs `phase:name` (and whether the mount is frozen) for each of its steps.
    func logger(_ tree: TestTree, _ name: String, log: String, mount: String, extra: String = "") -> String {
        tree.script(
            "s/\(name).sh",
            """
            state=thawed
            [ "$(timeout 0.3 touch \(mount)/.probe-$SNAPORCH_PHASE 2>&1; echo $?)" = 124 ] && state=frozen
            echo "$SNAPORCH_PHASE:\(name):$state" >> \(log)
            \(extra)
            """)
    }

    func lines(_ tree: TestTree, _ file: String) -> [String] {
        (tree.read(file) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func holdsNestAroundTheWindowAndReleasesComeBeforeEveryPost() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let a = logger(tree, "a", log: log, mount: m.mountPoint)
            let b = logger(tree, "b", log: log, mount: m.mountPoint)
            let snap = tree.script("s/snap.sh", "echo snapshot >> \(log)")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "10s", mounts: [m.mountPoint]), snapshot: .command([snap]),
                    plugins: [.script("a", pre: a, post: a, hold: a, release: a), .script("b", pre: b, post: b)]))
            let r = try await RunFixture(tree, freezing: [m]).run(config, ["--json"])
            #expect(r.code == 0, "\(r.stderr)")
            // The release runs after the thaw: the probe of a hold step sees a thawed mount (the
            // hold runs before the FIFREEZE), and so does the release.
            #expect(
                lines(tree, "order.log") == [
                    "pre:a:thawed", "pre:b:thawed", "hold:a:thawed", "snapshot", "release:a:thawed", "post:b:thawed",
                    "post:a:thawed",
                ])
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.consistency == .application)
            #expect(report.plugins[0].hold?.ok == true && report.plugins[0].release?.ok == true)
            #expect(report.plugins[1].hold == nil && report.plugins[1].release == nil)
            let steps = report.timeline.map(\.step.rawValue)
            let hold = try #require(steps.firstIndex(of: "hold:a"))
            let window = try #require(steps.firstIndex(of: "freeze-window"))
            let release = try #require(steps.firstIndex(of: "release:a"))
            let prepare = try #require(steps.firstIndex(of: "freeze:prepare"))
            #expect(prepare < hold && hold < window && window < release, "\(steps)")
            #expect(release < steps.firstIndex(of: "post:b")!, "\(steps)")
            let entry = report.timeline[hold]
            let frozen = report.timeline[window]
            #expect(entry.endMs <= frozen.startMs, "the hold overlapped the window: \(report.timeline)")
        }
    }

    @Test func aHoldWithoutItsReleaseIsAConfigErrorNamingTheKey() async throws {
        let tree = TestTree("hold")
        defer { tree.cleanup() }
        let a = tree.script("s/a.sh", "true")
        let config = tree.write(
            "c.yaml",
            """
            version: 1
            freeze:
              enabled: false
            snapshot:
              provider: none
            plugins:
              - name: pause
                hold: \(a)
            """)
        let r = try await runCLI(["validate", "--config", config], env: tree.environment)
        #expect(r.code != 0)
        #expect(r.stderr.contains("c.yaml") && r.stderr.contains("'pause' has 'hold' but no 'release'"), "\(r.stderr)")
    }

    @Test func aFailedHoldThatAbortsSkipsTheFreezeAndStillReleasesAndPosts() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let a = logger(tree, "a", log: log, mount: m.mountPoint)
            let b = logger(tree, "b", log: log, mount: m.mountPoint, extra: "[ $SNAPORCH_PHASE != hold ]")
            let snap = tree.script("s/snap.sh", "echo snapshot >> \(log)")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "10s", mounts: [m.mountPoint]), snapshot: .command([snap]),
                    plugins: [
                        .script("a", hold: a, release: a),
                        .script("b", pre: b, post: b, hold: b, release: b, ["on_failure": "abort"]),
                    ]))
            let r = try await RunFixture(tree, freezing: [m]).run(config, ["--json"])
            #expect(r.code != 0)
            #expect(
                lines(tree, "order.log") == [
                    "pre:b:thawed", "hold:a:thawed", "hold:b:thawed", "release:b:thawed", "release:a:thawed",
                    "post:b:thawed",
                ])
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.outcome == .failed && !report.snapshot.taken)
            #expect(report.freeze.mounts.isEmpty, "a mount was frozen after an aborting hold failed")
            #expect(
                report.reasons.contains { $0.contains("hold of 'b' failed (on_failure: abort)") }, "\(report.reasons)")
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
        }
    }

    /// A run that never froze has nothing of its own to thaw: when an aborting hold cancels the
    /// prepared freeze, a mount another tool froze stays frozen (it used to be thawed with
    /// snaporch's own fds, as if the guard had been lost inside a window).
    @Test func aCancelledFreezeLeavesAFreezeThatIsNotOursAlone() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let a = try await fx.loop("a")
            let b = try await fx.loop("b")
            let log = tree.path("order.log")
            let script = logger(tree, "p", log: log, mount: a.mountPoint, extra: "[ $SNAPORCH_PHASE != hold ]")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "10s", mounts: [a.mountPoint, b.mountPoint]), snapshot: .none,
                    plugins: [
                        .script("p", pre: script, post: script, hold: script, release: script, ["on_failure": "abort"])
                    ]
                ))
            #expect(try await sh("fsfreeze -f \(b.mountPoint)").code == 0)
            let r = try await RunFixture(tree, freezing: [a, b]).run(config, ["--json"])
            #expect(r.code != 0)
            #expect(lines(tree, "order.log") == ["pre:p:thawed", "hold:p:thawed", "release:p:thawed", "post:p:thawed"])
            #expect(
                !(await writeCompletes(in: b.mountPoint, within: 0.3)), "snaporch thawed a freeze that was not its own")
            #expect(await writeCompletes(in: a.mountPoint, within: 1))
        }
    }

    @Test func recoverRunsTheOwedReleaseBeforeThePostAfterAKillInsideTheWindow() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let a = logger(
                tree, "a", log: log, mount: m.mountPoint,
                extra: "[ $SNAPORCH_PHASE = pre ] && echo $PPID > \(tree.path("run.pid")); true")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "10s", mounts: [m.mountPoint]), snapshot: .none,
                    plugins: [.script("a", pre: a, post: a, hold: a, release: a)]))
            var env = tree.environment
            env["SNAPORCH_FREEZE_ALLOW"] = m.mountPoint
            env["SNAPORCH_FAULT_STOP_AT"] = "window"
            let runEnv = env
            let run = Task { try await runCLI(["run", "--config", config], env: runEnv) }
            var pid: Int32?
            for _ in 0..<1000 {
                pid = pid ?? tree.read("run.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                if let pid, processState(pid) == "T" { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let orchestrator = try #require(pid, "the run never started")
            #expect(processState(orchestrator) == "T", "the run never stopped inside the window")
            kill(orchestrator, SIGKILL)
            _ = try await run.value
            #expect(lines(tree, "order.log") == ["pre:a:thawed", "hold:a:thawed"])
            env["SNAPORCH_FAULT_STOP_AT"] = nil
            let r = try await runCLI(["recover", "--config", config, "--json"], env: env)
            #expect(r.code == 0, "\(r.stderr)")
            #expect(
                lines(tree, "order.log") == ["pre:a:thawed", "hold:a:thawed", "release:a:thawed", "post:a:thawed"],
                "recover must release before the post")
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
        }
    }

    /// A hold script still running when the run is killed is stopped by `recover` (as a pre script
    /// is): a pause left behind would keep the application paused. Then the release and post run.
    @Test func recoverStopsAHoldScriptLeftByAKilledRun() async throws {
        let tree = TestTree("hold")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        let hold = tree.script(
            "s/hold.sh", "echo $PPID > \(tree.path("run.pid")); echo $$ > \(tree.path("hold.pid")); exec sleep 60")
        let resume = tree.script("s/release.sh", "echo $SNAPORCH_PHASE >> \(log)")
        let config = tree.write(TestConfig(plugins: [.script("a", hold: hold, release: resume)]))
        let run = Task { try await RunFixture(tree).run(config) }
        let orchestrator = try await waitForPid(in: tree.path("run.pid"))
        let paused = try await waitForPid(in: tree.path("hold.pid"))
        defer { if processAlive(paused) { kill(paused, SIGKILL) } }  // also when an expectation fails
        kill(orchestrator, SIGKILL)
        _ = try await run.value
        #expect(processAlive(paused), "the hold script must outlive the killed run for this test to mean anything")
        let r = try await RunFixture(tree).recover(config)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(!processAlive(paused), "recover left the hold script of the killed run running")
        #expect(lines(tree, "order.log") == ["release"])
    }
}
