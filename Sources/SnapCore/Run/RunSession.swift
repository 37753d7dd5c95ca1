import Foundation
import SnapSystem

/// One locked run: take the run lock, finish an interrupted run's duties, execute the plan, store
/// the report. Shared by `snaporch run` and the handler daemon.
package struct RunSession: Sendable {
    package let paths: Paths
    package let launcher: any ProcessLauncher
    /// The `snaporch` binary (it runs the freeze guard).
    package let executable: String

    package init(paths: Paths, launcher: any ProcessLauncher = PosixProcessLauncher(), executable: String) {
        self.paths = paths
        self.launcher = launcher
        self.executable = executable
    }

    /// What a session produced.
    package struct Result: Sendable {
        package var report: RunReport
        /// Problems storing the report (the run itself is in `report`).
        package var storeProblems: [String]
        /// A note for the admin when an interrupted run was finished first.
        package var recoveryNote: String?
    }

    /// Runs `plan` under the run lock (`heldLock`, or taken here waiting up to `lockWait`).
    /// - Throws: `RunLockError` when another run holds the lock.
    package func execute(
        _ plan: Plan, runId: String, heldLock: RunLock? = nil, lockWait: TimeSpan = .milliseconds(0),
        extraReportPath: String? = nil,
        provider: @escaping @Sendable (Plan) -> (any SnapshotProvider)?,
        beforeStore: @Sendable (inout RunReport) async -> Void = { _ in }
    ) async throws(RunLockError) -> Result {
        let lock: RunLock
        if let heldLock {
            lock = heldLock
        } else {
            lock = try await RunLock.acquire(directory: paths.runDir, waitUpTo: lockWait)
        }
        defer { withExtendedLifetime(lock) {} }
        let journal = RunJournal(directory: paths.runDir)
        var recovered: [RecoveredStep] = []
        var note: String?
        if let leftover = journal.leftover() {
            note = "an earlier run (\(leftover.runId), pid \(leftover.pid)) was interrupted; finishing its duties first"
            if let reason = leftover.unreadable {
                note = "the run journal is unreadable (\(reason)); thawing every mount it may name first"
            }
            recovered = await Recovery(launcher: launcher, killGrace: plan.config.killGrace).recover(leftover).steps
            journal.discard()
        }
        let interrupts = Interrupts()
        var orchestrator = Orchestrator(
            launcher: launcher,
            freezer: GuardedFreezer(executable: executable, expediteRCU: plan.config.freeze.expediteRCU),
            makeProvider: provider, journal: journal)
        orchestrator.interruption = { interrupts.receivedSignal }
        var report = await orchestrator.execute(plan, runId: runId)
        report.recovered = recovered
        await beforeStore(&report)
        let problems = ReportStore(paths: paths).save(report, extra: extraReportPath)
        return Result(report: report, storeProblems: problems, recoveryNote: note)
    }
}
