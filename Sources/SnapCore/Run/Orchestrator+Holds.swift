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
    let redactor: Redactor
    /// Indices whose hold started, in the order they started.
    private(set) var started: [Int] = []
    /// Plugins whose hold failed with `on_failure: continue`.
    private(set) var degradedBy: [String] = []
    /// True when a hold failed with `on_failure: abort`: no freeze, no snapshot.
    private(set) var aborted = false
    /// True once the releases ran (they run once, right after the thaw or the snapshot call).
    private(set) var released = false

    init(plugins: [any Plugin], started: [Int], reports: [PluginReport], redactor: Redactor) {
        self.plugins = plugins
        self.redactor = redactor
        candidates = started.filter { plugins[$0].hasHold && reports[$0].pre?.ok != false }
    }

    /// True when no plugin takes a hold in this run.
    var isEmpty: Bool { candidates.isEmpty }
}

extension Orchestrator {
    /// Runs the holds in config order. Stops at a failed hold whose plugin says `on_failure: abort`.
    func takeHolds(_ holds: inout HoldStage, _ plan: Plan, _ report: inout RunReport, _ clock: RunClock) async {
        for index in holds.candidates {
            let plugin = holds.plugins[index]
            let spec = plugin.spec
            journalOwedRelease(plugin, report)
            holds.record(started: index)
            let begin = clock.ms
            let result: StepReport
            if let refusal = plan.entries[index].holdRefusal {
                var refused = StepReport(status: .failed)
                refused.error = refusal.message
                result = refused
            } else {
                let budget = spec.timeout.milliseconds * (spec.retries + 1) + spec.retries * 100
                result = await plugin.hold(context(.hold, plan, report, budget: budget, redactor: holds.redactor))
                report.timeline.append(TimelineEntry(step: .hold(plugin: spec.name), startMs: begin, endMs: clock.ms))
            }
            report.plugins[index].hold = result
            guard !result.ok else { continue }
            let code: ErrorCode =
                plan.entries[index].holdRefusal?.code
                ?? (result.status == .timedOut ? .prepostPreScriptTimeout : .prepostPreScriptFailed)
            report.errors.append(
                ErrorEntry(code, "plugin '\(spec.name)' hold: \(result.error ?? result.status.rawValue)"))
            if spec.onFailure == .abort {
                report.reasons.append(
                    "hold of '\(spec.name)' \(result.status.rawValue) (on_failure: abort): no freeze, no snapshot")
                holds.recordAbort()
                return
            }
            holds.record(degraded: spec.name)
            report.reasons.append("hold of '\(spec.name)' \(result.status.rawValue) (on_failure: continue)")
        }
    }

    /// Checks that every session-held quiesce still holds, then runs the releases in reverse order.
    func releaseHolds(_ holds: inout HoldStage, _ plan: Plan, _ report: inout RunReport, _ clock: RunClock) async {
        if report.snapshot.taken {
            for index in holds.started where report.plugins[index].hold?.ok == true {
                let name = holds.plugins[index].spec.name
                if let problem = await holds.plugins[index].verifyHeld() {
                    holds.record(degraded: name)
                    report.reasons.append("'\(name)': \(problem)")
                    report.errors.append(ErrorEntry(.workloadQuiescingTimeout, "plugin '\(name)': \(problem)"))
                }
            }
        }
        for index in holds.started.reversed() {
            let plugin = holds.plugins[index]
            let spec = plugin.spec
            let begin = clock.ms
            var result: StepReport
            if let refusal = plan.entries[index].releaseRefusal {
                result = StepReport(status: .failed)
                result.error = refusal.message
            } else {
                let budget = spec.timeout.milliseconds * (spec.retries + 1)
                result = await plugin.release(
                    context(.release, plan, report, budget: budget, redactor: holds.redactor))
                report.timeline.append(TimelineEntry(step: .release(plugin: spec.name), startMs: begin, endMs: clock.ms))
            }
            if result.status != .skipped && !result.ok {
                let code: ErrorCode =
                    plan.entries[index].releaseRefusal?.code
                    ?? (result.status == .timedOut ? .prepostPostScriptTimeout : .prepostPostScriptFailed)
                report.errors.append(
                    ErrorEntry(code, "plugin '\(spec.name)' release: \(result.error ?? result.status.rawValue)"))
                holds.record(degraded: spec.name)
                report.reasons.append(
                    "release of '\(spec.name)' \(result.status.rawValue): the application may not have resumed")
            }
            report.plugins[index].release = result
            journal?.postDone(Self.releaseJournalName(spec.name))
        }
        holds.releasedAll()
    }

    /// The journal's name of a plugin's owed release (owed after its post, so run before it).
    static func releaseJournalName(_ plugin: String) -> String { "\(plugin):release" }

    /// Records in the journal that `plugin`'s release is owed, exactly as it will run.
    func journalOwedRelease(_ plugin: any Plugin, _ report: RunReport) {
        guard let journal else { return }
        let spec = plugin.spec
        var invocation: StepInvocation?
        if let script = plugin as? ScriptPlugin {
            let context = StepContext(
                phase: .release, runId: report.runId, taskId: report.taskId, budget: spec.timeout, deadlineEpoch: 0)
            var environment = context.environment(plugin: spec.name)
            environment.removeValue(forKey: "SNAPORCH_DEADLINE")
            invocation = script.invocation(.release, environment: environment)
        }
        journal.preStarting(
            Self.releaseJournalName(spec.name), post: spec.release, arguments: spec.args, timeout: spec.timeout,
            invocation: invocation)
    }
}

extension HoldStage {
    fileprivate mutating func record(started index: Int) { started.append(index) }
    fileprivate mutating func record(degraded name: String) {
        if !degradedBy.contains(name) { degradedBy.append(name) }
    }
    fileprivate mutating func recordAbort() { aborted = true }
    fileprivate mutating func releasedAll() { released = true }
}
