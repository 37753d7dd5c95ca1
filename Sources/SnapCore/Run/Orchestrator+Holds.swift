import Foundation
import SnapSystem

/// The hold stage of a run: the short blocking steps of the plugins that split their quiesce
/// (a database's BLOCK_COMMIT or FTWRL, an admin's `hold:` script), nested tightly around the
/// freeze window.
///
/// Order: every pre (prepare) runs first, in config order; then the freeze guard is prepared
/// (syncfs included) and the journal written; then the holds run, in config order, immediately
/// before the first FIFREEZE; the releases run immediately after the thaw, in reverse, before the
/// post-thaw checks and every post. So an application is blocked for the window plus the holds
/// and releases of the plugins after it — not for every other plugin's pre and post.
///
/// Safety contract: a release runs for every plugin whose hold started, whatever happened (a
/// failed hold, an aborted run, a failed freeze); the journal owes each release before its hold
/// starts, so `recover` runs it after a crash (before the posts: releases are owed last).
struct HoldStage: Sendable {
    /// Plugins with a hold stage whose pre succeeded (or that have no pre), in config order.
    let candidates: [Int]
    let plugins: [any Plugin]
    /// Indices whose hold started, in the order they started.
    private(set) var started: [Int] = []
    /// The hold and release steps, by plugin index.
    private(set) var holdSteps: [Int: StepReport] = [:]
    private(set) var releaseSteps: [Int: StepReport] = [:]
    /// Plugins whose hold failed with `on_failure: continue`, or whose hold did not last.
    private(set) var degradedBy: [String] = []
    /// True when a hold failed with `on_failure: abort`: no freeze, no snapshot.
    private(set) var aborted = false
    /// True once the releases ran (they run once, right after the thaw or the snapshot call).
    private(set) var released = false

    init(plugins: [any Plugin], pre: PreResult) {
        self.plugins = plugins
        candidates = pre.started.filter { plugins[$0].hasHold && pre.steps[$0]?.ok != false }
    }

    /// True when no plugin takes a hold in this run.
    var isEmpty: Bool { candidates.isEmpty }
}

extension Orchestrator {
    /// Runs the holds in config order. Stops at a failed hold whose plugin says `on_failure: abort`.
    func takeHolds(_ holds: inout HoldStage, _ setup: RunSetup, _ window: inout WindowResult) async {
        let plan = setup.plan
        for (position, index) in holds.candidates.enumerated() {
            let plugin = holds.plugins[index]
            let spec = plugin.spec
            var stepContext = context(.hold, setup, budget: Self.holdBudget(spec))
            stepContext.windowDeadline = windowDeadline(holds, from: position, setup)
            journalOwed(
                .release, of: plugin, setup, hold: Self.journalHold(spec, endingAfter: stepContext.windowDeadline))
            holds.record(started: index)
            let begin = setup.timer.ms
            let result: StepReport
            if let refusal = plan.entries[index].holdRefusal {
                var refused = StepReport(status: .failed)
                refused.error = refusal.message
                result = refused
            } else {
                result = await plugin.hold(stepContext)
                window.timeline.append(
                    TimelineEntry(step: .hold(plugin: spec.name), startMs: begin, endMs: setup.timer.ms))
            }
            holds.record(hold: result, at: index)
            guard !result.ok else { continue }
            let code: ErrorCode =
                plan.entries[index].holdRefusal?.code
                ?? (result.status == .timedOut ? .prepostPreScriptTimeout : .prepostPreScriptFailed)
            window.errors.append(
                ErrorEntry(code, "plugin '\(spec.name)' hold: \(result.error ?? result.status.rawValue)"))
            if spec.onFailure == .abort {
                window.reasons.append(
                    "hold of '\(spec.name)' \(result.status.rawValue) (on_failure: abort): no freeze, no snapshot")
                holds.recordAbort()
                return
            }
            holds.record(degraded: spec.name)
            window.reasons.append("hold of '\(spec.name)' \(result.status.rawValue) (on_failure: continue)")
        }
    }

    /// Checks that every session-held quiesce still holds, then runs the releases in reverse order.
    func releaseHolds(_ holds: inout HoldStage, _ setup: RunSetup, _ window: inout WindowResult) async {
        let plan = setup.plan
        if window.snapshot.taken {
            for index in holds.started where holds.holdSteps[index]?.ok == true {
                let name = holds.plugins[index].spec.name
                if let problem = await holds.plugins[index].verifyHeld() {
                    holds.record(degraded: name)
                    window.reasons.append("'\(name)': \(problem)")
                    window.errors.append(ErrorEntry(.workloadQuiescingTimeout, "plugin '\(name)': \(problem)"))
                }
            }
        }
        for index in holds.started.reversed() {
            let plugin = holds.plugins[index]
            let spec = plugin.spec
            let begin = setup.timer.ms
            var result: StepReport
            if let refusal = plan.entries[index].releaseRefusal {
                result = StepReport(status: .failed)
                result.error = refusal.message
            } else {
                let budget = spec.timeout * (spec.retries + 1)
                result = await plugin.release(context(.release, setup, budget: budget))
                window.timeline.append(
                    TimelineEntry(step: .release(plugin: spec.name), startMs: begin, endMs: setup.timer.ms))
            }
            if result.status != .skipped && !result.ok {
                let code: ErrorCode =
                    plan.entries[index].releaseRefusal?.code
                    ?? (result.status == .timedOut ? .prepostPostScriptTimeout : .prepostPostScriptFailed)
                window.errors.append(
                    ErrorEntry(code, "plugin '\(spec.name)' release: \(result.error ?? result.status.rawValue)"))
                holds.record(degraded: spec.name)
                window.reasons.append(
                    "release of '\(spec.name)' \(result.status.rawValue): the application may not have resumed")
            }
            holds.record(release: result, at: index)
            journal?.postDone(Self.releaseJournalName(spec.name))
        }
        holds.releasedAll()
    }
}

extension HoldStage {
    fileprivate mutating func record(started index: Int) { started.append(index) }
    fileprivate mutating func record(hold step: StepReport, at index: Int) { holdSteps[index] = step }
    fileprivate mutating func record(release step: StepReport, at index: Int) { releaseSteps[index] = step }
    fileprivate mutating func record(degraded name: String) {
        if !degradedBy.contains(name) { degradedBy.append(name) }
    }
    fileprivate mutating func recordAbort() { aborted = true }
    fileprivate mutating func releasedAll() { released = true }
}
