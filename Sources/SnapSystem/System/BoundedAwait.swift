/// Awaits `body` until the monotonic instant `deadlineNanos` at the latest.
///
/// Safety contract: returns by the deadline (plus scheduling latency) whatever `body` does. If
/// `body` has not finished by then, the caller gets `fallback()` and `body` is left to finish on
/// its own, unawaited and not cancelled (cancelling work that may sit under another library's
/// locks is what deadlocked URLSession). Its late result is dropped.
///
/// A timer that wakes well past the deadline (over `BoundedAwait.lateWakeNanos`: this process was
/// stopped, the VM paused) gives `body` one last look of `BoundedAwait.lastLook` first: what it
/// got in time (an answer already in a pipe or socket) is not thrown away because this process,
/// not the other side, ran late. A deadline already passed at the call gets no last look.
package func awaitBounded<T: Sendable>(
    until deadlineNanos: UInt64, fallback: @escaping @Sendable () -> T, _ body: @escaping @Sendable () async -> T
) async -> T {
    let once = ResumeOnce<T>()
    Task { once.resume(await body()) }
    let timer = Task {
        let now = Sys.monotonicNanos()
        if deadlineNanos > now {
            try? await Task.sleep(for: .nanoseconds(Int64(deadlineNanos - now)))
            // Late by far more than scheduling: this process did not run; the body gets a last look.
            if Sys.monotonicNanos() > deadlineNanos + BoundedAwait.lateWakeNanos {
                try? await Task.sleep(for: BoundedAwait.lastLook)
            }
        }
        once.resume(fallback())
    }
    let value = await withCheckedContinuation { once.set($0) }
    // The timer only sleeps: ending it early frees it (nothing else is cancelled).
    timer.cancel()
    return value
}

/// The limits of `awaitBounded`'s last look after a late wake.
package enum BoundedAwait {
    /// How late past the deadline the timer must wake to count as "this process did not run".
    package static let lateWakeNanos: UInt64 = 100_000_000
    /// How long the body then still gets.
    package static let lastLook: Duration = .milliseconds(200)
}
