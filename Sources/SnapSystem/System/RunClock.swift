import Foundation

/// The clocks a run reads, injected so that the pipeline's deadlines, budgets and timestamps can
/// be tested without waiting: the monotonic clock for deadlines and durations, the wall clock for
/// timestamps people and scripts read, and a sleep that suspends the task (never a thread).
package protocol RunClock: Sendable {
    /// Now on the monotonic clock.
    var now: MonotonicInstant { get }
    /// Now on the wall clock (`CLOCK_REALTIME`), in milliseconds since the Unix epoch.
    var wallMillis: Int64 { get }
    /// Suspends the calling task for `span` (returns early when the task is cancelled).
    func sleep(for span: TimeSpan) async
}

extension RunClock {
    /// Now on the wall clock, as a `Date`.
    package var wallDate: Date { Date(timeIntervalSince1970: Double(wallMillis) / 1000) }

    /// The instant `span` from now on the monotonic clock.
    package func deadline(after span: TimeSpan) -> MonotonicInstant { now + span }

    /// What is left until `deadline` (zero once it has passed).
    package func remaining(until deadline: MonotonicInstant) -> TimeSpan { deadline - now }
}

/// The system's clocks: `CLOCK_MONOTONIC`, `CLOCK_REALTIME` and `Task.sleep`.
package struct SystemClock: RunClock {
    /// Creates the system clock.
    package init() {}

    package var now: MonotonicInstant { MonotonicInstant(nanoseconds: Sys.monotonicNanos()) }

    package var wallMillis: Int64 { Sys.epochMillis() }

    package func sleep(for span: TimeSpan) async {
        try? await Task.sleep(for: span.duration)
    }
}
