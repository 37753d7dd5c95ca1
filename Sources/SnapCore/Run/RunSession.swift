import Foundation
import SnapSystem

/// The one composition root of a run, shared by `snaporch run` and the handler daemon: config →
/// plan → snapshot provider → orchestrator (launcher, guarded freezer, journal, interrupts,
/// clock), executed under the run lock after finishing an interrupted run's duties; the report
/// is stored.
package struct RunSession: Sendable {
    package let paths: Paths
    package let launcher: any ProcessLauncher
    /// The `snaporch` binary (it runs the freeze guard).
    package let executable: String
    /// The environment the run sees (mount-table overrides, the host endpoint).
    package let environment: [String: String]
    /// What the handler settings ask, when the run comes from them.
    package let request: HandlerRequest?
    /// The clocks of the run.
    package let clock: any RunClock
    /// What a split-phase run adds (where `end` comes from, who hears about the quiesce); nil otherwise.
    package var split: SplitHooks?
    /// Told when this run first finished the duties of an interrupted split-phase run (a holder
    /// that died): that run's own report and what `end` collects are kept by the split layer
    /// (`recordingSplitRecoveries()`).
    package var finishedSplitRun: (@Sendable (JournalState, [RecoveredStep], [EmergencyThaw.Result]) -> Void)?

    /// Creates the composition root of one run.
    package init(
        paths: Paths, launcher: any ProcessLauncher = PosixProcessLauncher(), executable: String,
        environment: [String: String], request: HandlerRequest? = nil, clock: any RunClock = SystemClock()
    ) {
        self.paths = paths
        self.launcher = launcher
        self.executable = executable
        self.environment = environment
        self.request = request
        self.clock = clock
    }

    /// What a session produced.
    package struct Result: Sendable {
        package var report: RunReport
        /// Problems storing the report (the run itself is in `report`).
        package var storeProblems: [String]
        /// A note for the admin when an interrupted run was finished first.
        package var recoveryNote: String?
        /// False when the report was not stored (`storeWhen` said no): the caller keeps it.
        package var stored = true
    }

    /// The plan of `config` with `options`; the handler settings supply the disks (when `options`
    /// names none) and the snapshot method (when the config names none).
    package func plan(_ config: Config, options: RunOptions) -> Plan {
        var config = config
        var options = options
        if let request {
            if options.disks.isEmpty { options.disks = request.disks }
            if config.snapshot.provider == .blob || config.snapshot.provider == .host {
                config.snapshot.method = config.snapshot.method ?? request.snapshotMethod
            }
        }
        return Planner(environment: environment).plan(config, options: options)
    }

    /// The snapshot provider `plan` asks for; nil when it is `none`.
    package func provider(for plan: Plan) -> (any SnapshotProvider)? {
        if plan.config.snapshot.provider == .platform {
            guard let split, let window = plan.splitWindow else { return nil }
            return PlatformSnapshotProvider(
                caller: plan.options.split?.caller ?? "platform", window: window.limit, bound: window.bound,
                source: split.ends, closed: split.closed)
        }
        return SnapshotProviders.make(
            for: plan, launcher: launcher, environment: environment, host: request?.host,
            metadata: request?.metadata ?? [])
    }

    /// Runs `plan` under the run lock (`heldLock`, or taken here waiting up to `lockWait`); the
    /// report is stored unless `storeWhen` says no (a split run's holder defers it when the
    /// platform may still have the state directory frozen).
    /// - Throws: `RunLockError` when another run holds the lock.
    package func execute(
        _ plan: Plan, runId: String, heldLock: RunLock? = nil, lockWait: TimeSpan = .milliseconds(0),
        extraReportPath: String? = nil, beforeStore: @Sendable (inout RunReport) async -> Void = { _ in },
        storeWhen: @Sendable (RunReport) -> Bool = { _ in true }
    ) async throws(RunLockError) -> Result {
        let lock: RunLock
        if let heldLock {
            lock = heldLock
        } else {
            lock = try await RunLock.acquire(directory: paths.runDir, waitUpTo: lockWait, clock: clock)
        }
        defer { withExtendedLifetime(lock) {} }
        let journal = RunJournal(directory: paths.runDir)
        let (recovered, note) = await finishInterrupted(journal, plan: plan)
        let interrupts = Interrupts()
        var orchestrator = Orchestrator(
            launcher: launcher,
            freezer: GuardedFreezer(
                executable: executable, expediteRCU: plan.config.freeze.expediteRCU,
                syncTimeout: plan.config.freeze.syncTimeout),
            makeProvider: { [self] plan in provider(for: plan) }, journal: journal)
        orchestrator.interruption = { interrupts.receivedSignal }
        orchestrator.clock = clock
        orchestrator.quiesced = split?.quiesced
        var report = await orchestrator.execute(plan, runId: runId)
        report.recovered = recovered
        await beforeStore(&report)
        guard storeWhen(report) else {
            return Result(report: report, storeProblems: [], recoveryNote: note, stored: false)
        }
        let problems = ReportStore(paths: paths).save(report, extra: extraReportPath)
        return Result(report: report, storeProblems: problems, recoveryNote: note)
    }

    /// Finishes the duties of an interrupted run the journal names (thaw, owed posts); returns
    /// what was recovered and a note for the admin.
    private func finishInterrupted(_ journal: RunJournal, plan: Plan) async -> ([RecoveredStep], String?) {
        guard let leftover = journal.leftover() else { return ([], nil) }
        var note = "an earlier run (\(leftover.runId), pid \(leftover.pid)) was interrupted; finishing its duties first"
        if leftover.finished == true {
            note =
                leftover.mayBeFrozen.isEmpty
                ? "an earlier run (\(leftover.runId)) ended with a post's duty left; finishing it first"
                : "an earlier run (\(leftover.runId)) ended without a confirmed thaw"
                    + (leftover.owed.isEmpty ? "" : " and with a post's duty left")
                    + "; thawing what it may have left first"
        }
        if let reason = leftover.unreadable {
            note = "the run journal is unreadable (\(reason)); thawing every mount it may name first"
        }
        let (recovered, thawed) = await Recovery(launcher: launcher, killGrace: plan.config.killGrace).recover(leftover)
        journal.discard(keeping: Recovery.left(recovered, of: leftover), of: leftover)
        if leftover.split != nil { finishedSplitRun?(leftover, recovered, thawed) }
        return (recovered, note)
    }
}

/// What a split-phase run adds to the composition root.
package struct SplitHooks: Sendable {
    /// Where `snaporch end` comes from (the holder's control channel).
    package var ends: any PlatformEndSource
    /// Told how the window closed.
    package var closed: @Sendable (PlatformEnd) -> Void
    /// Told once that the system is quiesced (inside the freeze window: no disk writes).
    package var quiesced: @Sendable (QuiescedReport) async -> Void

    /// Creates the hooks.
    package init(
        ends: any PlatformEndSource, closed: @escaping @Sendable (PlatformEnd) -> Void,
        quiesced: @escaping @Sendable (QuiescedReport) async -> Void
    ) {
        self.ends = ends
        self.closed = closed
        self.quiesced = quiesced
    }
}
