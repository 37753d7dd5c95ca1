import SnapSystem

/// What the post phase did: each started plugin's post step, and whether one failed.
struct PostResult: PhaseRecord {
    /// The post step report of each plugin, by plan index (nil: its pre never started).
    var steps: [StepReport?]
    /// True when a post step failed: the application may not have resumed.
    var failed = false
    var errors: [ErrorEntry] = []
    var reasons: [String] = []
    var timeline: [TimelineEntry] = []

    /// An empty result for `count` plugins.
    init(count: Int) { steps = Array(repeating: nil, count: count) }
}

extension Orchestrator {
    /// POST, in exact reverse order, for every plugin whose pre started, whatever happened to the
    /// freeze and the snapshot; each post learns the verdict through its environment. The journal
    /// records each post as done once it returned.
    func runPost(_ setup: RunSetup, pre: PreResult, verdict: Verdict) async -> PostResult {
        var post = PostResult(count: setup.plugins.count)
        let postEnd = setup.config.postTimeout.map { setup.timer.deadline(after: $0) }
        if !pre.started.isEmpty { FaultPoint.hit("post") }
        for index in pre.started.reversed() {
            let plugin = setup.plugins[index]
            let spec = plugin.spec
            let budget = postBudget(spec, setup, postEnd: postEnd, &post)
            let begin = setup.timer.ms
            var result: StepReport
            if let refusal = setup.plan.entries[index].postRefusal {
                result = StepReport(status: .failed)
                result.error = refusal.message
                post.errors.append(ErrorEntry(refusal.code, "plugin '\(spec.name)' post: \(refusal.message)"))
            } else {
                result = await plugin.post(context(.post, setup, budget: budget, verdict: verdict))
                if result.status != .skipped && !result.ok {
                    let code: ErrorCode =
                        result.status == .timedOut ? .prepostPostScriptTimeout : .prepostPostScriptFailed
                    post.errors.append(
                        ErrorEntry(code, "plugin '\(spec.name)' post: \(result.error ?? result.status.rawValue)"))
                }
            }
            if result.status != .skipped {
                post.timeline.append(
                    TimelineEntry(step: .post(plugin: spec.name), startMs: begin, endMs: setup.timer.ms))
            }
            if result.status != .skipped && !result.ok {
                post.failed = true
                post.reasons.append(
                    "post of '\(spec.name)' \(result.status.rawValue): the application may not have resumed")
            }
            post.steps[index] = result
            if let duty = result.dutyLeft {
                journal?.postLeftOwed(spec.name)
                post.reasons.append("post of '\(spec.name)' left a duty for recover or the next run: \(duty)")
            } else {
                journal?.postDone(spec.name)
            }
        }
        return post
    }

    /// A post step's budget: its timeout for every attempt, cut to what is left of `post_timeout`
    /// but never below a bounded minimum (a post always runs).
    private func postBudget(
        _ spec: PluginSpec, _ setup: RunSetup, postEnd: MonotonicInstant?, _ post: inout PostResult
    ) -> TimeSpan {
        let budget = spec.timeout * (spec.retries + 1)
        guard let postEnd else { return budget }
        let left = setup.timer.remaining(until: postEnd)
        guard left < budget else { return budget }
        if left.isZero {
            post.errors.append(
                ErrorEntry(
                    .prepostPluginhostPostTimeout,
                    "post phase budget exhausted at '\(spec.name)'; its post still runs (bounded)"))
        }
        return max(left, min(spec.timeout, .milliseconds(5000)))
    }
}
