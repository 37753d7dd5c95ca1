import Foundation
import SnapSystem

/// The run pipeline: PRE in order → FREEZE → SNAPSHOT → THAW → POST in reverse → aggregate.
///
/// Every OS access goes through the injected seams, so the ordering rules are tested with fakes
/// and the real implementations are tested against the kernel on their own.
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
    package func execute(_ plan: Plan, runId: String) async -> RunReport {
        var plan = plan
        plan.options.runId = runId
        let config = plan.config
        var report = RunReport(runId: runId, taskId: plan.options.taskId ?? runId)
        // A rehearsal is a run told on the command line to leave a step out; the config's own
        // choices (freeze.enabled: false, provider: none) make a real run.
        report.mode = plan.options.freeze && plan.options.snapshot ? .run : .rehearsal
        report.startedAt = ISO8601DateFormatter().string(from: Date())
        let clock = RunClock()
        // Literal secrets this run knows, masked wherever they might surface (even URL-encoded).
        let redactor = Redactor(secrets: plan.disks.flatMap(\.signatures))
        journal?.begin(runId: runId, taskId: report.taskId)
        let plugins: [any Plugin] = plan.entries.map { PluginFactory.make($0.spec, launcher: launcher) }
        report.plugins = plan.entries.map {
            PluginReport(name: $0.spec.name, type: $0.spec.kind.rawValue, dropIn: $0.spec.isDropIn)
        }

        // PRE, in order.
        var started: [Int] = []
        var aborted = false
        var degradedBy: [String] = []
        let preEnd = config.preTimeout.map { clock.now + UInt64($0.milliseconds) * 1_000_000 }
        for (index, plugin) in plugins.enumerated() {
            let spec = plugin.spec
            let entry = plan.entries[index]
            if index == 0 { FaultPoint.hit("pre") }
            if let sig = interruption() {
                aborted = true
                report.reasons.append(
                    "interrupted by signal \(sig) before '\(spec.name)': no freeze, no snapshot; post steps run")
                report.errors.append(ErrorEntry(.generic, "interrupted by signal \(sig)"))
                break
            }
            if spec.pre == nil && spec.kind == .script {
                started.append(index)  // nothing to quiesce; its post still runs
                journalOwedPost(plugin, report)
                continue
            }
            var budget = spec.timeout.milliseconds * (spec.retries + 1) + spec.retries * 100
            if let preEnd {
                let left = preEnd > clock.now ? Int((preEnd - clock.now) / 1_000_000) : 0
                if left <= 0 {
                    var skipped = StepReport(status: .skipped)
                    skipped.error = "pre_timeout (\(config.preTimeout!)) exhausted before this plugin"
                    report.plugins[index].pre = skipped
                    report.errors.append(
                        ErrorEntry(.prepostPluginhostPreTimeout, "pre phase budget exhausted before '\(spec.name)'"))
                    if spec.onFailure == .abort {
                        aborted = true
                        report.reasons.append(
                            "'\(spec.name)' (on_failure: abort) could not run its pre step in the pre_timeout budget")
                        break
                    } else {
                        degradedBy.append(spec.name)
                    }
                    continue
                }
                budget = min(budget, left)
            }
            if let refusal = entry.preRefusal {
                var refused = StepReport(status: .failed)
                refused.error = refusal.message
                report.plugins[index].pre = refused
                report.errors.append(ErrorEntry(refusal.code, "plugin '\(spec.name)' pre: \(refusal.message)"))
                if spec.onFailure == .abort {
                    aborted = true
                    report.reasons.append("pre of '\(spec.name)' refused (on_failure: abort): \(refusal.message)")
                    break
                }
                degradedBy.append(spec.name)
                report.reasons.append("pre of '\(spec.name)' refused: \(refusal.message)")
                continue
            }
            journalOwedPost(plugin, report)
            started.append(index)
            let begin = clock.ms
            let result = await plugin.pre(context(.pre, plan, report, budget: budget, redactor: redactor))
            report.timeline.append(TimelineEntry(step: .pre(plugin: spec.name), startMs: begin, endMs: clock.ms))
            report.plugins[index].pre = result
            if !result.ok {
                let code: ErrorCode = result.status == .timedOut ? .prepostPreScriptTimeout : .prepostPreScriptFailed
                report.errors.append(
                    ErrorEntry(code, "plugin '\(spec.name)' pre: \(result.error ?? result.status.rawValue)"))
                if spec.onFailure == .abort {
                    aborted = true
                    report.reasons.append(
                        "pre of '\(spec.name)' \(result.status.rawValue) (on_failure: abort): no freeze, no snapshot")
                    break
                }
                degradedBy.append(spec.name)
                report.reasons.append("pre of '\(spec.name)' \(result.status.rawValue) (on_failure: continue)")
            }
        }

        // FREEZE → SNAPSHOT → THAW.
        var freezeOK = false
        var inFlight: (any FreezeSession)?
        if !aborted, let sig = interruption() {
            aborted = true
            report.reasons.append("interrupted by signal \(sig) before the freeze: no snapshot; post steps run")
            report.errors.append(ErrorEntry(.generic, "interrupted by signal \(sig)"))
        }
        var holds = HoldStage(plugins: plugins, started: started, reports: report.plugins, redactor: redactor)
        if !aborted {
            freezeOK = await window(plan, &report, clock, inFlight: &inFlight, holds: &holds)
            degradedBy += holds.degradedBy
            aborted = holds.aborted
        } else {
            report.freeze.enabled = plan.freezes
            report.snapshot.provider = plan.config.snapshot.provider
        }

        // A quiesce that lives in a session (a database lock) must still hold after the thaw.
        if report.snapshot.taken {
            for index in started where report.plugins[index].pre?.ok == true && !plugins[index].hasHold {
                if let problem = await plugins[index].verifyHeld() {
                    degradedBy.append(plugins[index].spec.name)
                    report.reasons.append("'\(plugins[index].spec.name)': \(problem)")
                    report.errors.append(
                        ErrorEntry(.workloadQuiescingTimeout, "plugin '\(plugins[index].spec.name)': \(problem)"))
                }
            }
        }

        // Consistency, known before post so that post scripts can be told. Without any plugin that
        // quiesces an application, a frozen snapshot is filesystem-consistent, not application-consistent.
        let quiesces = plan.entries.contains(where: \.quiesces)
        report.consistency = Self.consistency(
            snapshot: report.snapshot.taken, freezeOK: freezeOK, degraded: !degradedBy.isEmpty || !quiesces)
        if report.consistency == .filesystem && !quiesces {
            report.reasons.append("no plugin quiesces an application: the snapshot is filesystem-consistent")
        }
        if report.snapshot.taken && !freezeOK && plan.freezes {
            report.reasons.append("the freeze did not hold (see freeze): the snapshot is only crash-consistent")
        } else if report.snapshot.taken && !plan.freezes {
            report.reasons.append(
                "filesystems were not frozen (\(plan.options.freeze ? "freeze.enabled: false" : "--no-freeze")): crash-consistent"
            )
        }

        // POST, in exact reverse order, for every plugin whose pre started.
        journal?.outcomeKnown(
            outcome: StepOutcome(taken: report.snapshot.taken), consistency: report.consistency)
        var postFailed = false
        let postEnd = config.postTimeout.map { clock.now + UInt64($0.milliseconds) * 1_000_000 }
        if !started.isEmpty { FaultPoint.hit("post") }
        for index in started.reversed() {
            let plugin = plugins[index]
            let spec = plugin.spec
            var budget = spec.timeout.milliseconds * (spec.retries + 1)
            if let postEnd {
                let left = postEnd > clock.now ? Int((postEnd - clock.now) / 1_000_000) : 0
                if left < budget {
                    if left <= 0 {
                        report.errors.append(
                            ErrorEntry(
                                .prepostPluginhostPostTimeout,
                                "post phase budget exhausted at '\(spec.name)'; its post still runs (bounded)"))
                    }
                    budget = max(left, min(spec.timeout.milliseconds, 5000))
                }
            }
            let begin = clock.ms
            var result: StepReport
            if let refusal = plan.entries[index].postRefusal {
                result = StepReport(status: .failed)
                result.error = refusal.message
                report.errors.append(ErrorEntry(refusal.code, "plugin '\(spec.name)' post: \(refusal.message)"))
            } else {
                result = await plugin.post(context(.post, plan, report, budget: budget, redactor: redactor))
                if result.status != .skipped && !result.ok {
                    let code: ErrorCode =
                        result.status == .timedOut ? .prepostPostScriptTimeout : .prepostPostScriptFailed
                    report.errors.append(
                        ErrorEntry(code, "plugin '\(spec.name)' post: \(result.error ?? result.status.rawValue)"))
                }
            }
            if result.status != .skipped {
                report.timeline.append(TimelineEntry(step: .post(plugin: spec.name), startMs: begin, endMs: clock.ms))
            }
            if result.status != .skipped && !result.ok {
                postFailed = true
                report.reasons.append(
                    "post of '\(spec.name)' \(result.status.rawValue): the application may not have resumed")
            }
            report.plugins[index].post = result
            journal?.postDone(spec.name)
        }
        if let inFlight { await settleInFlight(inFlight, &report) }
        journal?.finish()

        report.outcome = Self.outcome(
            plan: plan, report: report, aborted: aborted, freezeOK: freezeOK,
            degraded: !degradedBy.isEmpty || postFailed)
        report.durationMs = clock.ms
        return report
    }

    func context(_ phase: Phase, _ plan: Plan, _ report: RunReport, budget: Int, redactor: Redactor)
        -> StepContext
    {
        let post = phase == .post
        return StepContext(
            phase: phase, runId: report.runId, taskId: report.taskId, budget: .milliseconds(budget),
            deadlineEpoch: (Sys.epochMillis() + Int64(budget) + 999) / 1000, dryRun: false,
            outcome: post ? StepOutcome(taken: report.snapshot.taken) : nil,
            consistency: post ? report.consistency : nil,
            killGrace: plan.config.killGrace, redactor: redactor,
            frozenMounts: plan.freezes ? plan.mounts.map(\.mountPoint) : [])
    }

    /// The consistency a snapshot reached.
    static func consistency(snapshot: Bool, freezeOK: Bool, degraded: Bool) -> RunReport.Consistency {
        if !snapshot { return .none }
        if !freezeOK { return .crash }
        return degraded ? .filesystem : .application
    }

    /// The verdict: success when everything requested worked, degraded when a snapshot (or a
    /// rehearsal) went through with a downgrade, failed when nothing usable came out.
    static func outcome(plan: Plan, report: RunReport, aborted: Bool, freezeOK: Bool, degraded: Bool)
        -> RunReport.Outcome
    {
        if aborted { return .failed }
        if plan.snapshots {
            guard report.snapshot.taken else { return .failed }
            if report.snapshot.disks.contains(where: { !$0.ok }) { return .degraded }
            // Skipping the freeze on purpose makes crash-consistency the best a run can do.
            let best: RunReport.Consistency =
                !plan.freezes ? .crash : plan.entries.contains(where: \.quiesces) ? .application : .filesystem
            return report.consistency == best && !degraded ? .success : .degraded
        }
        if plan.freezes && !freezeOK { return .failed }
        return degraded ? .degraded : .success
    }
}

/// Milliseconds since the start of the run, on the monotonic clock.
struct RunClock: Sendable {
    let start = Sys.monotonicNanos()
    var now: UInt64 { Sys.monotonicNanos() }
    var ms: Int { Int((Sys.monotonicNanos() - start) / 1_000_000) }
}
