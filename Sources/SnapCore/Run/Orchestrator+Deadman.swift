import SnapSystem

/// The dead-man of the holds a run takes (see `HoldDeadline`): the deadlines the steps derive their
/// server-side idle timeouts from, the holders the freeze guard kills at the freeze deadline, and
/// what the report and the journal say about it.
extension Orchestrator {
    /// A hold (or pre, or post) step's budget: its timeout per attempt, with the pause between retries.
    static func holdBudget(_ spec: PluginSpec) -> TimeSpan {
        spec.timeout * (spec.retries + 1) + .milliseconds(spec.retries * 100)
    }

    /// How long the window may last once it opens: the freeze timeout, or the snapshot timeout for
    /// an unfrozen take (zero when neither happens).
    static func windowLength(_ plan: Plan) -> TimeSpan {
        plan.freezes ? plan.config.freeze.timeout : plan.snapshots ? plan.config.snapshot.timeout : .milliseconds(0)
    }

    /// The window deadline as known when the hold of `holds[position]` starts now.
    func windowDeadline(_ holds: HoldStage, from position: Int, _ setup: RunSetup) -> MonotonicInstant {
        HoldDeadline.windowDeadline(
            now: MonotonicInstant(nanoseconds: Sys.monotonicNanos()),
            holdBudgets: holds.candidates.dropFirst(position).map { Self.holdBudget(setup.plugins[$0].spec) },
            killGrace: setup.config.killGrace, window: Self.windowLength(setup.plan))
    }

    /// The latest start of the post of plugin `index` whose pre starts now with `budget`.
    func postDeadline(_ index: Int, budget: TimeSpan, preEnd: MonotonicInstant?, _ setup: RunSetup)
        -> MonotonicInstant
    {
        let later = setup.plugins.dropFirst(index + 1).map(\.spec)
        return HoldDeadline.postDeadline(
            now: MonotonicInstant(nanoseconds: Sys.monotonicNanos()), stepBudget: budget,
            laterPreBudgets: later.map { $0.pre == nil && $0.kind == .script ? .milliseconds(0) : Self.holdBudget($0) },
            preEnd: preEnd, holdBudgets: setup.plugins.filter(\.hasHold).map { Self.holdBudget($0.spec) },
            window: Self.windowLength(setup.plan), laterPostBudgets: later.map(Self.holdBudget),
            killGrace: setup.config.killGrace)
    }

    /// The journal's note of a database session's hold that ends by itself at `deadline` (plus the
    /// margin); nil for a plugin that keeps no session.
    static func journalHold(_ spec: PluginSpec, endingAfter deadline: MonotonicInstant?) -> JournalState.Hold? {
        guard spec.kind == .mysql || spec.kind == .postgres else { return nil }
        let now = MonotonicInstant(nanoseconds: Sys.monotonicNanos())
        return JournalState.Hold(
            type: spec.kind.rawValue,
            endsByEpochMs: deadline.map {
                HoldDeadline.epochMillis(endingIdleSessionAfter: $0, now: now, nowEpochMillis: Sys.epochMillis())
            })
    }

    /// The holds the guard must end at the freeze deadline: the process groups of every session
    /// that holds something now, with its plugin's name.
    static func holders(_ plugins: [any Plugin]) -> [(plugin: String, group: Int32)] {
        plugins.flatMap { plugin in plugin.holdingProcessGroups().map { (plugin.spec.name, $0) } }
    }

    /// Says in the report which holds the guard ended at the freeze deadline (snaporch had not
    /// thawed by then: it was stopped, hung or too slow).
    static func reportDeadman(
        ended: [Int32], holders: [(plugin: String, group: Int32)], timeout: TimeSpan, _ window: inout WindowResult
    ) {
        var names: [String] = []
        for holder in holders where ended.contains(holder.group) && !names.contains(holder.plugin) {
            names.append(holder.plugin)
        }
        guard !names.isEmpty else { return }
        window.reasons.append(
            "the dead-man ended the database session(s) of \(names.map { "'\($0)'" }.joined(separator: ", ")) at "
                + "the freeze deadline (\(timeout)): snaporch had not thawed by then, and the freeze guard killed "
                + "their clients so that no application lock outlived the window")
    }
}
