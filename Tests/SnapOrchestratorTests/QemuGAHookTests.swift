import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The real qemu-ga (Debian's `qemu-guest-agent`) calling `snaporch hook qemu-ga` as its
/// fsfreeze hook (issue 17): the MariaDB lock is taken before qemu-ga's FIFREEZE and released
/// after its thaw, by a holder that outlives the hook process; a thaw that never comes is bounded
/// by the lease; a failing pre fails the freeze and leaves nothing locked.
///
/// Safety: qemu-ga runs with `-b guest-fsfreeze-freeze,guest-shutdown`; the only freeze is a
/// `guest-fsfreeze-freeze-list` of the test's loop mount; cleanup thaws, ends qemu-ga, `fsfreeze -u`.
/// (Part of the serialized database suite: one private server set at a time.)
extension DatabasePluginTests {
    /// Runs `body` with qemu-ga started on `machine`, its hook the installed wrapper; always stops it.
    func withQemuGA(_ machine: HookMachine, _ body: (QemuGuestAgent) async throws -> Void) async throws {
        let hook = try #require(try await machine.install("qemu-ga").first)
        let agent = try QemuGuestAgent(
            in: machine.tree, hook: hook, environment: machine.fixture.environment, mount: machine.mount.mountPoint)
        do {
            try await offThread { try agent.connect() }
            try await body(agent)
        } catch {
            agent.stop()
            print("holder.log:\n" + (machine.tree.read("run/snaporch/split/holder.log") ?? "-"))
            throw error
        }
        agent.stop()
    }

    @Test(.enabled(if: QemuGuestAgent.available, QemuGuestAgent.reason))
    func theLockSpansQemuGAsFreezeAndIsReleasedAfterItsThaw() async throws {
        try await HookMachine.with(freezing: false) { machine in
            try await withQemuGA(machine) { agent in
                let mount = machine.mount.mountPoint
                let frozen = try await offThread { try agent.freeze([mount]) }
                let frozenAt = Date()
                #expect(frozen.returned == 1, "\(frozen)")
                // The pre steps ran before qemu-ga's FIFREEZE; now the mount is frozen.
                #expect(machine.lines == ["pre:a:thawed", "pre:b:thawed"])
                #expect(await machine.mountIsFrozen)
                let writer = Task { () -> Date in
                    _ = try await machine.maria.mariadb(
                        "INSERT INTO snaporch_test.t (v) VALUES ('during');",
                        defaults: machine.maria["APP_DEFAULTS_FILE"])
                    return Date()
                }
                try await Task.sleep(for: .seconds(1))
                #expect(try await machine.pluginSessions() >= 1, "the holder's session holds the lock")
                let thawSent = Date()
                let thawed = try await offThread { try agent.execute("guest-fsfreeze-thaw") }
                let thawedAt = Date()
                #expect(thawed.returned == 1, "\(thawed)")
                let wrote = try await writer.value
                #expect(wrote > thawSent, "a MariaDB write completed while qemu-ga had the datadir frozen")
                #expect(try await machine.canWrite("after"), "the lock outlived the thaw hook")
                #expect(machine.lines == ["pre:a:thawed", "pre:b:thawed", "post:b:thawed", "post:a:thawed"])
                let reports = machine.history
                #expect(reports.count == 1)
                let report = try #require(reports.first)
                #expect(report.split?.caller == "qemu-ga" && report.split?.ending == .end)
                #expect(report.outcome == .success && report.consistency == .application, "\(report.reasons)")
                let at = Dictionary(report.timeline.map { ($0.step.rawValue, $0) }, uniquingKeysWith: { a, _ in a })
                let hold = try #require(at["hold:db"])
                let release = try #require(at["release:db"])
                // Lock hold: from the end of the hold step (the freeze hook returns right after) to
                // the end of the release (inside the thaw hook). Freeze: from qemu-ga's freeze-list
                // reply to the thaw request (its FITHAW comes first, then the thaw hook).
                let lockMs = release.endMs - hold.endMs
                let freezeMs = Int(thawSent.timeIntervalSince(frozenAt) * 1000)
                let resumedMs = Int(wrote.timeIntervalSince(thawSent) * 1000)
                let replyMs = Int(thawedAt.timeIntervalSince(thawSent) * 1000)
                print(
                    "qemu-ga figures: lock held \(lockMs) ms, frozen \(freezeMs) ms (lock beyond the freeze: "
                        + "\(lockMs - freezeMs) ms); the blocked write resumed \(resumedMs) ms after the thaw "
                        + "request; thaw reply (hook: release + posts) after \(replyMs) ms")
                #expect(lockMs >= freezeMs - 50, "the lock did not span the freeze")
            }
        }
    }

    @Test(.enabled(if: QemuGuestAgent.available, QemuGuestAgent.reason))
    func aThawThatNeverComesIsBoundedByTheLease() async throws {
        try await HookMachine.with(freezing: false, lease: "4s") { machine in
            try await withQemuGA(machine) { agent in
                let mount = machine.mount.mountPoint
                let frozen = try await offThread { try agent.freeze([mount]) }
                #expect(frozen.returned == 1, "\(frozen)")
                let state = machine.fixture.splitFiles.state
                #expect(await eventually(within: 40) { !FileManager.default.fileExists(atPath: state) })
                // The holder released the lock and ran the posts itself; qemu-ga still has the mount frozen.
                #expect(try await machine.pluginSessions() == 0, "the lease left the database session open")
                #expect(machine.lines == ["pre:a:thawed", "pre:b:thawed", "post:b:frozen", "post:a:frozen"])
                let thawed = try await offThread { try agent.execute("guest-fsfreeze-thaw") }
                #expect(thawed.error?.contains("status 1") == true, "the late thaw hook reports the lapse: \(thawed)")
                #expect(await writeCompletes(in: mount, within: 2))
                #expect(try await machine.canWrite("after-lease"))
                let report = try #require(machine.history.first)
                #expect(machine.history.count == 1)
                #expect(report.split?.ending == .leaseExpired && report.outcome == .failed)
                #expect(report.reasons.contains { $0.contains("lease expired") }, "\(report.reasons)")
            }
        }
    }

    @Test(.enabled(if: QemuGuestAgent.available, QemuGuestAgent.reason))
    func aFailingPreFailsQemuGAsFreezeAndLeavesNothingLocked() async throws {
        let failing = { (tree: TestTree, mount: String) in
            let bad = HookMachine.logger(tree, "bad", mount: mount, extra: "[ $SNAPORCH_PHASE != pre ]")
            return TestPlugin.script("bad", pre: bad, post: bad, ["on_failure": "abort"])
        }
        try await HookMachine.withFailing(failing) { machine in
            try await withQemuGA(machine) { agent in
                let mount = machine.mount.mountPoint
                let frozen = try await offThread { try agent.freeze([mount]) }
                #expect(frozen.error?.contains("fsfreeze hook") == true, "the freeze went on: \(frozen)")
                let status = try await offThread { try agent.execute("guest-fsfreeze-status") }
                #expect(status.status == "thawed", "\(status)")
                #expect(await writeCompletes(in: mount, within: 2))
                #expect(try await machine.pluginSessions() == 0)
                #expect(try await machine.canWrite("after-failed-pre"))
                #expect(machine.lines == ["pre:a:thawed", "pre:bad:thawed", "post:bad:thawed", "post:a:thawed"])
                #expect(!FileManager.default.fileExists(atPath: machine.fixture.splitFiles.state))
            }
        }
    }
}

extension HookMachine {
    /// `with(freezing: false)` with a failing plugin (made from the tree and mount) after the database.
    static func withFailing(
        _ plugin: @escaping (TestTree, String) -> TestPlugin, _ body: (HookMachine) async throws -> Void
    ) async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop(sizeMB: 384)
            try await withDatabase("mariadb", at: m.mountPoint + "/mariadb") { maria in
                let a = logger(fx.tree, "a", mount: m.mountPoint)
                let config = fx.tree.write(
                    TestConfig(
                        freeze: .off, options: ["split": "{lease: 60s}"],
                        plugins: [
                            .script("a", pre: a, post: a), .mysql("db", on: maria), plugin(fx.tree, m.mountPoint),
                        ]))
                let fixture = RunFixture(fx.tree)
                try await body(HookMachine(tree: fx.tree, mount: m, maria: maria, config: config, fixture: fixture))
                _ = try? await fixture.end()
            }
        }
    }
}

