import Foundation
import SnapSystem

/// The run pipeline: PRE in order → WINDOW (freeze, snapshot, thaw) → VERIFY → VERDICT → POST in
/// reverse → the report assembled from the phases' results.
///
/// Every OS access goes through the injected seams (launcher, freezer, provider, journal, clock),
/// so the ordering rules are tested with fakes and the real implementations are tested against
/// the kernel on their own.
/// Safety contract: thaws on every path; runs post for every plugin whose pre started, whatever
/// happened to the freeze and the snapshot; writes nothing to disk inside the freeze window.
package struct Orchestrator: Sendable {
    package var launcher: any ProcessLauncher
    package var freezer: any Freezer
    /// Builds the snapshot provider of a plan; nil when the provider is not available.
    package var makeProvider: @Sendable (Plan) -> (any SnapshotProvider)?
    package var journal: RunJournal?
    /// Reports a signal asking the run to stop (checked between steps); nil when none came.
    package var interruption: @Sendable () -> Int32? = { nil }
    /// The clocks the run reads: deadlines, budgets and the timeline (monotonic), timestamps (wall).
    package var clock: any RunClock = SystemClock()
    /// Told once, right before the window of a split-phase run waits for `snaporch end`, that the
    /// system is quiesced (called inside the freeze window: it must not write to a disk).
    package var quiesced: (@Sendable (QuiescedReport) async -> Void)?

    /// Creates an orchestrator from its seams.
    package init(
        launcher: any ProcessLauncher, freezer: any Freezer,
        makeProvider: @escaping @Sendable (Plan) -> (any SnapshotProvider)?, journal: RunJournal?
    ) {
        self.launcher = launcher
        self.freezer = freezer
        self.makeProvider = makeProvider
        self.journal = journal
    }

    /// Executes `plan` and returns the report (never throws: every failure is in the report).
    ///
    /// The phases run in this order, each returning its own result; the journal records each
    /// duty before the action it covers (an owed post before its pre, the mounts before FIFREEZE,
    /// the verdict before the posts).
    package func execute(_ plan: Plan, runId: String) async -> RunReport {
        let startedAt = UTCTimestamp(epochMillis: clock.wallMillis).iso8601
        let setup = prepareRun(plan, runId: runId)
        journal?.begin(runId: runId, taskId: setup.taskId, split: plan.options.split?.caller)
        let pre = await runPre(setup)
        var window = pre.aborted ? WindowResult(skipping: setup.plan) : await runWindow(setup, pre: pre)
        let verify = await verifyHolds(setup, pre: pre, window: window)
        let verdict = Self.verdict(setup.plan, pre: pre, window: window, verify: verify)
        journal?.outcomeKnown(outcome: verdict.outcome, consistency: verdict.consistency)
        let post = await runPost(setup, pre: pre, verdict: verdict)
        if let inFlight = window.inFlight { await settleInFlight(inFlight, &window) }
        journal?.finish()
        var report = Self.assemble(setup, pre: pre, window: window, verify: verify, verdict: verdict, post: post)
        report.startedAt = startedAt
        return report
    }

    /// What every phase shares: the plan with the run id, the plugins, the redactor, the stopwatch.
    private func prepareRun(_ plan: Plan, runId: String) -> RunSetup {
        var plan = plan
        plan.options.runId = runId
        return RunSetup(
            plan: plan, runId: runId, taskId: plan.options.taskId ?? runId,
            plugins: plan.entries.map { PluginFactory.make($0.spec, launcher: launcher) },
            redactor: Redactor(secrets: plan.disks.flatMap(\.signatures)), timer: RunTimer(clock: clock))
    }

    /// The report, from the phases' results: their errors, reasons and timeline in phase order.
    static func assemble(
        _ setup: RunSetup, pre: PreResult, window: WindowResult, verify: VerifyResult, verdict: Verdict,
        post: PostResult
    ) -> RunReport {
        let plan = setup.plan
        var report = RunReport(runId: setup.runId, taskId: setup.taskId)
        // A rehearsal is a run told on the command line to leave a step out; the config's own
        // choices (freeze.enabled: false, provider: none) make a real run.
        report.mode = plan.options.split != nil || (plan.options.freeze && plan.options.snapshot) ? .run : .rehearsal
        report.plugins = plan.entries.indices.map { index in
            let spec = plan.entries[index].spec
            var plugin = PluginReport(name: spec.name, type: spec.kind.rawValue, dropIn: spec.isDropIn)
            plugin.pre = pre.steps[index]
            plugin.hold = window.holds?.holdSteps[index]
            plugin.release = window.holds?.releaseSteps[index]
            plugin.post = post.steps[index]
            return plugin
        }
        report.freeze = window.freeze
        report.snapshot = window.snapshot
        let phases: [any PhaseRecord] = [pre, window, verify, verdict, post]
        report.errors = phases.flatMap(\.errors)
        report.reasons = phases.flatMap(\.reasons)
        report.timeline = phases.flatMap(\.timeline)
        report.consistency = verdict.consistency
        report.outcome = Self.outcome(
            plan: plan, report: report, aborted: pre.aborted || window.holds?.aborted == true,
            freezeOK: window.freezeOK,
            degraded: !verdict.degradedBy.isEmpty || post.failed)
        let elapsed = setup.timer.us
        report.durationMs = elapsed / 1000
        report.durationUs = elapsed
        return report
    }

    /// The context of one step: the script contract's environment, the budget and its deadline;
    /// a post step also learns the verdict.
    func context(_ phase: Phase, _ setup: RunSetup, budget: TimeSpan, verdict: Verdict? = nil) -> StepContext {
        StepContext(
            phase: phase, runId: setup.runId, taskId: setup.taskId, budget: budget,
            deadlineEpoch: setup.timer.deadlineEpoch(after: budget), dryRun: false,
            outcome: verdict?.outcome, consistency: verdict?.consistency,
            killGrace: setup.config.killGrace, redactor: setup.redactor,
            frozenMounts: setup.plan.freezes ? setup.plan.mounts.map(\.mountPoint) : [])
    }
}
