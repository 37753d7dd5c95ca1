import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Split-phase runs through the binary (issue 17): `begin` quiesces and returns, a detached holder
/// keeps the holds (and the freeze) until `end` or the lease, `end` finishes the run like `run`.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct SplitRunTests {
    /// A script that logs `phase:name:outcome` to `log`.
    func logger(_ tree: TestTree, _ name: String, log: String, extra: String = "") -> String {
        tree.script("s/\(name).sh", "echo \"$SNAPORCH_PHASE:\(name):${SNAPORCH_OUTCOME:-}\" >> \(log)\n\(extra)")
    }

    func lines(_ tree: TestTree, _ file: String) -> [String] {
        (tree.read(file) ?? "").split(separator: "\n").map(String.init)
    }

    /// Two script plugins (the first with a hold), no freeze of ours, the platform snapshots.
    func twoPlugins(_ tree: TestTree, log: String, options: KeyValuePairs<String, String> = [:]) -> String {
        let a = logger(tree, "a", log: log)
        let b = logger(tree, "b", log: log)
        return tree.write(
            TestConfig(
                freeze: .off, options: options,
                plugins: [.script("a", pre: a, post: a, hold: a, release: a), .script("b", pre: b, post: b)]))
    }

    @Test func beginQuiescesEndFinishesInReverseWithOneReport() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        let config = twoPlugins(tree, log: log)
        let fx = RunFixture(tree)
        let begin = try await fx.begin(config, ["--platform-freezes", "--caller", "qemu-ga"])
        #expect(begin.code == 0, "\(begin.stderr)")
        let quiesced = try begin.quiesced()
        #expect(quiesced.split.caller == "qemu-ga" && quiesced.split.bound == .lease && !quiesced.degraded)
        #expect(quiesced.plugins[0].hold?.ok == true && quiesced.plugins[1].pre?.ok == true)
        // The holder holds: pre and hold ran, nothing else; it is alive after begin returned.
        #expect(lines(tree, "order.log") == ["pre:a:", "pre:b:", "hold:a:"])
        #expect(processAlive(quiesced.split.holderPid))
        let end = try await fx.end(["--json"])
        #expect(end.code == 0, "\(end.stderr)")
        let report = try end.report()
        #expect(report.runId == quiesced.runId && report.outcome == .success)
        #expect(report.consistency == .application, "\(report.reasons)")
        #expect(report.snapshot.provider == .platform && report.snapshot.taken)
        #expect(report.split?.ending == .end && report.split?.caller == "qemu-ga")
        #expect(
            lines(tree, "order.log") == [
                "pre:a:", "pre:b:", "hold:a:", "release:a:", "post:b:snapshot-taken", "post:a:snapshot-taken",
            ])
        #expect(fx.history(of: report.runId).count == 1)
        #expect(await eventually(within: 5) { !processAlive(quiesced.split.holderPid) })
        // Nothing left: a second end is a no-op.
        let again = try await fx.end()
        #expect(again.code == 0 && again.stderr.contains("no split run in progress"), "\(again.stderr)")
    }

    /// Clients that connect to the control socket and never send a line cannot stretch the window
    /// past the lease (each silent client used to hold the wait for 2 s).
    @Test func silentClientsOnTheControlSocketDoNotStretchTheLease() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let config = twoPlugins(tree, log: tree.path("order.log"))
        let fx = RunFixture(tree)
        let quiesced = try await fx.begin(config, ["--lease", "1s"]).quiesced()
        let socket = ShellQuote.quote(fx.splitFiles.socket)
        // Four silent connections, one after another, each held open for 3 s.
        let clients = Task {
            try await sh(
                "for i in 1 2 3 4; do python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); "
                    + "s.connect(sys.argv[1]); time.sleep(3)' \(socket) & sleep 0.1; done; wait", timeout: 30)
        }
        #expect(await eventually(within: 15) { !processAlive(quiesced.split.holderPid) })
        _ = try await clients.value
        let stored = try #require(fx.history(of: quiesced.runId).first)
        #expect(stored.split?.ending == .leaseExpired)
        let held = try #require(stored.split?.heldMs)
        #expect(held < 1700, "the window was held \(held) ms against a 1 s lease")
    }

    @Test func theLeaseReleasesEverythingAndALateEndSaysSo() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        let config = twoPlugins(tree, log: log, options: ["split": "{lease: 30s}"])
        let fx = RunFixture(tree)
        let begin = try await fx.begin(config, ["--lease", "2s"])
        #expect(begin.code == 0, "\(begin.stderr)")
        let quiesced = try begin.quiesced()
        #expect(quiesced.split.leaseMs == 2000)
        #expect(await eventually(within: 15) { !processAlive(quiesced.split.holderPid) })
        #expect(
            lines(tree, "order.log") == [
                "pre:a:", "pre:b:", "hold:a:", "release:a:", "post:b:no-snapshot", "post:a:no-snapshot",
            ])
        let stored = try #require(fx.history(of: quiesced.runId).first)
        #expect(stored.outcome == .failed && stored.split?.ending == .leaseExpired)
        #expect(stored.errors.contains { $0.code == .splitLeaseExpired }, "\(stored.errors)")
        #expect(stored.reasons.contains { $0.contains("lease expired: `end` did not come within 2 s") })
        let late = try await fx.end(["--json"])
        #expect(late.code == 1, "\(late.stderr)")
        #expect(late.stderr.contains("already ended at") && late.stderr.contains("lease expired after 2 s"))
        #expect(try late.report().runId == quiesced.runId)
        let again = try await fx.end()
        #expect(again.code == 0 && again.stderr.contains("no split run in progress"))
    }

    @Test func endWithoutBeginIsANoOpAndASecondBeginIsRefused() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let config = twoPlugins(tree, log: tree.path("order.log"))
        let fx = RunFixture(tree)
        let nothing = try await fx.end()
        #expect(nothing.code == 0 && nothing.stderr == "snaporch end: no split run in progress: nothing to end\n")
        let first = try await fx.begin(config, ["--lease", "60s"])
        let quiesced = try first.quiesced()
        let second = try await fx.begin(config)
        #expect(second.code == 1)
        #expect(second.stderr.contains("another split run is in progress"), "\(second.stderr)")
        #expect(
            second.stderr.contains("holder pid \(quiesced.split.holderPid)") && second.stderr.contains("lease ends"))
        let run = try await fx.run(config)
        #expect(run.code == 1 && run.stderr.contains("the lock is held by a split run"), "\(run.stderr)")
        let recover = try await fx.recover(config)
        #expect(
            recover.code == 1 && recover.stderr.contains("holder pid \(quiesced.split.holderPid)"), "\(recover.stderr)")
        let end = try await fx.end()
        #expect(end.code == 0, "without a freeze asked for, crash-consistent is the best: \(end.stderr)")
        #expect(fx.history(of: quiesced.runId).count == 1)
    }

    @Test func aFailingAbortPreEndsBeginWithItsReportAndNothingHeld() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        let a = logger(tree, "a", log: log)
        let bad = logger(tree, "bad", log: log, extra: "exit 4")
        let config = tree.write(
            TestConfig(
                freeze: .off,
                plugins: [
                    .script("a", pre: a, post: a, hold: a, release: a),
                    .script("bad", pre: bad, post: bad, ["on_failure": "abort"]),
                ]))
        let fx = RunFixture(tree)
        let begin = try await fx.begin(config)
        #expect(begin.code == 1, "\(begin.stderr)")
        #expect(begin.stderr.contains("ended before the system was quiesced"))
        let report = try begin.report()
        #expect(report.outcome == .failed && report.split?.ending == .notQuiesced)
        #expect(lines(tree, "order.log") == ["pre:a:", "pre:bad:", "post:bad:no-snapshot", "post:a:no-snapshot"])
        #expect(!FileManager.default.fileExists(atPath: fx.splitFiles.state))
        let end = try await fx.end()
        #expect(end.code == 0 && end.stderr.contains("no split run in progress"), "\(end.stderr)")
    }

    @Test func theHolderKeepsNoDescriptorOfTheCaller() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let config = twoPlugins(tree, log: tree.path("order.log"))
        let fx = RunFixture(tree)
        // Like qemu-ga: stdout and stderr on a pipe read to EOF. A holder that kept either would
        // hold `cat` open until its lease (30 s) ends.
        let env = fx.environment.map { "\($0.key)=\(ShellQuote.quote($0.value))" }.joined(separator: " ")
        let start = Date()
        let r = try await sh(
            "env \(env) \(TestEnv.snaporch) begin --config \(config) --lease 30s --json 2>&1 | cat", timeout: 60)
        let seconds = Date().timeIntervalSince(start)
        #expect(seconds < 10, "begin | cat took \(seconds) s: the holder kept the pipe")
        let json = try #require(r.output.firstIndex(of: "{"))
        let quiesced = try JSONDecoder().decode(QuiescedReport.self, from: Data(r.output[json...].utf8))
        #expect(processAlive(quiesced.split.holderPid))
        // Its standard descriptors: /dev/null in, the holder log out.
        let fd = { (n: Int) in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(quiesced.split.holderPid)/fd/\(n)"))
                ?? ""
        }
        let targets = [fd(0), fd(1), fd(2)]
        #expect(targets == ["/dev/null", fx.splitFiles.log, fx.splitFiles.log], "\(targets)")
        // A session (and so a process group) of its own: killing the caller's group spares it.
        let stat = ProcFile.text("/proc/\(quiesced.split.holderPid)/stat") ?? ""
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        #expect(fields[2] == "\(quiesced.split.holderPid)" && fields[3] == "\(quiesced.split.holderPid)", "\(stat)")
        let end = try await fx.end()
        #expect(end.code == 0, "\(end.stderr)")
        print("split: begin | cat returned in \(String(format: "%.3f", seconds)) s")
    }

    @Test func beginFreezesUntilEndAndTheWindowIsTheShorterOfLeaseAndFreezeTimeout() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let a = logger(tree, "a", log: log)
            let plugins: [TestPlugin] = [.script("a", pre: a, post: a, hold: a, release: a)]
            let run = RunFixture(tree, freezing: [m])
            let config = tree.write(TestConfig(freeze: .on(timeout: "20s", mounts: [m.mountPoint]), plugins: plugins))
            let quiesced = try await run.begin(config, ["--freeze", "--lease", "10s"]).quiesced()
            #expect(quiesced.split.bound == .lease && quiesced.split.windowMs == 10_000)
            #expect(quiesced.freeze.mounts.map(\.frozen) == [true])
            let flag = try await startWriteProbe(m.mountPoint, flags: tree.root)
            try await Task.sleep(for: .milliseconds(300))
            #expect(!FileManager.default.fileExists(atPath: flag), "not frozen between begin and end")
            let end = try await run.end(["--json"])
            #expect(end.code == 0, "\(end.stderr)")
            let report = try end.report()
            #expect(report.consistency == .application && report.freeze.mounts.map(\.thawed) == [true])
            #expect((report.freeze.windowMs ?? 0) >= 300, "the window spans begin to end: \(report.freeze)")
            #expect(await eventually(within: 5) { FileManager.default.fileExists(atPath: flag) })
            // freeze.timeout (2 s) shorter than the lease: it bounds the window, and says so.
            let short = tree.write(
                TestConfig(freeze: .on(timeout: "2s", mounts: [m.mountPoint]), plugins: plugins), at: "short.yaml")
            let bounded = try await run.begin(short, ["--freeze", "--lease", "60s"]).quiesced()
            #expect(bounded.split.bound == .freezeTimeout && bounded.split.windowMs == 2000)
            #expect(await eventually(within: 10) { !processAlive(bounded.split.holderPid) })
            let stored = try #require(run.history(of: bounded.runId).first)
            #expect(stored.split?.ending == .leaseExpired && stored.freeze.mounts.map(\.thawed) == [true])
            #expect(
                stored.reasons.contains { $0.contains("within freeze.timeout (2 s, shorter than the lease)") },
                "\(stored.reasons)")
            #expect(try await !writeBlocks(m.mountPoint, flags: tree.root))
        }
    }

    @Test func aLeaseThatExpiresUnderAPlatformFreezeKeepsTheReportUnderRun() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let config = twoPlugins(tree, log: tree.path("order.log"))
        let fx = RunFixture(tree)
        let quiesced = try await fx.begin(config, ["--platform-freezes", "--caller", "vmware", "--lease", "1s"])
            .quiesced()
        #expect(await eventually(within: 10) { !processAlive(quiesced.split.holderPid) })
        // The platform may still have /var/lib frozen: nothing went there; the report waits in /run.
        #expect(fx.history(of: quiesced.runId).isEmpty)
        let pending = fx.splitFiles.pending + "/\(quiesced.runId).json"
        #expect(FileManager.default.fileExists(atPath: pending))
        let late = try await fx.end()
        #expect(late.code == 1 && late.stderr.contains("lease expired after 1 s"), "\(late.stderr)")
        #expect(fx.history(of: quiesced.runId).count == 1, "the late end stores the pending report")
        #expect(!FileManager.default.fileExists(atPath: pending))
    }

    @Test func aDegradedQuiesceExitsThreeAndAFailedPlatformSnapshotTellsThePosts() async throws {
        let tree = TestTree("split")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        let a = logger(tree, "a", log: log)
        let weak = logger(tree, "weak", log: log, extra: "[ \"$SNAPORCH_PHASE\" = pre ] && exit 3")
        let config = tree.write(
            TestConfig(
                freeze: .off,
                plugins: [.script("a", pre: a, post: a), .script("weak", pre: weak, post: weak)]))
        let fx = RunFixture(tree)
        let begin = try await fx.begin(config, ["--platform-freezes"])
        #expect(begin.code == 3, "\(begin.stderr)")
        let quiesced = try begin.quiesced()
        #expect(quiesced.state == "degraded" && quiesced.plugins[1].pre?.status == .failed)
        let end = try await fx.end(["--snapshot-failed", "the host ran out of space", "--json"])
        #expect(end.code == 1, "\(end.stderr)")
        let report = try end.report()
        #expect(report.split?.ending == .snapshotFailed)
        #expect(report.split?.snapshotFailedReason == "the host ran out of space")
        #expect(
            report.errors.contains { $0.code == .splitPlatformSnapshotFailed && $0.message.contains("out of space") })
        #expect(lines(tree, "order.log").suffix(2) == ["post:weak:no-snapshot", "post:a:no-snapshot"])
    }
}
