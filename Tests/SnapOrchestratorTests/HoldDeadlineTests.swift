import Testing

@testable import SnapCore
@testable import SnapSystem

/// How long a database hold may live: derived from the window deadline as known when it is taken.
@Suite struct HoldDeadlineTests {
    static let endedByDeadman = "session of the interrupted run, and any lock in it, was ended by its dead-man"
    let s: UInt64 = 1_000_000_000
    func at(_ seconds: UInt64) -> MonotonicInstant { MonotonicInstant(nanoseconds: seconds * s) }

    @Test func theWindowDeadlineCountsThisAndEveryLaterHoldThenTheWindow() {
        let d = HoldDeadline.windowDeadline(
            now: at(100), holdBudgets: [.seconds(30), .seconds(10)], killGrace: .seconds(5), window: .seconds(2))
        // 100 + (30+5) + (10+5) + 2
        #expect(d == at(152))
        let unfrozen = HoldDeadline.windowDeadline(
            now: at(100), holdBudgets: [], killGrace: .seconds(5), window: .seconds(120))
        #expect(unfrozen == at(220))
    }

    @Test func thePostDeadlineSpansTheLaterPresTheHoldsTheWindowTheReleasesAndTheLaterPosts() {
        let d = HoldDeadline.postDeadline(
            now: at(100), stepBudget: .seconds(30), laterPreBudgets: [.seconds(10)], preEnd: nil,
            holdBudgets: [.seconds(20)], window: .seconds(2), laterPostBudgets: [.seconds(10)], killGrace: .seconds(5))
        // pre 100+35+15 = 150; preparation +300; hold +25 = 475; window +2; release +25; later post +15
        #expect(d == at(517))
        let capped = HoldDeadline.postDeadline(
            now: at(100), stepBudget: .seconds(30), laterPreBudgets: [.seconds(600)], preEnd: at(120),
            holdBudgets: [], window: .seconds(2), laterPostBudgets: [], killGrace: .seconds(5))
        // pre_timeout ends at 120 (+5 grace), + 300 preparation + 2 window
        #expect(capped == at(427))
    }

    @Test(arguments: [(-1.0, 1), (0.0, 1), (0.5, 2), (1.0, 2), (1.001, 3), (2.5, 4), (-3.0, 1)])
    func serverTimeoutsAddTheMarginAndRoundUp(_ ahead: Double, _ expected: Int) {
        let now = at(1000)
        let deadline = MonotonicInstant(nanoseconds: UInt64(Int64(now.nanoseconds) + Int64(ahead * 1e9)))
        #expect(HoldDeadline.serverSeconds(until: deadline, now: now) == expected)
    }

    @Test func postgresIdleTimeoutsOnlyFrom14On() {
        let now = at(1000)
        // PostgreSQL 13 has no idle_session_timeout: the SET would fail the backup's pre step.
        #expect(PostgresPlugin.idleTimeouts(version: 130_012, until: at(1010), now: now) == "")
        #expect(
            PostgresPlugin.idleTimeouts(version: 150_004, until: at(1010), now: now)
                == "SET idle_session_timeout = 11000; SET idle_in_transaction_session_timeout = 11000; ")
    }

    @Test func recoverySaysTheDeadmanEndedTheHold() {
        let report = Recovery.heldSessionEnded(
            .init(type: "mysql", endsByEpochMs: 1_700_000_000_000), nowEpochMillis: 1_600_000_000_000)
        #expect(report.status == .skipped)
        let why = report.details?["deadman"] ?? ""
        #expect(why.contains("MySQL/MariaDB " + Self.endedByDeadman), "\(why)")
        #expect(why.contains("by 2023-11-14T22:13:20Z at the latest"), "\(why)")
        #expect(!why.contains("(passed)"))
        let pg = Recovery.heldSessionEnded(.init(type: "postgres", endsByEpochMs: nil))
        #expect(pg.details?["deadman"]?.contains("PostgreSQL session") == true)
        #expect(pg.details?["deadman"]?.contains("idle timeout") == false)
    }

    @Test func theNextRunsSummarySaysTheDeadmanEndedTheHold() {
        var report = RunReport(runId: "next", taskId: "next")
        report.recovered = [
            RecoveredStep(
                runId: "killed", plugin: "db:release",
                result: Recovery.heldSessionEnded(.init(type: "mysql", endsByEpochMs: nil))),
            RecoveredStep(runId: "killed", plugin: "app", result: StepReport(status: .succeeded)),
        ]
        let text = Summary(color: false).render(report)
        #expect(text.contains("recovered: ran 2 post step(s) owed by earlier run killed"), "\(text)")
        #expect(text.contains("db:release: the MySQL/MariaDB session of the interrupted run"), "\(text)")
        #expect(!text.contains("app: "), "\(text)")
    }
}
