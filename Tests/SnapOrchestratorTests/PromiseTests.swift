import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Promises of the README checked as properties through the `snaporch` binary against real loop
/// mounts, each independently of the other suites: the mutation review found bugs that no test
/// caught (the consistency verdict after a failed pre, the sync before the window) and bugs that
/// only one assertion caught (the guard's own deadline, retries, masking, the run lock).
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct PromiseTests {
    /// A pre that fails under `on_failure: continue` with a real freeze and a real snapshot is
    /// `filesystem`-consistent, exit 3, and every post learns that verdict.
    @Test func failedPreUnderContinueWithAFrozenSnapshotIsFilesystemConsistent() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let good = tree.script("s/good.sh", "echo $SNAPORCH_PHASE good $SNAPORCH_CONSISTENCY >> \(log)")
            let bad = tree.script("s/bad.sh", "echo $SNAPORCH_PHASE bad $SNAPORCH_CONSISTENCY >> \(log); exit 7")
            let badPost = tree.script("s/bad-post.sh", "echo post bad $SNAPORCH_CONSISTENCY >> \(log)")
            let snap = tree.script("s/snap.sh", "echo '{\"disk\": \"lv0\", \"snapshot\": \"s1\"}'")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "5s"), snapshot: .command([snap]),
                    plugins: [
                        .script("good", pre: good, post: good),
                        .script("flaky", pre: bad, post: badPost, ["on_failure": "continue"]),
                    ]))
            let r = try await RunFixture(tree, freezing: [m]).run(config, ["--mount", m.mountPoint, "--json"])
            #expect(r.code == 3, "\(r.stderr)")
            let report = try r.report()
            #expect(report.snapshot.taken)
            #expect(report.freeze.mounts.allSatisfy { $0.frozen && $0.thawed })
            #expect(report.consistency == .filesystem, "a failed pre must downgrade the verdict")
            #expect(report.outcome == .degraded)
            #expect(report.reasons.contains { $0.contains("flaky") }, "the downgrade must name the plugin")
            #expect(StatusMapper.consistencyNumber(report.consistency) == 1)
            #expect(
                tree.read("order.log")
                    == "pre good\npre bad\npost bad filesystem\npost good filesystem\n")
            #expect(r.stderr.contains("filesystem"))
        }
    }

    /// Data written with plain write(2), never fsynced, is on the disk image after the preparation
    /// step and before the first FIFREEZE: the window never waits for writeback.
    @Test func dirtyDataReachesTheImageBeforeTheFirstFreeze() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop(sizeMB: 64)
            let marker = "snaporch-dirty-marker-\(UInt64.random(in: 0...UInt64.max))"
            let payload = String(repeating: marker + "\n", count: 4096)
            let fd = open(m.mountPoint + "/dirty.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            try #require(fd >= 0)
            let written = payload.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            try #require(written == payload.utf8.count)
            try #require(!imageContains(m.image, marker), "writeback happened before the test could observe it")
            let pidFile = tree.path("pid")
            let pre = tree.script("s/pre.sh", "echo $PPID > \(pidFile)")
            let config = tree.write(
                TestConfig(freeze: .on(timeout: "5s"), plugins: [.script("app", pre: pre)]))
            let run = Task {
                try await RunFixture(tree, freezing: [m]).run(
                    config, ["--mount", m.mountPoint], env: ["SNAPORCH_FAULT_STOP_AT": "before-freeze"])
            }
            let pid = try await waitForPid(in: pidFile)
            defer { kill(pid, SIGCONT) }
            try await waitUntilStopped(pid)
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "stopped before the freeze, yet frozen")
            #expect(imageContains(m.image, marker), "dirty data was not written back before the freeze")
            kill(pid, SIGCONT)
            let r = try await run.value
            #expect(r.code == 0, "\(r.stderr)")
        }
    }

    /// A stopped orchestrator (its watcher threads stopped with it) cannot thaw: the guard alone
    /// must thaw at `freeze.timeout`, and the run, once continued, says the deadline was hit. The
    /// guard's report arrived in time, so it is read even though the watcher wakes up past its own
    /// limit (`guard-watch`: stopped before its first read, as a busy machine can schedule it).
    @Test(arguments: ["window", "guard-watch"])
    func guardThawsAtItsDeadlineWhileTheOrchestratorIsStopped(stopAt: String) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let pidFile = tree.path("pid")
            let pre = tree.script("s/pre.sh", "echo $PPID > \(pidFile)")
            // A snapshot call that keeps the window open until the process has stopped (at `guard-watch`
            // the watcher thread stops it, and the thaw must not come first).
            let snap = tree.script("s/snap.sh", "sleep 0.5; echo '{\"disk\": \"lv0\", \"snapshot\": \"s1\"}'")
            let config = tree.write(
                TestConfig(freeze: .on(timeout: "1s"), snapshot: .command([snap]), plugins: [.script("app", pre: pre)]))
            let run = Task {
                try await RunFixture(tree, freezing: [m]).run(
                    config, ["--mount", m.mountPoint, "--json"], env: ["SNAPORCH_FAULT_STOP_AT": stopAt])
            }
            let pid = try await waitForPid(in: pidFile)
            defer { kill(pid, SIGCONT) }
            try await waitUntilStopped(pid)
            #expect(await writeCompletes(in: m.mountPoint, within: 3), "the guard did not thaw at its deadline")
            // Past the watcher's own limit (timeout + 0.5 s) before it runs again.
            try await Task.sleep(for: .milliseconds(800))
            kill(pid, SIGCONT)
            let report = try await run.value.report()
            #expect(report.freeze.deadlineHit == true)
            #expect(report.errors.contains { $0.code == .fsFreezeTimeout })
            #expect(!report.errors.contains { $0.code == .fsFreezeFailed }, "\(report.errors)")
            // The guard itself thawed (the watchdog and snaporch's own fds are only the fallbacks).
            #expect(
                report.freeze.error?.contains("thawed by the guard") == true, "\(report.freeze.error ?? "no error")")
            #expect(report.freeze.mounts.allSatisfy { !$0.frozen || $0.thawed })
        }
    }

    /// While one run holds the lock (stopped in its pre step), a second run and `recover` are
    /// refused and run nothing; after the holder finishes, the next run goes through.
    @Test func aRunHoldingTheLockExcludesEveryOtherRun() async throws {
        let tree = TestTree("lock")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        let pidFile = tree.path("pid")
        let pre = tree.script("s/pre.sh", "echo $PPID > \(pidFile); echo pre $SNAPORCH_RUN_ID >> \(log)")
        let config = tree.write(TestConfig(plugins: [.script("app", pre: pre)]))
        let fixture = RunFixture(tree)
        // The fault point stops the first run before its first pre; the pid comes from a probe run.
        let first = Task { try await fixture.run(config, ["--no-snapshot"], env: ["SNAPORCH_FAULT_STOP_AT": "pre"]) }
        let holder = try await waitForStoppedSnaporch(root: tree.root)
        defer { kill(holder, SIGCONT) }
        let second = try await fixture.run(config, ["--no-snapshot"])
        #expect(second.code == 1)
        #expect(second.stderr.contains("holds the lock") && second.stderr.contains("\(holder)"))
        let recover = try await fixture.recover()
        #expect(recover.code != 0, "recover must not act under a live run's lock")
        #expect(tree.read("order.log") == nil, "a refused run executed a step")
        kill(holder, SIGCONT)
        #expect(try await first.value.code == 0)
        let third = try await fixture.run(config, ["--no-snapshot"])
        #expect(third.code == 0, "\(third.stderr)")
        #expect(tree.read("order.log")?.split(separator: "\n").count == 2)
    }

    // MARK: helpers

    /// Whether the raw image file (the loop device's backing store) holds `marker`.
    func imageContains(_ image: String, _ marker: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: image) else { return false }
        return data.range(of: Data(marker.utf8)) != nil
    }
}

