import SnapSystem

/// What the pre phase did: each plugin's pre step, which plugins started (and so owe a post),
/// which downgraded the run, and whether it stopped the run before any freeze.
struct PreResult: PhaseRecord {
    /// The pre step report of each plugin, by plan index (nil: it never ran).
    var steps: [StepReport?]
    /// The plugins whose pre started, in order: their posts run, in reverse.
    var started: [Int] = []
    /// Plugins whose failure downgrades the consistency (on_failure: continue).
    var degradedBy: [String] = []
    /// True when the run stops here: no freeze, no snapshot (the posts still run).
    var aborted = false
    var errors: [ErrorEntry] = []
    var reasons: [String] = []
    var timeline: [TimelineEntry] = []

    /// An empty result for `count` plugins.
    init(count: Int) { steps = Array(repeating: nil, count: count) }
}

/// Whether the pre phase goes on after a plugin's step.
enum PreFlow {
    /// Next plugin.
    case next
    /// The phase stops here (abort or interruption): no freeze, no snapshot.
    case stop
}

extension Orchestrator {
    /// PRE, in config order, within the `pre_timeout` budget; then a last look for an interruption
    /// before the freeze. Journals each owed post before its pre starts.
    func runPre(_ setup: RunSetup) async -> PreResult {
        var pre = PreResult(count: setup.plugins.count)
        let preEnd = setup.config.preTimeout.map { setup.timer.deadline(after: $0) }
        for index in setup.plugins.indices {
            if index == 0 { FaultPoint.hit("pre") }
            if let sig = interruption() {
                pre.aborted = true
                pre.reasons.append(
                    "interrupted by signal \(sig) before '\(setup.plugins[index].spec.name)': no freeze, no snapshot; post steps run"
                )
                pre.errors.append(ErrorEntry(.generic, "interrupted by signal \(sig)"))
                break
            }
            if await preStep(index, setup, preEnd: preEnd, &pre) == .stop { break }
        }
        if !pre.aborted, let sig = interruption() {
            pre.aborted = true
            pre.reasons.append("interrupted by signal \(sig) before the freeze: no snapshot; post steps run")
            pre.errors.append(ErrorEntry(.generic, "interrupted by signal \(sig)"))
        }
        return pre
    }

    /// One plugin's pre step: skipped when the phase budget is gone, failed when the plan refused
    /// its script, else run (journaled first) and judged by its `on_failure` policy.
    private func preStep(_ index: Int, _ setup: RunSetup, preEnd: MonotonicInstant?, _ pre: inout PreResult) async
        -> PreFlow
    {
        let plugin = setup.plugins[index]
        let spec = plugin.spec
        if spec.pre == nil && spec.kind == .script {
            pre.started.append(index)  // nothing to quiesce; its post still runs
            journalOwed(.post, of: plugin, setup)
            return .next
        }
        var budget = spec.timeout * (spec.retries + 1) + .milliseconds(spec.retries * 100)
        if let preEnd {
            let left = setup.timer.remaining(until: preEnd)
            if left.isZero { return skipForBudget(index, setup, &pre) }
            budget = min(budget, left)
        }
        if let refusal = setup.plan.entries[index].preRefusal {
            var refused = StepReport(status: .failed)
            refused.error = refusal.message
            pre.steps[index] = refused
            pre.errors.append(ErrorEntry(refusal.code, "plugin '\(spec.name)' pre: \(refusal.message)"))
            if spec.onFailure == .abort {
                pre.aborted = true
                pre.reasons.append("pre of '\(spec.name)' refused (on_failure: abort): \(refusal.message)")
                return .stop
            }
            pre.degradedBy.append(spec.name)
            pre.reasons.append("pre of '\(spec.name)' refused: \(refusal.message)")
            return .next
        }
        var stepContext = context(.pre, setup, budget: budget)
        if spec.kind == .mysql || spec.kind == .postgres {
            stepContext.postDeadline = postDeadline(index, budget: budget, preEnd: preEnd, setup)
        }
        let replica = Self.journalReplica(spec)
        let owedOnDisk = journalOwed(
            .post, of: plugin, setup,
            hold: spec.kind == .postgres ? Self.journalHold(spec, endingAfter: stepContext.postDeadline) : nil,
            replica: replica)
        if replica != nil, let journal {
            // Recovery restarts the replica from the owed post's record: without it, no stop.
            stepContext.announceReplicaStop = {
                owedOnDisk ? journal.replicaStopping(spec.name) : "its owed post is not in the run journal"
            }
        }
        pre.started.append(index)
        let begin = setup.timer.ms
        let result = await plugin.pre(stepContext)
        pre.timeline.append(TimelineEntry(step: .pre(plugin: spec.name), startMs: begin, endMs: setup.timer.ms))
        pre.steps[index] = result
        if !result.ok {
            let code: ErrorCode = result.status == .timedOut ? .prepostPreScriptTimeout : .prepostPreScriptFailed
            pre.errors.append(ErrorEntry(code, "plugin '\(spec.name)' pre: \(result.error ?? result.status.rawValue)"))
            if spec.onFailure == .abort {
                pre.aborted = true
                pre.reasons.append(
                    "pre of '\(spec.name)' \(result.status.rawValue) (on_failure: abort): no freeze, no snapshot")
                return .stop
            }
            pre.degradedBy.append(spec.name)
            pre.reasons.append("pre of '\(spec.name)' \(result.status.rawValue) (on_failure: continue)")
        }
        return .next
    }

    /// A plugin reached after the `pre_timeout` budget ran out: skipped, and the phase stops if
    /// its policy is abort.
    private func skipForBudget(_ index: Int, _ setup: RunSetup, _ pre: inout PreResult) -> PreFlow {
        let spec = setup.plugins[index].spec
        var skipped = StepReport(status: .skipped)
        skipped.error = "pre_timeout (\(setup.config.preTimeout!)) exhausted before this plugin"
        pre.steps[index] = skipped
        pre.errors.append(
            ErrorEntry(.prepostPluginhostPreTimeout, "pre phase budget exhausted before '\(spec.name)'"))
        if spec.onFailure == .abort {
            pre.aborted = true
            pre.reasons.append(
                "'\(spec.name)' (on_failure: abort) could not run its pre step in the pre_timeout budget")
            return .stop
        }
        pre.degradedBy.append(spec.name)
        return .next
    }
}
