import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// What a run reports about a `snapshot.command` that fails, times out or describes its disks:
/// the real cause, through the built binary, inside a real freeze window on a loop mount.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct SnapshotCommandReportTests {
    /// Runs one cycle with `command` as the snapshot command; returns the report and the wall time.
    func run(_ fx: FreezeFixture, command body: String, freezeTimeout: String = "3s") async throws -> (
        RunReport, Double
    ) {
        let tree = fx.tree
        let m = try await fx.loop()
        let snap = tree.script("s/snap.sh", body)
        let config = tree.write(
            TestConfig(freeze: .on(timeout: freezeTimeout), snapshot: .command([snap], timeout: "20s"), plugins: []))
        let start = Date()
        let r = try await RunFixture(tree, freezing: [m]).run(config, ["--mount", m.mountPoint, "--json"], timeout: 30)
        let seconds = Date().timeIntervalSince(start)
        let report = try r.report()
        #expect(await writeCompletes(in: m.mountPoint, within: 2))
        return (report, seconds)
    }

    /// A command still running at the freeze deadline (and deaf to SIGTERM) is killed in time for
    /// snaporch to thaw itself: the report says the command timed out, not that the guard thawed.
    @Test func aTimedOutCommandIsReportedAsATimeoutNotAsAGuardThaw() async throws {
        try await withFreezeFixture { fx in
            let (report, seconds) = try await run(fx, command: "trap '' TERM\nsleep 30")
            #expect(!report.snapshot.taken)
            #expect(report.snapshot.error?.contains("timed out") == true, "\(report.snapshot.error ?? "")")
            #expect(report.snapshot.error?.contains("freeze deadline") == true, "\(report.snapshot.error ?? "")")
            #expect(!report.freeze.deadlineHit, "reported as thawed by the guard: \(report.freeze.error ?? "")")
            #expect(!report.errors.contains { $0.code == .fsFreezeTimeout })
            #expect(report.freeze.mounts.allSatisfy { $0.frozen && $0.thawed })
            #expect(seconds < 3 + 4, "the run took \(seconds) s")
        }
    }

    /// A failing command is the command's failure (code 2 with its stderr), not 76 "no network".
    @Test func aFailedCommandIsNotANetworkFailure() async throws {
        try await withFreezeFixture { fx in
            let (report, _) = try await run(fx, command: "echo 'lvcreate: volume group vg0 not found' >&2\nexit 5")
            #expect(!report.snapshot.taken)
            #expect(report.snapshot.errorCode == .generic)
            #expect(
                !report.errors.contains { $0.code == .snapshotFailedNoNetwork }, "\(report.errors)")
            #expect(report.errors.contains { $0.message.contains("vg0 not found") })
        }
    }

    /// Disks described by the command keep their own durations, not the command's total repeated.
    @Test func describedDisksKeepTheirOwnDurations() async throws {
        try await withFreezeFixture { fx in
            let (report, _) = try await run(
                fx,
                command: """
                    sleep 0.4
                    echo '{"disk": "vg0/data", "snapshot": "data-snap", "ok": true, "durationMs": 5}'
                    echo '{"disk": "vg0/logs", "snapshot": "logs-snap", "ok": true}'
                    """)
            #expect(report.snapshot.taken)
            #expect(report.snapshot.disks.map(\.durationMs) == [5, 0], "\(report.snapshot.disks)")
            let step = try #require(report.timeline.first { $0.step == .snapshot })
            #expect(step.endMs - step.startMs >= 400)
        }
    }
}
