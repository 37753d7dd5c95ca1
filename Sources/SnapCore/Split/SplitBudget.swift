import SnapSystem

/// The time limits of a split-phase run, from its plan: how long `begin` waits for the quiesce,
/// and the latest moment the holder can still be running (what `end` waits for at most).
package struct SplitBudget: Sendable, Hashable {
    /// Every pre step (or `pre_timeout`), with its kill grace.
    package var pre: TimeSpan
    /// Every hold step, with its kill grace.
    package var holds: TimeSpan
    /// Every release and post step (or `post_timeout` plus the releases), with its kill grace.
    package var post: TimeSpan
    /// Start-up, the guard, the window's preparation, storing the report.
    package static let margin = TimeSpan.seconds(30)

    /// The budgets of `plan`'s plugins.
    package init(_ plan: Plan) {
        let grace = plan.config.killGrace
        let specs = plan.entries.map(\.spec)
        let step = { (spec: PluginSpec) in spec.timeout * (spec.retries + 1) + grace }
        let holding = specs.filter { $0.hold != nil || $0.kind != .script }
        pre = plan.config.preTimeout.map { $0 + grace } ?? specs.reduce(.milliseconds(0)) { $0 + step($1) }
        holds = holding.reduce(.milliseconds(0)) { $0 + step($1) }
        let posts = plan.config.postTimeout.map { $0 + grace } ?? specs.reduce(.milliseconds(0)) { $0 + step($1) }
        post = posts + holds
    }

    /// How long `begin` waits for the holder's answer: the run up to the quiesce, or (a run that
    /// ends before it) its posts too.
    package var beginWait: TimeSpan { pre + holds + post + Self.margin }

    /// From the holder's start to the latest moment it can still run, with `lease`.
    package func holderLifetime(lease: TimeSpan) -> TimeSpan { pre + holds + lease + post + Self.margin * 2 }
}
