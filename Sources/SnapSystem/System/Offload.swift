import Foundation

/// Runs blocking work (poll loops, ioctls, waitpid) on a worker thread of `BlockingWorkers` and
/// awaits the result, so the cooperative thread pool is never blocked.
///
/// A job never waits behind another one (a parked worker takes it, or a new one is started), so
/// a thaw is never queued behind a stuck call.
package func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        BlockingWorkers.shared.run { continuation.resume(returning: body()) }
    }
}
