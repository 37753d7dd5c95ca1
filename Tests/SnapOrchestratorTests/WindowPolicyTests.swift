import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// What the pipeline does with each freeze outcome (fake freezer and snapshot; the real ones are
/// tested against the kernel in FreezeTests): order of calls, consistency, outcome, codes.
@Suite struct WindowPolicyTests {
    func execute(mounts: Int, freezer: FakeFreezer, freeze: Bool = true) async throws -> RunReport {
        let tree = TestTree("pol")
        defer { tree.cleanup() }
        let app = tree.script("s/app.sh", "exit 0")
        let yaml =
            "version: 1\nfreeze:\n  enabled: true\nsnapshot:\n  provider: command\n  command: [/bin/true]\nplugins:\n  - name: app\n    pre: \(app)\n    post: \(app)\n"
        let config = try #require(ConfigDecoder(file: "c").decode(Array(yaml.utf8)).config)
        var options = RunOptions()
        options.freeze = freeze
        var plan = Planner(environment: [:]).plan(config, options: options)
        plan.mounts = freeze ? (0..<mounts).map { fakeMount("/m\($0)") } : []
        plan.mountErrors = []
        let orchestrator = Orchestrator(
            launcher: PosixProcessLauncher(), freezer: freezer, makeProvider: { _ in FakeSnapshot(freezer: freezer) },
            journal: nil)
        return await orchestrator.execute(plan, runId: "p")
    }

    @Test func aCleanWindowIsPrepareFreezeSnapshotThawFinish() async throws {
        let freezer = FakeFreezer()
        let report = try await execute(mounts: 2, freezer: freezer)
        #expect(freezer.calls == ["prepare:/m0,/m1", "freeze", "snapshot", "thaw", "finish"])
        #expect(report.consistency == .application && report.outcome == .success)
    }

    @Test func whenNothingCanBeFrozenTheSnapshotIsCrashConsistent() async throws {
        let freezer = FakeFreezer()
        freezer.freezeErrnos = [EOPNOTSUPP]
        let report = try await execute(mounts: 1, freezer: freezer)
        #expect(report.snapshot.taken && report.consistency == .crash)
        #expect(report.freeze.skipped.contains { $0.reason.contains("EOPNOTSUPP") })
        #expect(freezer.calls.firstIndex(of: "thaw")! < freezer.calls.firstIndex(of: "snapshot")!)
    }

    @Test func aForeignFreezeMeansThawFirstThenACrashConsistentSnapshot() async throws {
        let freezer = FakeFreezer()
        freezer.freezeErrnos = [0, EBUSY]
        let report = try await execute(mounts: 2, freezer: freezer)
        #expect(freezer.calls == ["prepare:/m0,/m1", "freeze", "thaw", "finish", "snapshot"])
        #expect(report.consistency == .crash && report.outcome == .degraded)
        #expect(report.errors.contains { $0.code.rawValue == 121 })
    }

    @Test func aLostGuardOrAHitDeadlineDowngradeWithTheReason() async throws {
        let lost = FakeFreezer()
        lost.guardLost = true
        let r1 = try await execute(mounts: 1, freezer: lost)
        #expect(r1.consistency == .crash && r1.freeze.error?.contains("guard died") == true)
        let late = FakeFreezer()
        late.deadlineHit = true
        let r2 = try await execute(mounts: 1, freezer: late)
        #expect(r2.consistency == .crash && r2.errors.contains { $0.code.rawValue == 122 })
        #expect(r2.reasons.contains { $0.contains("hit its deadline") })
    }

    @Test func skippingTheFreezeOnPurposeIsASuccessAtCrashConsistency() async throws {
        let freezer = FakeFreezer()
        let report = try await execute(mounts: 1, freezer: freezer, freeze: false)
        #expect(freezer.calls == ["snapshot"])
        #expect(report.consistency == .crash && report.outcome == .success)
    }
}
