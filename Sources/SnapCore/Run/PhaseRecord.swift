import SnapSystem

/// What a phase of the pipeline adds to the report's lists, in the order it happened.
///
/// Every phase (pre → window → verify → verdict → post; the prepare/hold/release/finish stages
/// slot in the same way) returns a result conforming to this; `RunReport.assemble` concatenates
/// the lists in phase order, which is the order the old inline pipeline appended them in.
protocol PhaseRecord: Sendable {
    /// Errors, in the order they happened.
    var errors: [ErrorEntry] { get }
    /// Why the run's consistency or outcome is what it is, in order.
    var reasons: [String] { get }
    /// The phase's steps on the run's timeline.
    var timeline: [TimelineEntry] { get }
}

extension PhaseRecord {
    var errors: [ErrorEntry] { [] }
    var reasons: [String] { [] }
    var timeline: [TimelineEntry] { [] }
}

/// What every phase of one run shares: the plan, its plugins, the ids, the clock, the redactor.
struct RunSetup: Sendable {
    /// The plan, with the run id set in its options.
    let plan: Plan
    /// The run's id.
    let runId: String
    /// The task id (the run id when the handler gave none).
    let taskId: String
    /// One plugin per plan entry, in config order.
    let plugins: [any Plugin]
    /// Literal secrets this run knows, masked wherever they might surface (even URL-encoded).
    let redactor: Redactor
    /// The run's stopwatch.
    let timer: RunTimer

    /// The run's config.
    var config: Config { plan.config }
}
