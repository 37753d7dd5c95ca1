import SnapSystem

/// The run's stopwatch on the injected clock: the timeline's milliseconds since the run started,
/// and deadlines for the phase budgets.
struct RunTimer: Sendable {
    /// The clock every reading comes from.
    let clock: any RunClock
    /// When the run started.
    let start: MonotonicInstant

    /// Starts the stopwatch now.
    init(clock: any RunClock) {
        self.clock = clock
        self.start = clock.now
    }

    /// Now on the monotonic clock.
    var now: MonotonicInstant { clock.now }

    /// Milliseconds since the start of the run (the timeline's unit).
    var ms: Int { (clock.now - start).milliseconds }

    /// Microseconds since the start of the run.
    var us: Int { start.micros(until: clock.now) }

    /// The instant `span` from now.
    func deadline(after span: TimeSpan) -> MonotonicInstant { clock.now + span }

    /// What is left until `deadline` (zero once it has passed).
    func remaining(until deadline: MonotonicInstant) -> TimeSpan { deadline - clock.now }

    /// The wall-clock second by which a step with `budget` from now must end (`SNAPORCH_DEADLINE`).
    func deadlineEpoch(after budget: TimeSpan) -> Int64 {
        (clock.wallMillis + Int64(budget.milliseconds) + 999) / 1000
    }
}
