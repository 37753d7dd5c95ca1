import Foundation
import Synchronization
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A clock the test drives: a fixed wall time, and a monotonic time that jumps `step` at every
/// reading (so a run's budgets run out without any real waiting).
final class ManualClock: RunClock {
    private let monotonic: Mutex<UInt64>
    let wallMillis: Int64
    let stepNanos: UInt64

    convenience init(wallMillis: Int64, step: TimeSpan) {
        self.init(wallMillis: wallMillis, stepNanos: UInt64(step.milliseconds) * 1_000_000)
    }

    init(wallMillis: Int64, stepNanos: UInt64) {
        self.monotonic = Mutex(1_000_000_000)
        self.wallMillis = wallMillis
        self.stepNanos = stepNanos
    }

    var now: MonotonicInstant {
        let nanos = monotonic.withLock { value in
            value += stepNanos
            return value
        }
        return MonotonicInstant(nanoseconds: nanos)
    }

    func sleep(for span: TimeSpan) async {
        monotonic.withLock { $0 += UInt64(span.milliseconds) * 1_000_000 }
    }
}

/// The run pipeline reads time only through its injected clock: budgets, the timeline, the start
/// stamp and the scripts' deadline all follow a clock the test drives.
@Suite(.timeLimit(.minutes(2)))
struct RunClockTests {
    /// 2030-01-01T00:00:00Z: far from the real time, so a value from the system clock shows.
    static let wall: Int64 = 1_893_456_000_000

    func execute(_ yaml: String, clock: any RunClock) throws -> (Plan, Orchestrator) {
        let config = try #require(ConfigDecoder(file: "c.yaml").decode(Array(yaml.utf8)).config)
        var options = RunOptions()
        options.freeze = false
        let plan = Planner(environment: [:]).plan(config, options: options)
        var orchestrator = Orchestrator(
            launcher: PosixProcessLauncher(), freezer: FakeFreezer(), makeProvider: { _ in nil }, journal: nil)
        orchestrator.clock = clock
        return (plan, orchestrator)
    }

    func config(_ tree: TestTree, extra: String = "") -> String {
        let log = tree.path("order.log")
        let pre = tree.script("s/pre.sh", "echo pre >> \(log)")
        let post = tree.script("s/post.sh", "echo post >> \(log); echo $SNAPORCH_DEADLINE > \(tree.path("deadline"))")
        return
            "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\n\(extra)plugins:\n  - name: a\n    pre: \(pre)\n    post: \(post)\n    timeout: 30s\n"
    }

    @Test func thePreTimeoutBudgetRunsOnTheInjectedClock() async throws {
        let tree = TestTree("clock")
        defer { tree.cleanup() }
        // Every reading of the clock is an hour later: the 10 s pre budget is gone before the plugin.
        let clock = ManualClock(wallMillis: Self.wall, step: .seconds(3600))
        let (plan, orchestrator) = try execute(config(tree, extra: "pre_timeout: 10s\n"), clock: clock)
        let report = await orchestrator.execute(plan, runId: "c1")
        #expect(report.plugins[0].pre?.status == .skipped)
        #expect(report.plugins[0].pre?.error?.contains("pre_timeout (10s) exhausted") == true)
        #expect(report.errors.map(\.code) == [ErrorCode.prepostPluginhostPreTimeout])
        #expect(tree.read("order.log") == nil, "the pre script must not have run")
        // The report's duration is measured on the same clock: hours, in a test that took seconds.
        #expect(report.durationMs >= 3_600_000)
    }

    @Test func startStampTimelineAndScriptDeadlineFollowTheInjectedClock() async throws {
        let tree = TestTree("clock")
        defer { tree.cleanup() }
        let clock = ManualClock(wallMillis: Self.wall, step: .milliseconds(1000))
        let (plan, orchestrator) = try execute(config(tree), clock: clock)
        let report = await orchestrator.execute(plan, runId: "c2")
        #expect(tree.read("order.log") == "pre\npost\n")
        #expect(report.startedAt == "2030-01-01T00:00:00Z")
        // SNAPORCH_DEADLINE: the wall clock plus the step's 30 s budget, rounded up to the second.
        #expect(tree.read("deadline") == "\(Self.wall / 1000 + 30)\n")
        // Each reading is a second later: every step on the timeline lasts whole seconds.
        let steps = report.timeline.map(\.step.rawValue)
        #expect(steps == ["pre:a", "post:a"])
        for entry in report.timeline {
            #expect(entry.endMs > entry.startMs && (entry.endMs - entry.startMs) % 1000 == 0)
            #expect(entry.startMs % 1000 == 0)
        }
        #expect(report.outcome == .success)
    }

    @Test func theRunsDurationIsKeptToTheMicrosecond() async throws {
        let tree = TestTree("clock")
        defer { tree.cleanup() }
        // Each reading is 1.25 ms later: whole milliseconds alone would lose up to a millisecond
        // of every run, which is most of a short rehearsal.
        let clock = ManualClock(wallMillis: Self.wall, stepNanos: 1_250_000)
        let (plan, orchestrator) = try execute(config(tree), clock: clock)
        let report = await orchestrator.execute(plan, runId: "c3")
        let micros = try #require(report.durationUs)
        #expect(micros >= 2 * 1250 && micros % 1250 == 0, "\(micros) µs")
        #expect(report.durationMs == micros / 1000)
        let json = try #require(String(data: JSONEncoder().encode(report), encoding: .utf8))
        #expect(json.contains("\"durationUs\":\(micros)"))
    }

    @Test func theRunLockWaitSleepsOnTheInjectedClock() async throws {
        let tree = TestTree("clock")
        defer { tree.cleanup() }
        let held = try RunLock.acquire(directory: tree.root)
        defer { withExtendedLifetime(held) {} }
        // A 20 s wait ends at once: the clock's sleep advances its own time, nothing really waits
        // (on the system clock the same call would take the whole 20 s).
        let clock = ManualClock(wallMillis: Self.wall, step: .milliseconds(1))
        let started = ContinuousClock.now
        do {
            _ = try await RunLock.acquire(directory: tree.root, waitUpTo: .seconds(20), clock: clock)
            Issue.record("a second lock was granted while the first is held")
        } catch {
            #expect(error.message.contains("another snaporch run holds the lock"))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
