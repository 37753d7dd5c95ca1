import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// kill -9 of either side of a split-phase run (issue 17): nothing stays frozen or held beyond the
/// lease, and `end` or `recover` finish the run and say why.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct SplitCrashTests {
    func logger(_ tree: TestTree, _ name: String, log: String, extra: String = "") -> String {
        tree.script("s/\(name).sh", "\(extra)\necho \"$SNAPORCH_PHASE:\(name):${SNAPORCH_OUTCOME:-}\" >> \(log)")
    }

    func lines(_ tree: TestTree, _ file: String) -> [String] {
        (tree.read(file) ?? "").split(separator: "\n").map(String.init)
    }

    /// A tree with one script plugin `a` whose pre, hold, release and post run `extra`, then log
    /// themselves to `order.log`; nothing frozen. `body` gets the tree, its fixture and the config.
    func withLoggingPlugin(
        extra: String = "", _ body: (TestTree, RunFixture, _ config: String) async throws -> Void
    ) async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let a = logger(tree, "a", log: tree.path("order.log"), extra: extra)
        let config = tree.write(TestConfig(freeze: .off, plugins: [.script("a", pre: a, post: a, hold: a, release: a)]))
        try await body(tree, RunFixture(tree), config)
    }

    /// Waits (up to `seconds`) until the write `flag` stands for went through; returns how long that took.
    func landedWithin(_ seconds: Double, _ flag: String) async -> Double? {
        let start = Date()
        let landed = await eventually(within: seconds) { FileManager.default.fileExists(atPath: flag) }
        return landed ? Date().timeIntervalSince(start) : nil
    }

    @Test(arguments: ["end", "recover"])
    func aKilledHolderThawsAtOnceAndEndOrRecoverFinishIt(_ finisher: String) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let a = logger(tree, "a", log: log)
            let b = logger(tree, "b", log: log)
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "20s", mounts: [m.mountPoint]),
                    plugins: [.script("a", pre: a, post: a, hold: a, release: a), .script("b", pre: b, post: b)]))
            let run = RunFixture(tree, freezing: [m])
            let begin = try await run.begin(config, ["--freeze", "--lease", "30s", "--caller", "gce"])
            #expect(begin.code == 0, "\(begin.stderr)")
            let quiesced = try begin.quiesced()
            #expect(quiesced.freeze.mounts.map(\.frozen) == [true])
            // A write started between begin and end waits: the mount is frozen.
            let flag = try await startWriteProbe(m.mountPoint, flags: tree.root)
            try await Task.sleep(for: .milliseconds(300))
            #expect(!FileManager.default.fileExists(atPath: flag), "the mount is not frozen between begin and end")
            kill(quiesced.split.holderPid, SIGKILL)
            // The guard sees its pipe close and thaws at once, long before the lease (and its 20 s timeout).
            let thawed = await landedWithin(5, flag)
            #expect(thawed != nil, "still frozen 5 s after the holder died")
            print(
                "split: holder killed, the blocked write went through after \(String(format: "%.3f", thawed ?? -1)) s")
            let finished = try await run.snaporch([finisher] + (finisher == "end" ? ["--json"] : ["--config", config]))
            #expect(finished.code == (finisher == "end" ? 1 : 0), "\(finished.stderr)\(finished.stdout)")
            #expect(
                lines(tree, "order.log").suffix(3) == [
                    "release:a:no-snapshot", "post:b:no-snapshot", "post:a:no-snapshot",
                ])
            let stored = try #require(run.history(of: quiesced.runId).first)
            #expect(stored.split?.ending == .holderDied && stored.errors.first?.code == .splitHolderDied)
            #expect(stored.errors.first?.message.contains("holder died") == true, "\(stored.errors)")
            if finisher == "recover" {
                #expect(finished.stdout.contains("split run (begun by gce; its holder died)"), "\(finished.stdout)")
                // The run is over; the next `end` collects its report once, then has nothing to do.
                let late = try await run.end()
                #expect(late.code == 1 && late.stderr.contains("the holder died"), "\(late.stderr)")
            } else {
                #expect(try finished.report().split?.ending == .holderDied)
            }
            let nothing = try await run.end()
            #expect(nothing.code == 0 && nothing.stderr.contains("no split run in progress"), "\(nothing.stderr)")
        }
    }

    @Test func aKilledBeginLeavesTheHolderUnderItsLease() async throws {
        // The pre step takes a second: begin is killed while it waits for the quiesce.
        try await withLoggingPlugin(extra: "[ \"$SNAPORCH_PHASE\" = pre ] && sleep 1") { tree, fx, config in
            let env = fx.environment.map { "\($0.key)=\(ShellQuote.quote($0.value))" }.joined(separator: " ")
            // Killed once its holder exists (the holder writes its state first; the pre step then takes
            // a second), not after a fixed sleep: under load a fixed 0.3 s could come before the spawn.
            let stateFile = ShellQuote.quote(fx.splitFiles.state)
            let killed = try await sh(
                "env \(env) \(TestEnv.snaporch) begin --config \(config) --lease 3s >/dev/null 2>&1 & p=$!; "
                    + "for i in $(seq 200); do [ -e \(stateFile) ] && break; sleep 0.05; done; kill -9 $p; wait $p; echo $?"
            )
            #expect(killed.output.hasSuffix("137\n"), "begin was not killed while waiting: \(killed.output)")
            // The holder goes on: it quiesces without its caller, then its lease ends it.
            let files = fx.splitFiles
            #expect(await eventually(within: 10) { files.load(SplitState.self, from: files.state)?.quiescedAt != nil })
            let state = try #require(files.load(SplitState.self, from: files.state))
            #expect(processAlive(state.pid))
            #expect(await eventually(within: 15) { !processAlive(state.pid) }, "the lease did not end the holder")
            #expect(lines(tree, "order.log") == ["pre:a:", "hold:a:", "release:a:", "post:a:no-snapshot"])
            let late = try await fx.end()
            #expect(late.code == 1 && late.stderr.contains("lease expired after 3 s"), "\(late.stderr)")
        }
    }

    @Test func aSignalToTheHolderClosesTheWindowAsNoSnapshot() async throws {
        try await withLoggingPlugin { tree, fx, config in
            let quiesced = try await fx.begin(config, ["--lease", "60s"]).quiesced()
            kill(quiesced.split.holderPid, SIGTERM)
            #expect(await eventually(within: 10) { !processAlive(quiesced.split.holderPid) })
            #expect(lines(tree, "order.log").suffix(2) == ["release:a:", "post:a:no-snapshot"])
            let late = try await fx.end(["--json"])
            #expect(late.code == 1 && late.stderr.contains("interrupted by a signal"), "\(late.stderr)")
            #expect(try late.report().split?.ending == .interrupted)
        }
    }

    @Test func aKilledEndLeavesTheHolderToFinishAndTheNextEndReportsIt() async throws {
        // The post step takes a second: `end` is killed while it waits for the report.
        try await withLoggingPlugin(extra: "[ \"$SNAPORCH_PHASE\" = post ] && sleep 1") { tree, fx, config in
            let quiesced = try await fx.begin(config, ["--lease", "60s"]).quiesced()
            let env = fx.environment.map { "\($0.key)=\(ShellQuote.quote($0.value))" }.joined(separator: " ")
            // Killed once the holder has its message (the release step has logged; the post then takes
            // a second), not after a fixed sleep that load could make too short.
            let killed = try await sh(
                "env \(env) \(TestEnv.snaporch) end >/dev/null 2>&1 & p=$!; for i in $(seq 200); do "
                    + "grep -q '^release:a:' \(ShellQuote.quote(tree.path("order.log"))) 2>/dev/null && break; sleep 0.05; done; "
                    + "kill -9 $p; wait $p; echo $?")
            #expect(killed.output.hasSuffix("137\n"), "end was not killed while waiting: \(killed.output)")
            #expect(await eventually(within: 10) { !processAlive(quiesced.split.holderPid) })
            #expect(lines(tree, "order.log") == ["pre:a:", "hold:a:", "release:a:", "post:a:snapshot-taken"])
            let late = try await fx.end(["--json"])
            #expect(late.code == 0 && late.stderr.contains("ended by `snaporch end`"), "\(late.stderr)")
            #expect(try late.report().runId == quiesced.runId)
        }
    }

    @Test func theNextBeginFinishesASplitRunWhoseHolderDied() async throws {
        try await withLoggingPlugin { tree, fx, config in
            let first = try await fx.begin(config, ["--lease", "60s"]).quiesced()
            kill(first.split.holderPid, SIGKILL)
            #expect(await eventually(within: 5) { !processAlive(first.split.holderPid) })
            let second = try await fx.begin(config, ["--lease", "60s"])
            #expect(second.code == 0, "\(second.stderr)")
            // The dead holder's release and post ran before the new run's pre; its report says why.
            #expect(
                lines(tree, "order.log") == [
                    "pre:a:", "hold:a:", "release:a:no-snapshot", "post:a:no-snapshot", "pre:a:", "hold:a:",
                ])
            let stored = try #require(fx.history(of: first.runId).first)
            #expect(stored.split?.ending == .holderDied, "\(stored.errors)")
            let end = try await fx.end()
            #expect(end.code == 0 && end.stderr.isEmpty == false)
            #expect(try fx.history(of: second.quiesced().runId).count == 1)
        }
    }

    @Test func aPlainRunAfterADeadHolderKeepsThatRunsBooks() async throws {
        try await withLoggingPlugin { tree, fx, config in
            let first = try await fx.begin(config, ["--lease", "60s", "--caller", "vmware"]).quiesced()
            kill(first.split.holderPid, SIGKILL)
            #expect(await eventually(within: 5) { !processAlive(first.split.holderPid) })
            // Not `recover`, not `end`: the next plain run finishes the dead holder's duties first...
            let run = try await fx.snaporch(["run", "--config", config, "--no-freeze", "--no-snapshot"])
            #expect(run.code == 0, "\(run.stderr)")
            #expect(
                lines(tree, "order.log") == [
                    "pre:a:", "hold:a:", "release:a:no-snapshot", "post:a:no-snapshot",
                    "pre:a:", "hold:a:", "release:a:", "post:a:no-snapshot",
                ])
            // ...and that run's report says what happened, with the steps that were recovered.
            let stored = try #require(fx.history(of: first.runId).first)
            #expect(stored.split?.ending == .holderDied && stored.split?.caller == "vmware", "\(stored.errors)")
            #expect(stored.recovered.map(\.plugin).count == 2, "\(stored.recovered)")
            #expect(
                stored.errors.first?.message.contains("ran 2 owed release/post step(s)") == true, "\(stored.errors)")
            // `end` then collects that report once: not "its journal was already finished".
            let end = try await fx.end(["--json"])
            #expect(end.code == 1 && end.stderr.contains("the holder died"), "\(end.stderr)")
            #expect(!end.stderr.contains("already finished"), "\(end.stderr)")
            #expect(try end.report().runId == first.runId)
            let nothing = try await fx.end()
            #expect(nothing.code == 0 && nothing.stderr.contains("no split run in progress"), "\(nothing.stderr)")
        }
    }

    @Test func beginGivesUpOnAHolderThatNeverAnswersAndTellsItToStop() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        // The pre step stops the holder (its parent) before it can answer begin.
        let a = logger(tree, "a", log: log, extra: "[ \"$SNAPORCH_PHASE\" = pre ] && kill -STOP $PPID")
        let config = tree.write(
            TestConfig(
                freeze: .off, options: ["kill_grace": "1s"],
                plugins: [.script("a", pre: a, post: a, ["timeout": "1s"])]))
        let fx = RunFixture(tree)
        let start = Date()
        let begin = try await fx.begin(config, ["--lease", "60s"], timeout: 90)
        let seconds = Date().timeIntervalSince(start)
        // Its deadline: the pre, hold and post budgets (2 s + 2 s with the kill grace) plus 30 s.
        #expect(begin.code == 1 && begin.stderr.contains("did not report within 34 s"), "\(begin.stderr)")
        #expect(seconds > 33 && seconds < 40, "begin waited \(seconds) s")
        let state = try #require(fx.splitFiles.load(SplitState.self, from: fx.splitFiles.state))
        kill(state.pid, SIGCONT)
        // Woken, the holder finds the SIGTERM begin sent: no window, the posts run, it exits.
        #expect(await eventually(within: 10) { !processAlive(state.pid) })
        #expect(lines(tree, "order.log") == ["pre:a:", "post:a:no-snapshot"])
        let stored = try #require(fx.history(of: state.runId).first)
        #expect(stored.reasons.contains { $0.contains("interrupted by signal 15") }, "\(stored.reasons)")
    }
}
