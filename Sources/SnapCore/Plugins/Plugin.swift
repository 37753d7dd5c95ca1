import Foundation
import SnapSystem

/// An application-consistency plugin: a pre step (quiesce) and a post step (resume).
///
/// Implementations may keep state between `pre` and `post` (a database plugin keeps its client
/// session open across the freeze window), so the pipeline calls both on the same instance.
package protocol Plugin: Sendable {
    /// The configuration entry this plugin was built from.
    var spec: PluginSpec { get }

    /// Quiesces the application. Must return within `context.budget` plus the kill grace.
    func pre(_ context: StepContext) async -> StepReport

    /// Resumes the application. Called for every plugin whose pre started, whatever happened.
    func post(_ context: StepContext) async -> StepReport

    /// True when the plugin splits its quiesce: `pre` only prepares (blocks nothing) and `hold`
    /// takes the short blocking step right before the freeze; `release` ends it right after the
    /// thaw, before any post. A plugin without a hold stage holds from `pre` to `post`.
    var hasHold: Bool { get }

    /// The blocking step. Holds run after every pre, in config order, immediately before the
    /// first FIFREEZE (or the snapshot call when nothing is frozen).
    func hold(_ context: StepContext) async -> StepReport

    /// Ends the hold. Called right after the thaw, in reverse order, for every plugin whose hold
    /// started, whatever happened.
    func release(_ context: StepContext) async -> StepReport

    /// The command lines the steps would run, for `--dry-run` and the journal.
    func describe(_ phase: Phase) -> String?

    /// Called right after the thaw for a plugin whose pre succeeded: nil when its quiesce held
    /// through the window, else why it did not (a database session that died, say).
    func verifyHeld() async -> String?

    /// The process groups whose life is a hold this plugin has now (a database client session
    /// holding a lock or a backup): the freeze guard kills them at the freeze deadline when snaporch
    /// has not thawed by then (stopped or hung), so the hold cannot outlive the window. Empty when
    /// nothing is held.
    func holdingProcessGroups() -> [Int32]
}

extension Plugin {
    package func verifyHeld() async -> String? { nil }
    package func holdingProcessGroups() -> [Int32] { [] }
    package var hasHold: Bool { false }
    package func hold(_ context: StepContext) async -> StepReport { StepReport(status: .skipped) }
    package func release(_ context: StepContext) async -> StepReport { StepReport(status: .skipped) }
}

/// What a step knows about the run it belongs to.
package struct StepContext: Sendable {
    /// The phase.
    package var phase: Phase
    /// Run identifier.
    package var runId: String
    /// Backup task identifier (from the handler settings, or the run id).
    package var taskId: String
    /// The time left for this step (the plugin timeout capped by the phase budget).
    package var budget: TimeSpan
    /// Epoch seconds by which the step must be done (exported as SNAPORCH_DEADLINE).
    package var deadlineEpoch: Int64
    /// True for a dry run (scripts are told, nothing is run).
    package var dryRun: Bool
    /// For post: `snapshot-taken` or `no-snapshot`.
    package var outcome: StepOutcome?
    /// For post: the consistency reached.
    package var consistency: RunReport.Consistency?
    /// Grace between SIGTERM and SIGKILL.
    package var killGrace: TimeSpan
    /// Masks secrets in captured output.
    package var redactor: Redactor
    /// The mount points the run freezes (empty when it does not freeze).
    package var frozenMounts: [String] = []
    /// For a hold: the window deadline as known now (`HoldDeadline.windowDeadline`; a lease in a
    /// split run), from which the hold's server-side dead-man is derived. nil outside the pipeline.
    package var windowDeadline: MonotonicInstant?
    /// For a database plugin's pre: the latest start of its post (`HoldDeadline.postDeadline`), the
    /// dead-man of a session that lives from pre to post. nil outside the pipeline.
    package var postDeadline: MonotonicInstant?
    /// For a MySQL/MariaDB pre with `replica: true`: records, durably, that the replica SQL thread
    /// is about to be stopped, so that `recover` starts it again after a crash. Returns nil when
    /// recorded, else why not (then it is not stopped). nil outside the pipeline: nothing to record.
    package var announceReplicaStop: (@Sendable () -> String?)?

    /// Creates a context.
    package init(
        phase: Phase, runId: String, taskId: String, budget: TimeSpan, deadlineEpoch: Int64, dryRun: Bool = false,
        outcome: StepOutcome? = nil, consistency: RunReport.Consistency? = nil, killGrace: TimeSpan = .seconds(5),
        redactor: Redactor = Redactor(), frozenMounts: [String] = []
    ) {
        self.frozenMounts = frozenMounts
        self.phase = phase
        self.runId = runId
        self.taskId = taskId
        self.budget = budget
        self.deadlineEpoch = deadlineEpoch
        self.dryRun = dryRun
        self.outcome = outcome
        self.consistency = consistency
        self.killGrace = killGrace
        self.redactor = redactor
    }

    /// The `PATH` every step gets (where an `env` interpreter line looks).
    package static let scriptSearchPath = Paths.scriptSearchPath

    /// The environment contract of the design, on top of a minimal safe base.
    package func environment(plugin: String) -> [String: String] {
        var env: [String: String] = [
            "PATH": Self.scriptSearchPath,
            "LANG": "C.UTF-8",
            "HOME": "/root",
            "SNAPORCH_PHASE": phase.rawValue,
            "SNAPORCH_PLUGIN": plugin,
            "SNAPORCH_TASK_ID": taskId,
            "SNAPORCH_RUN_ID": runId,
            "SNAPORCH_DEADLINE": String(deadlineEpoch),
            "SNAPORCH_DRY_RUN": dryRun ? "1" : "0",
        ]
        if let outcome { env["SNAPORCH_OUTCOME"] = outcome.rawValue }
        if let consistency { env["SNAPORCH_CONSISTENCY"] = consistency.rawValue }
        return env
    }
}