/// Waits until process `pid` is in the stopped state (`T` in /proc/PID/stat).
func waitUntilStopped(_ pid: Int32, timeout: Double = 20) async throws {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if processState(pid) == "T" { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TestFailure("process \(pid) did not stop")
}

/// The state letter of `/proc/PID/stat`, if the process exists.
func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2
    else { return nil }
    return stat[stat.index(close, offsetBy: 2)]
}

/// The pid of a stopped `snaporch` process (a run, a split holder) whose environment names `root` as its `SNAPORCH_ROOT`.
func waitForStoppedSnaporch(root: String, timeout: Double = 20) async throws -> Int32 {
    let end = Date().addingTimeInterval(timeout)
    let needle = Data("SNAPORCH_ROOT=\(root)\0".utf8)
    while Date() < end {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), processState(pid) == "T",
                let environ = FileManager.default.contents(atPath: "/proc/\(name)/environ"),
                environ.range(of: needle) != nil
            else { continue }
            return pid
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("no stopped snaporch under \(root)")
}

/// Promises that need no freeze, checked through the binary in rehearsals.
@Suite(.timeLimit(.minutes(2)))
struct RehearsalPromiseTests {
    /// A retry really runs the script again: the script's own count of its runs is the proof.
    @Test(arguments: [(retries: 2, succeeds: true), (retries: 1, succeeds: false)])
    func retriesRunTheScriptAgain(retries: Int, succeeds: Bool) async throws {
        let tree = TestTree("retry")
        defer { tree.cleanup() }
        let count = tree.path("count")
        // Fails on its first two runs, succeeds on the third.
        let pre = tree.script(
            "s/pre.sh", "n=$(cat \(count) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(count); [ $n -ge 3 ]")
        let config = tree.write(TestConfig(plugins: [.script("app", pre: pre, ["retries": "\(retries)"])]))
        let report = try await RunFixture(tree).run(config, ["--json"]).report()
        let step = try #require(report.plugins.first?.pre)
        #expect(tree.read("count") == "\(retries + 1)\n", "the script ran \(tree.read("count") ?? "0") times")
        #expect(step.attempts == retries + 1)
        #expect((step.status == .succeeded) == succeeds)
    }

