import Foundation
import SnapSystem

/// The begin part of a split-phase run, gathered once the holds are taken and announced right
/// before the window waits for `snaporch end`.
struct QuiesceDraft: Sendable {
    /// Every plugin with its pre and hold step.
    var plugins: [PluginReport]
    var errors: [ErrorEntry]
    var reasons: [String]
    /// A pre or hold step failed under `on_failure: continue`.
    var degraded: Bool
}

extension Orchestrator {
    /// The begin part of the run so far; nil when nobody listens for the quiesce (not a split run).
    func quiesceDraft(_ setup: RunSetup, pre: PreResult, holds: HoldStage, window: WindowResult) -> QuiesceDraft? {
        guard quiesced != nil, setup.plan.options.split != nil else { return nil }
        let plugins = setup.plan.entries.indices.map { index in
            let spec = setup.plan.entries[index].spec
            var plugin = PluginReport(name: spec.name, type: spec.kind.rawValue, dropIn: spec.isDropIn)
            plugin.pre = pre.steps[index]
            plugin.hold = holds.holdSteps[index]
            return plugin
        }
        return QuiesceDraft(
            plugins: plugins, errors: pre.errors + window.errors, reasons: pre.reasons + window.reasons,
            degraded: !pre.degradedBy.isEmpty || !holds.degradedBy.isEmpty)
    }

    /// Tells the listener that the system is quiesced (once): the holds are taken and, when the run
    /// freezes, `mounts` are frozen; the window closes at `deadline` at the latest.
    ///
    /// Safety contract: called inside the freeze window; the listener writes nothing to a disk
    /// that may be frozen (a pipe, `/run`).
    func announceQuiesced(
        _ setup: RunSetup, _ window: inout WindowResult, mounts: [MountReport], deadline: MonotonicInstant
    ) async {
        guard let draft = window.quiesce, let quiesced, let split = setup.plan.options.split,
            let limit = setup.plan.splitWindow
        else { return }
        window.quiesce = nil
        let now = clock.wallDate
        let left = setup.timer.remaining(until: deadline)
        var info = SplitReport(
            caller: split.caller, leaseMs: split.lease.milliseconds, windowMs: limit.limit.milliseconds,
            bound: limit.bound, platformFreezes: split.platformFreezes, holderPid: ThisProcess.id)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        info.quiescedAt = iso.string(from: now)
        info.callerNotes = split.notes.isEmpty ? nil : split.notes
        var freeze = window.freeze
        freeze.mounts = mounts
        let freezeFailed = setup.plan.freezes && !mounts.contains(where: \.frozen)
        let report = QuiescedReport(
            runId: setup.runId, taskId: setup.taskId, degraded: draft.degraded || freezeFailed, split: info,
            windowEndsAt: iso.string(from: now.addingTimeInterval(left.seconds)), plugins: draft.plugins,
            freeze: freeze, errors: draft.errors + window.errors.filter { !draft.errors.contains($0) },
            reasons: draft.reasons + window.reasons.filter { !draft.reasons.contains($0) })
        await quiesced(report)
    }
}