/// The real qemu-ga without a database.
@Suite(
    .serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason),
    .enabled(if: QemuGuestAgent.available, QemuGuestAgent.reason))
struct QemuGAHookTests {
    /// A quiesce that is degraded (a step under `on_failure: continue` failed) still lets qemu-ga
    /// freeze: `begin` exits 3, the hook 0. A non-zero freeze hook would fail the freeze, and
    /// qemu-ga never sends the thaw after a failed freeze hook: the holds would wait for the lease.
    @Test func aDegradedQuiesceStillLetsQemuGAFreezeAndThaw() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let a = HookMachine.logger(tree, "a", mount: m.mountPoint)
            let flaky = HookMachine.logger(tree, "flaky", mount: m.mountPoint, extra: "[ $SNAPORCH_PHASE != pre ]")
            let config = tree.write(
                TestConfig(
                    freeze: .off, options: ["split": "{lease: 60s}"],
                    plugins: [.script("a", pre: a, post: a), .script("flaky", pre: flaky, post: flaky)]))
            let installed = try await runCLI(["hook", "install", "qemu-ga", "--root", tree.root, "--config", config])
            let hook = try #require(installed.stdout.split(separator: " ").last.map { String($0.dropLast()) })
            let fixture = RunFixture(tree)
            let agent = try QemuGuestAgent(in: tree, hook: hook, environment: fixture.environment, mount: m.mountPoint)
            defer { agent.stop() }
            try await offThread { try agent.connect() }
            let frozen = try await offThread { try agent.freeze([m.mountPoint]) }
            #expect(frozen.returned == 1, "a degraded quiesce failed qemu-ga's freeze: \(frozen)")
            let thawed = try await offThread { try agent.execute("guest-fsfreeze-thaw") }
            #expect(thawed.returned == 1, "\(thawed)")
            #expect(!FileManager.default.fileExists(atPath: fixture.splitFiles.state), "the holder is still waiting")
            let lines = (tree.read("order.log") ?? "").split(separator: "\n").map(String.init)
            #expect(lines == ["pre:a:thawed", "pre:flaky:thawed", "post:flaky:thawed", "post:a:thawed"])
            let report = try #require(RunHistory(paths: Paths(root: tree.root)).load().first)
            #expect(report.outcome == .degraded && report.split?.ending == .end, "\(report.reasons)")
            _ = try? await fixture.end()
        }
    }
}
