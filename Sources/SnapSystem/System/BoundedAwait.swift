/// Awaits `body` until the monotonic instant `deadlineNanos` at the latest.
///
/// Safety contract: returns by the deadline (plus scheduling latency) whatever `body` does. If
/// `body` has not finished by then, the caller gets `fallback()` and `body` is left to finish on
/// its own, unawaited and not cancelled (cancelling work that may sit under another library's
/// locks is what deadlocked URLSession). Its late result is dropped.
package func awaitBounded<T: Sendable>(
    until deadlineNanos: UInt64, fallback: @escaping @Sendable () -> T, _ body: @escaping @Sendable () async -> T
) async -> T {
    let once = ResumeOnce<T>()
    Task { once.resume(await body()) }
    let timer = Task {
        let now = Sys.monotonicNanos()
        if deadlineNanos > now { try? await Task.sleep(for: .nanoseconds(Int64(deadlineNanos - now))) }
        once.resume(fallback())
    }
    let value = await withCheckedContinuation { once.set($0) }
    // The timer only sleeps: ending it early frees it (nothing else is cancelled).
    timer.cancel()
    return value
}
