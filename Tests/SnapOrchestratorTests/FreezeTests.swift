import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The freeze window against real loop-mounted ext4 images that the tests create themselves.
/// Nothing else is ever frozen: every test names its loop mounts explicitly and sets the allow-list.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct FreezeTests {
    func entries(_ mounts: [LoopMount]) -> [MountEntry] {
        let all = MountTable.entries()
        return mounts.map { m in all.last { $0.mountPoint == m.mountPoint }! }
    }

    @Test func writerBlocksInsideTheWindowAndCompletesAfterThaw() async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            try "before".write(toFile: m.mountPoint + "/r.txt", atomically: false, encoding: .utf8)
            let session = try GuardedFreezer(executable: TestEnv.snaporch).prepare(entries([m]), timeout: .seconds(10))
            let results = await offload { session.freeze() }
            #expect(results.map(\.errno) == [0])
            let blocked = await writeCompletes(in: m.mountPoint, within: 0.5)
            #expect(!blocked, "a write went through while frozen")
            #expect(
                (try? String(contentsOfFile: m.mountPoint + "/r.txt", encoding: .utf8)) == "before", "reads must work")
            let thaw = await offload { session.thaw() }
            await offload { session.finish() }
            #expect(thaw.results[m.mountPoint] == 0 && !thaw.deadlineHit && !thaw.guardLost)
            #expect(thaw.windowMicros > 400_000)
            #expect(await writeCompletes(in: m.mountPoint, within: 2))
        }
    }

    @Test func guardThawsByItselfAtTheDeadline() async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            let session = try GuardedFreezer(executable: TestEnv.snaporch).prepare(
                entries([m]), timeout: .milliseconds(400))
            _ = await offload { session.freeze() }
            try await Task.sleep(for: .milliseconds(900))
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "still frozen after the deadline")
            let thaw = await offload { session.thaw() }
            await offload { session.finish() }
            #expect(thaw.deadlineHit)
            #expect(!thaw.guardLost)
            #expect(thaw.windowMicros >= 400_000 && thaw.windowMicros < 3_000_000)
        }
    }

    @Test func killingTheGuardMakesTheOrchestratorThaw() async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            let session = try GuardedFreezer(executable: TestEnv.snaporch).prepare(entries([m]), timeout: .seconds(20))
            _ = await offload { session.freeze() }
            let guardPid = try #require(findGuard(for: m.mountPoint))
            kill(guardPid, SIGKILL)
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "not thawed within 1 s of the guard's death")
            let thaw = await offload { session.thaw() }
            await offload { session.finish() }
            #expect(thaw.guardLost)
            #expect(thaw.results[m.mountPoint] == 0)
        }
    }

    @Test func fullRunIsApplicationConsistent() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let a = try await fx.loop("a")
            let b = try await fx.loop("with space")
            let config = writeConfig(
                tree, snapshot: "echo '{\"disk\": \"lv0\", \"snapshot\": \"snap-1\"}'", timeout: "5s")
            let rcuBefore = rcuExpedited()
            let r = try await runCLI(
                ["run", "--config", config, "--mount", a.mountPoint, "--mount", b.mountPoint, "--json"],
                env: env(tree, [a, b]))
            #expect(r.code == 0, "\(r.stderr)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.consistency == .application && report.outcome == .success)
            #expect(report.freeze.mounts.map(\.mountPoint) == [b.mountPoint, a.mountPoint])
            #expect(report.freeze.mounts.allSatisfy { $0.frozen && $0.thawed })
            #expect(report.snapshot.disks.first?.snapshot == "snap-1")
            #expect((report.freeze.windowMs ?? 0) > 0 && (report.freeze.windowMs ?? 99_999) < 5000)
            #expect(tree.read("order.log") == "pre\nsnapshot\npost snapshot-taken application\n")
            #expect(rcuExpedited() == rcuBefore, "the RCU knob was not restored")
            #expect(r.stderr.contains("SUCCESS — consistency: application"))
        }
    }

    @Test func killMinus9InsideTheWindowThawsWithinOneSecondAndRecoverRunsPost() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let marker = tree.path("in-window")
            let config = writeConfig(tree, snapshot: "echo $PPID $$ > \(marker); sleep 30", timeout: "20s")
            let run = Task {
                try await runCLI(["run", "--config", config, "--mount", m.mountPoint], env: env(tree, [m]))
            }
            let pids = try await waitForFile(marker).split(separator: " ").compactMap { Int32($0) }
            try #require(pids.count == 2)
            kill(pids[0], SIGKILL)
            let start = Date()
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "still frozen 1 s after kill -9")
            let elapsed = Date().timeIntervalSince(start)
            kill(pids[1], SIGKILL)
            let result = try await run.value
            #expect(result.status == .signaled(SIGKILL))
            #expect(elapsed < 1)
            // The journal owes the post step: `snaporch recover` runs it.
            let rec = try await runCLI(["recover"], env: env(tree, [m]))
            #expect(rec.code == 0, "\(rec.stdout)\(rec.stderr)")
            #expect(rec.stdout.contains("post app: succeeded"))
            #expect(tree.read("order.log")?.hasSuffix("post no-snapshot none\n") == true)
        }
    }

    @Test func deadlineCutsAHangingSnapshotAndDowngrades() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let config = writeConfig(tree, snapshot: "sleep 30", timeout: "1s")
            let start = Date()
            let r = try await runCLI(
                ["run", "--config", config, "--mount", m.mountPoint, "--json"], env: env(tree, [m]))
            #expect(Date().timeIntervalSince(start) < 6)
            #expect(r.code == 1)
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.consistency == .none && report.outcome == .failed)
            #expect((report.freeze.windowMs ?? 0) <= 2500, "window \(report.freeze.windowMs ?? -1) ms")
            // A command cut at the deadline is the command's failure (2), not "no network" (76).
            #expect(report.errors.contains { $0.code == .generic })
            #expect(!report.errors.contains { $0.code.rawValue == 76 })
            #expect(tree.read("order.log")?.hasSuffix("post no-snapshot none\n") == true)
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
        }
    }

    @Test func bindMountIsFrozenOnceAndTmpfsIsSkippedWithItsReason() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            try await m.bind(at: tree.path("bind"))
            let tmp = try await fx.tmpfs("tmpfs")
            let config = writeConfig(tree, snapshot: "true", timeout: "5s")
            var e = env(tree, [m])
            e["SNAPORCH_FREEZE_ALLOW"]! += ":\(tree.path("bind")):\(tmp)"
            let r = try await runCLI(
                [
                    "run", "--config", config, "--mount", m.mountPoint, "--mount", tree.path("bind"), "--mount", tmp,
                    "--json",
                ], env: e)
            #expect(r.code == 0, "\(r.stderr)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.freeze.mounts.count == 1)
            let reasons = Dictionary(uniqueKeysWithValues: report.freeze.skipped.map { ($0.mountPoint, $0.reason) })
            #expect(reasons[tree.path("bind")]?.contains("frozen once") == true)
            #expect(reasons[tmp]?.contains("tmpfs") == true)
        }
    }

    @Test func foreignFreezeIsReportedAndNotThawedByUs() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let a = try await fx.loop("a")
            let b = try await fx.loop("b")
            _ = try await sh("fsfreeze -f \(b.mountPoint)")
            let config = writeConfig(tree, snapshot: "true", timeout: "5s")
            let r = try await runCLI(
                ["run", "--config", config, "--mount", a.mountPoint, "--mount", b.mountPoint, "--json"],
                env: env(tree, [a, b]))
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            let mb = report.freeze.mounts.first { $0.mountPoint == b.mountPoint }
            #expect(mb?.frozen == false && mb?.error?.contains("EBUSY") == true)
            #expect(report.consistency == .crash, "a snapshot without a complete freeze is crash-consistent")
            #expect(r.code == 3)
            #expect(await writeCompletes(in: a.mountPoint, within: 1), "our own freeze of a was not undone")
            #expect(!(await writeCompletes(in: b.mountPoint, within: 0.3)), "we thawed a freeze that was not ours")
            // Emergency thaw releases the foreign freeze.
            let t = try await runCLI(["thaw", b.mountPoint], env: env(tree, [a, b]))
            #expect(t.code == 0 && t.stdout.contains("thawed (1 level(s))"))
            #expect(await writeCompletes(in: b.mountPoint, within: 2))
            let again = try await runCLI(["thaw", b.mountPoint])
            #expect(again.stdout.contains("not frozen"))
        }
    }

    @Test func runReportsAKilledGuardAndThawsAtOnce() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let marker = tree.path("in-window")
            let config = writeConfig(tree, snapshot: "echo $$ > \(marker); sleep 2", timeout: "20s")
            let run = Task {
                try await runCLI(["run", "--config", config, "--mount", m.mountPoint, "--json"], env: env(tree, [m]))
            }
            _ = try await waitForFile(marker)
            let guardPid = try #require(findGuard(for: m.mountPoint))
            kill(guardPid, SIGKILL)
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "not thawed within 1 s of the guard's death")
            let r = try await run.value
            #expect(r.code == 3, "\(r.stderr)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.freeze.error?.contains("guard died") == true)
            #expect(report.consistency == .crash)
            #expect(report.freeze.mounts.first?.thawed == true)
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sbin/mkfs.xfs"), "xfsprogs not installed"))
    func xfsAndExt4FreezeTogether() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let a = try await fx.loop("ext")
            let x = try await fx.loop("xfs", fsType: "xfs")
            let config = writeConfig(tree, snapshot: "true", timeout: "5s")
            let r = try await runCLI(
                ["run", "--config", config, "--mount", a.mountPoint, "--mount", x.mountPoint, "--json"],
                env: env(tree, [a, x]))
            #expect(r.code == 0, "\(r.stderr)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(Set(report.freeze.mounts.map(\.fsType)) == ["ext4", "xfs"])
            #expect(report.freeze.mounts.allSatisfy { $0.frozen && $0.thawed })
        }
    }

    @Test func parallelFreezesLeaveTheRCUKnobAsTheyFoundIt() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            var mounts: [LoopMount] = []
            for i in 0..<4 { mounts.append(try await fx.loop("p\(i)")) }
            let before = rcuExpedited()
            try await withThrowingTaskGroup(of: CLIResult.self) { group in
                for (i, m) in mounts.enumerated() {
                    // Separate roots: separate run locks, so the four freezes really overlap.
                    let root = tree.path("root\(i)")
                    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                    let config = tree.write(
                        "root\(i)/c.yaml", "version: 1\nfreeze:\n  timeout: 5s\nsnapshot:\n  provider: none\n")
                    let env = [
                        "SNAPORCH_ROOT": root, "SNAPORCH_FREEZE_ALLOW": m.mountPoint,
                        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                    ]
                    group.addTask {
                        var last = CLIResult(status: .exited(0), stdout: "", stderr: "")
                        for _ in 0..<5 {
                            last = try await runCLI(["run", "--config", config, "--mount", m.mountPoint], env: env)
                        }
                        return last
                    }
                }
                for try await r in group { #expect(r.code == 0, "\(r.stderr)") }
            }
            #expect(rcuExpedited() == before, "/sys/kernel/rcu_expedited was left changed")
        }
    }

    // MARK: helpers

    /// The RCU knob read while holding the machine-wide lock, so that no freeze (of a test running in
    /// parallel) is in the middle of its expedited instant.
    func rcuExpedited() -> String? {
        let fd = open(RCUExpedite.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        return try? String(contentsOfFile: "/sys/kernel/rcu_expedited", encoding: .utf8)
    }

    func env(_ tree: TestTree, _ mounts: [LoopMount]) -> [String: String] {
        RunFixture(tree, freezing: mounts).environment
    }

    /// A config whose plugin logs pre/post (with the outcome) and whose snapshot command runs `snapshot`.
    func writeConfig(_ tree: TestTree, snapshot: String, timeout: String) -> String {
        let log = tree.path("order.log")
        let pre = tree.script("s/pre.sh", "echo pre >> \(log)")
        let post = tree.script("s/post.sh", "echo post $SNAPORCH_OUTCOME $SNAPORCH_CONSISTENCY >> \(log)")
        let snap = tree.script("s/snap.sh", "echo snapshot >> \(log)\n\(snapshot)")
        return tree.write(
            TestConfig(
                freeze: .on(timeout: timeout), snapshot: .command([snap], timeout: "20s"),
                plugins: [.script("app", pre: pre, post: post)]))
    }

    func findGuard(for mount: String) -> Int32? {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else {
                continue
            }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if args.contains("__guard") && args.contains(mount) { return pid }
        }
        return nil
    }

    func waitForFile(_ path: String, timeout: Double = 20) async throws -> String {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasSuffix("\n") {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("\(path) did not appear")
    }
}
