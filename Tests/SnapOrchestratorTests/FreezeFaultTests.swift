import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Faults of the freeze window that hit more than one process or the kernel itself (issue 13: a
/// slow FIFREEZE, a cgroup-wide kill, a guard stopped in its RCU instant, a stopped guard; issue 14:
/// the binary deleted during a run). Every test freezes only loop mounts it creates.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct FreezeFaultTests {
    /// A `syncfs` before the window that never returns — the disk under the filesystem takes no
    /// writes: here a loop mount whose image lives on another loop mount the test froze — costs the
    /// run `freeze.sync_timeout` and no more: nothing is frozen, the post runs, the report says which
    /// mount, and it is stored while the `syncfs` still hangs in the kernel.
    @Test func aSyncfsThatNeverReturnsCostsTheRunItsSyncTimeoutOnly() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let outer = try await fx.loop("outer", sizeMB: 96)
            let inner = try await fx.loop("inner", in: outer.mountPoint)
            let log = tree.path("order.log")
            let step = tree.script("s/step.sh", "echo $SNAPORCH_PHASE >> \(log)")
            let config = tree.write(
                "c.yaml",
                """
                version: 1
                freeze:
                  timeout: 5s
                  sync_timeout: 2s
                  mounts: [\(inner.mountPoint)]
                snapshot:
                  provider: none
                plugins:
                  - name: app
                    pre: \(step)
                    post: \(step)
                """)
            #expect(try await sh("head -c 16777216 /dev/urandom > \(inner.mountPoint)/dirty").code == 0)
            #expect(try await sh("fsfreeze -f \(outer.mountPoint)").code == 0)
            let started = ContinuousClock.now
            let run = Task { try await RunFixture(tree, freezing: [inner]).run(config, ["--json"], timeout: 120) }
            let history = tree.path("var/lib/snaporch/history")
            var stored = false
            while !stored && ContinuousClock.now - started < .seconds(30) {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: history)) ?? []
                stored = names.contains { $0.hasSuffix(".json") }
                if !stored { try? await Task.sleep(for: .milliseconds(50)) }
            }
            let waited = ContinuousClock.now - started
            _ = try? await sh("fsfreeze -u \(outer.mountPoint)")
            let result = try await run.value
            #expect(stored && waited < .seconds(15), "no report within \(waited) while the syncfs hung")
            let report = try result.report()
            #expect(
                report.freeze.error?.contains("syncfs of \(inner.mountPoint) did not return within 2s") == true,
                "\(report.freeze.error ?? "")")
            #expect(report.freeze.mounts.isEmpty, "a mount was frozen after its sync did not return")
            #expect(tree.read("order.log") == "pre\npost\n")
        }
    }

    /// A real slow FIFREEZE: ext4's freeze checkpoints its journal, writing every metadata block
    /// committed since the last checkpoint from the freezing thread itself (a `syncfs` before does
    /// not checkpoint). The run — and so its guard — runs in a blkio cgroup that throttles writes to
    /// the loop device to 4 KiB/s, and the pre step creates 80 directories: FIFREEZE then takes
    /// ~15–25 s here, far past `freeze.timeout: 1s`.
    @Test func slowFIFREEZEIsThawedTheMomentItReturnsAndTheRunNeverWaitsForIt() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let cgroup = try TestCgroup(["blkio"])
            var guardPid: Int32?
            do {
                var st = stat()
                try #require(stat(m.mountPoint, &st) == 0)
                let dev = UInt64(st.st_dev)
                let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
                let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
                try cgroup.set("blkio", "blkio.throttle.write_bps_device", "\(major):\(minor) 4096")
                let config = FreezeTests().writeConfig(tree, snapshot: "true", timeout: "1s")
                tree.script(
                    "s/pre.sh",
                    "echo pre >> \(tree.path("order.log")); i=0; while [ $i -lt 80 ]; do mkdir \(m.mountPoint)/d$i; echo x > \(m.mountPoint)/d$i/f; i=$((i+1)); done"
                )
                let start = Date()
                let run = Task {
                    try await runCLI(
                        in: cgroup, ["run", "--config", config, "--mount", m.mountPoint, "--json"],
                        env: FreezeTests().env(tree, [m]))
                }
                for _ in 0..<1000 where guardPid == nil {
                    guardPid = FreezeTests().findGuard(for: m.mountPoint)
                    try await Task.sleep(for: .milliseconds(5))
                }
                let r = try await run.value
                let runSeconds = Date().timeIntervalSince(start)
                let guardAliveAfterRun = guardPid.map(processAlive) ?? false
                #expect(guardAliveAfterRun, "the FIFREEZE returned before the run ended: not slow enough to test")
                #expect(runSeconds < 8, "the run waited \(runSeconds) s for a FIFREEZE in flight")
                #expect(r.code == 3, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
                let mount = try #require(report.freeze.mounts.first)
                #expect(mount.mayBeFrozen == true, "\(mount)")
                #expect(mount.error?.contains("may still freeze") == true, "\(mount.error ?? "")")
                #expect(report.consistency == .crash)
                #expect(tree.read("order.log")?.hasSuffix("post snapshot-taken crash\n") == true)
                let journal = RunJournal(directory: tree.path("run/snaporch")).leftover()
                #expect(
                    journal?.mayBeFrozen == [m.mountPoint],
                    "the journal forgot the mount: \(String(describing: journal))")
                // The guard outlives its FIFREEZE and thaws the moment it returns.
                let pid = try #require(guardPid)
                let end = Date().addingTimeInterval(90)
                while processAlive(pid) && Date() < end { try await Task.sleep(for: .milliseconds(20)) }
                #expect(!processAlive(pid), "the guard never finished")
                #expect(await writeCompletes(in: m.mountPoint, within: 1), "frozen after the late FIFREEZE returned")
                let recover = try await runCLI(["recover"], env: FreezeTests().env(tree, [m]))
                #expect(recover.code == 0 && recover.stdout.contains("thaw \(m.mountPoint)"), "\(recover.stdout)")
            } catch {
                await cgroup.cleanup()
                throw error
            }
            _ = try? await sh("fsfreeze -u \(ShellQuote.quote(m.mountPoint))")
            await cgroup.cleanup()
        }
    }

    /// The whole cgroup (orchestrator, guard, scripts) is killed at once — or only stopped — inside
    /// the window; nobody runs `recover`, yet the mount is writable within freeze.timeout + 2 s.
    @Test(arguments: ["kill", "stop"])
    func wholeCgroupKilledOrStoppedInTheWindowStillThaws(_ how: String) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let cgroup = try TestCgroup(["freezer", "pids"])
            do {
                let marker = tree.path("in-window")
                let config = FreezeTests().writeConfig(tree, snapshot: "echo $$ > \(marker); sleep 30", timeout: "3s")
                let run = Task {
                    try await runCLI(
                        in: cgroup, ["run", "--config", config, "--mount", m.mountPoint],
                        env: FreezeTests().env(tree, [m]))
                }
                _ = try await FreezeTests().waitForFile(marker)
                try #require(!(await writeCompletes(in: m.mountPoint, within: 0.2)), "not frozen in the window")
                try await cgroup.freezeAll()
                let start = Date()
                if how == "kill" {
                    cgroup.killAll()
                    cgroup.thawAll()  // the SIGKILLs land now, all at once
                }
                let thawed = await writeCompletes(in: m.mountPoint, within: 5)
                let seconds = Date().timeIntervalSince(start)
                #expect(
                    thawed,
                    "\(how): still frozen 5 s after the whole cgroup was \(how == "kill" ? "killed" : "stopped")")
                #expect(seconds < 5)
                await cgroup.cleanup()
                _ = try await run.value
            } catch {
                await cgroup.cleanup()
                throw error
            }
        }
    }

    /// The guard stops (SIGSTOP) inside its expedited-RCU instant, holding the machine-wide lock with
    /// the knob at 1 and the mount frozen: the run thaws first, then restores the knob, and ends.
    @Test func guardStoppedInsideItsRCUInstantNeitherHangsTheRunNorLeavesTheKnob() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let before = try? String(contentsOfFile: RCUExpedite.path, encoding: .utf8)
            let config = FreezeTests().writeConfig(tree, snapshot: "true", timeout: "2s")
            var env = FreezeTests().env(tree, [m])
            env["SNAPORCH_FAULT_STOP_AT"] = "guard-rcu"
            let start = Date()
            let r = try await runCLI(
                ["run", "--config", config, "--mount", m.mountPoint, "--json"], env: env, timeout: 15)
            for pid in FaultMatrixTests().findGuards(m.mountPoint) { kill(pid, SIGKILL) }
            #expect(r.status == .exited(3), "the run hung or failed: \(r.stderr)")
            #expect(Date().timeIntervalSince(start) < 10)
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
            let report = try? JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            let messages = report?.errors.map(\.message).joined(separator: " | ") ?? ""
            #expect(messages.contains("snaporch thawed the mounts itself"), "\(messages)")
            #expect(report?.freeze.mounts.first?.mayBeFrozen == nil, "a thaw confirmed by snaporch is known")
            #expect((try? String(contentsOfFile: RCUExpedite.path, encoding: .utf8)) == before, "knob left changed")
        }
    }

    /// Two runs in separate mount namespaces (separate `/run`, so separate lock files) overlap while
    /// one of them is inside its RCU instant (its guard stopped there, knob at 1): the other must not
    /// take that "1" for the original value, and the knob ends as it started.
    @Test func runsInSeparateMountNamespacesNeverLeaveTheKnobAtOne() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let a = try await fx.loop("a")
            let b = try await fx.loop("b")
            let before = try? String(contentsOfFile: RCUExpedite.path, encoding: .utf8)
            try #require(before == "0\n", "the knob is not at 0 to begin with")
            let configA = FreezeTests().writeConfig(tree, snapshot: "true", timeout: "2s")
            var envA = FreezeTests().env(tree, [a])
            envA["SNAPORCH_FAULT_STOP_AT"] = "guard-rcu"
            let runA = Task {
                try await runCLI(["run", "--config", configA, "--mount", a.mountPoint], env: envA, timeout: 15)
            }
            var stopped = false
            for _ in 0..<1000 where !stopped {
                if let pid = FreezeTests().findGuard(for: a.mountPoint) {
                    stopped = FaultMatrixTests().state(pid) == "T"
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            try #require(stopped, "run A never stopped in its RCU instant")
            let rootB = tree.path("b-root")
            try FileManager.default.createDirectory(atPath: rootB, withIntermediateDirectories: true)
            let configB = tree.write(
                "b-root/c.yaml", "version: 1\nfreeze:\n  timeout: 5s\nsnapshot:\n  provider: none\n")
            let runB = try await sh(
                "SNAPORCH_ROOT=\(rootB) SNAPORCH_FREEZE_ALLOW=\(b.mountPoint) unshare -m --propagation private sh -c "
                    + "'mount -t tmpfs tmpfs /run && exec \(TestEnv.snaporch) run --config \(configB) --mount \(b.mountPoint)'",
                timeout: 30)
            let resultA = try await runA.value
            for pid in FaultMatrixTests().findGuards(a.mountPoint) { kill(pid, SIGKILL) }
            #expect(runB.code == 0, "\(runB.output)")
            #expect(resultA.code == 3, "\(resultA.stderr)")
            let after = try? String(contentsOfFile: RCUExpedite.path, encoding: .utf8)
            if after != before { _ = try? before?.write(toFile: RCUExpedite.path, atomically: false, encoding: .utf8) }
            #expect(after == before, "/sys/kernel/rcu_expedited left at \(after ?? "?")")
        }
    }

    /// A guard stopped inside the window: snaporch thaws at the deadline and says it did, not "the guard".
    @Test func stoppedGuardIsReportedAsThawedBySnaporch() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let marker = tree.path("in-window")
            let config = FreezeTests().writeConfig(tree, snapshot: "echo $$ > \(marker); sleep 5", timeout: "2s")
            let run = Task {
                try await runCLI(
                    ["run", "--config", config, "--mount", m.mountPoint, "--json"], env: FreezeTests().env(tree, [m]))
            }
            _ = try await FreezeTests().waitForFile(marker)
            let guardPid = try #require(FreezeTests().findGuard(for: m.mountPoint))
            kill(guardPid, SIGSTOP)
            let r = try await run.value
            kill(guardPid, SIGKILL)
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            let messages = report.errors.map(\.message).joined(separator: " | ")
            #expect(!messages.contains("thawed by the guard"), "\(messages)")
            #expect(messages.contains("snaporch"), "\(messages)")
            #expect(report.freeze.mounts.first?.thawed == true)
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
        }
    }

    /// An upgrade or uninstall deletes the binary during the pre step: the guard still starts
    /// (from /proc/self/exe) and the snapshot is application-consistent.
    @Test func deletingTheBinaryDuringThePreStepStillFreezes() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let copy = tree.path("opt/snaporch")
            try FileManager.default.createDirectory(atPath: tree.path("opt"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestEnv.snaporch, toPath: copy)
            let config = FreezeTests().writeConfig(tree, snapshot: "true", timeout: "5s")
            tree.script("s/pre.sh", "echo pre >> \(tree.path("order.log")); rm -f \(copy)")
            var spec = ProcessSpec(
                executable: copy, arguments: ["run", "--config", config, "--mount", m.mountPoint, "--json"],
                environment: FreezeTests().env(tree, [m]), timeout: .seconds(60))
            spec.tailLimit = 4 << 20
            let outcome = try await PosixProcessLauncher().run(spec)
            #expect(!FileManager.default.fileExists(atPath: copy), "the pre step did not delete the binary")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(outcome.stdoutTail))
            #expect(report.consistency == .application, "\(report.reasons)")
            #expect(report.freeze.mounts.first?.frozen == true && report.freeze.mounts.first?.thawed == true)
        }
    }
}
