import Foundation

/// Runs blocking work (poll loops, ioctls, waitpid) on a dedicated thread and awaits the result,
/// so the cooperative thread pool is never blocked.
package func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 512 * 1024
        thread.start()
    }
}