    /// A SAS signature given on the command line or printed by a script appears nowhere: not in
    /// the plan, the summary, the report, the stored report or the history.
    @Test func sasSignaturesNeverReachAnythingAnAdminReads() async throws {
        let tree = TestTree("mask")
        defer { tree.cleanup() }
        let secret = "S3cr3tSig\(UInt32.random(in: 0...UInt32.max))"
        let uri = "https://acct.blob.core.windows.net/vhds/d0.vhd?sv=2021-08-06&sr=b&sp=rw&sig=\(secret)"
        // A second SAS that is no disk of this run: masked by its shape, not by a known literal.
        let other = "Other\(UInt32.random(in: 0...UInt32.max))Sig"
        let foreign = "https://acct.blob.core.windows.net/logs/x.log?sv=2021-08-06&sp=w&sig=\(other)"
        let pre = tree.script(
            "s/pre.sh", "echo 'copying \(uri)'; echo 'retry \(uri)' >&2; echo 'log to \(foreign)'")
        let config = tree.write(TestConfig(snapshot: .blob(), plugins: [.script("app", pre: pre)]))
        let diskFile = tree.write("disk.sas", uri + "\n", mode: 0o600)
        let fixture = RunFixture(tree)
        let plan = try await fixture.run(config, ["--dry-run", "--disk", "@" + diskFile])
        let rehearsal = try await fixture.run(config, ["--no-snapshot", "--disk", "@" + diskFile, "--json"])
        #expect(rehearsal.stdout.contains("\"plugins\""), "\(rehearsal.stderr)")
        var texts = [plan.stdout, plan.stderr, rehearsal.stdout, rehearsal.stderr]
        let state = tree.path("var/lib/snaporch")
        for file in (FileManager.default.enumerator(atPath: state)?.allObjects as? [String]) ?? [] {
            if let text = try? String(contentsOfFile: state + "/" + file, encoding: .utf8) { texts.append(text) }
        }
        #expect(texts.count > 4, "no stored report was found")
        for text in texts {
            #expect(!text.contains(secret), "the SAS signature leaked: \(text.prefix(300))")
            #expect(!text.contains(other), "a foreign SAS signature leaked: \(text.prefix(300))")
        }
    }
}
