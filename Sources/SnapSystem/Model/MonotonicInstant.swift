/// A reading of the monotonic clock (`CLOCK_MONOTONIC`): a point in time that never goes back,
/// for deadlines and elapsed times. Arithmetic is in `TimeSpan`, so call sites never convert
/// between milliseconds and nanoseconds themselves.
package struct MonotonicInstant: Sendable, Hashable, Comparable {
    /// Nanoseconds since an unspecified start (boot); what the deadline-taking calls expect.
    package var nanoseconds: UInt64

    /// Creates an instant from a raw `CLOCK_MONOTONIC` reading in nanoseconds.
    package init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The instant `span` later.
    package static func + (lhs: MonotonicInstant, rhs: TimeSpan) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: lhs.nanoseconds + UInt64(rhs.milliseconds) * 1_000_000)
    }

    /// The instant `span` earlier (never before the clock's start).
    package static func - (lhs: MonotonicInstant, rhs: TimeSpan) -> MonotonicInstant {
        let delta = UInt64(rhs.milliseconds) * 1_000_000
        return MonotonicInstant(nanoseconds: lhs.nanoseconds > delta ? lhs.nanoseconds - delta : 0)
    }

    /// The time from `rhs` to `lhs`, in whole milliseconds; zero when `rhs` is later.
    package static func - (lhs: MonotonicInstant, rhs: MonotonicInstant) -> TimeSpan {
        guard lhs.nanoseconds > rhs.nanoseconds else { return TimeSpan(milliseconds: 0) }
        return TimeSpan(milliseconds: Int((lhs.nanoseconds - rhs.nanoseconds) / 1_000_000))
    }

    /// The time from this instant to `later`, in whole microseconds; zero when `later` is earlier.
    package func micros(until later: MonotonicInstant) -> Int {
        later.nanoseconds > nanoseconds ? Int((later.nanoseconds - nanoseconds) / 1000) : 0
    }

    /// The instant `duration` later (to the nanosecond; negative durations count as zero).
    package static func + (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant {
        let (seconds, attoseconds) = rhs.components
        let nanos = max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return MonotonicInstant(nanoseconds: lhs.nanoseconds + UInt64(nanos))
    }

    package static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }
}
