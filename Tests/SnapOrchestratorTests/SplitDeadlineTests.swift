import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// How long `end` waits for the holder is measured on the monotonic clock: a step of the wall
/// clock between `begin` and `end` (NTP correcting a VM that was paused, or a clock set by hand)
/// neither cuts the wait short nor stretches it.
@Suite(.timeLimit(.minutes(1)))
struct SplitDeadlineTests {
    /// The holder records its latest finish on both clocks, naming the same moment.
    @Test func theHolderRecordsItsLatestFinishOnTheMonotonicClock() async throws {
        let tree = TestTree("deadline")
        defer { tree.cleanup() }
        let fx = RunFixture(tree)
        let ok = tree.script("ok.sh", "exit 0")
        let config = fx.write(TestConfig(freeze: .off, plugins: [.script("a", pre: ok, post: ok)]))
        _ = try await fx.begin(config, ["--lease", "60s"]).quiesced()
        let state = try #require(fx.splitFiles.load(SplitState.self, from: fx.splitFiles.state))
        let monotonic = try #require(state.finishByMonotonicMs, "no monotonic finish in the state")
        let byWall = state.finishByEpochMs - Sys.epochMillis()
        let byMonotonic = Int64(monotonic) - Int64(Sys.monotonicNanos() / 1_000_000)
        #expect(byWall > 60_000 && abs(byWall - byMonotonic) < 2_000, "wall \(byWall) ms, monotonic \(byMonotonic) ms")
        _ = try await fx.end()
    }

    /// The wall clock stepped an hour forward (or back) after `begin`: `end` still waits until the
    /// holder's latest finish plus 30 s.
    @Test(arguments: [3_600_000, -3_600_000])
    func aWallClockStepDoesNotMoveTheWait(_ stepMs: Int64) {
        let nowEpoch: Int64 = 1_800_000_000_000
        let nowMonotonic: UInt64 = 5_000_000
        let state = SplitState(
            runId: "r", pid: 1, pidStart: nil, caller: "cli", begunAt: "", leaseMs: 60_000,
            finishByEpochMs: nowEpoch + 90_000, finishByMonotonicMs: nowMonotonic + 90_000)
        let wait = SplitEnder.waitMilliseconds(state, nowEpochMs: nowEpoch + stepMs, nowMonotonicMs: nowMonotonic)
        #expect(wait == 120_000)
        var older = state
        older.finishByMonotonicMs = nil
        #expect(SplitEnder.waitMilliseconds(older, nowEpochMs: nowEpoch, nowMonotonicMs: nowMonotonic) == 120_000)
    }
}
