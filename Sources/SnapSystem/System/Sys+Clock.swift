import Glibc

extension Sys {
    /// The current monotonic clock in nanoseconds (`CLOCK_MONOTONIC`: never jumps with the wall clock).
    package static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Wall clock in milliseconds since the epoch.
    package static func epochMillis() -> Int64 {
        epochNanos() / 1_000_000
    }

    /// Wall clock in nanoseconds since the epoch (`CLOCK_REALTIME`).
    package static func epochNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
