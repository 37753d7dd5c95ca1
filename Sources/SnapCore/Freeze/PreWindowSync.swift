import Dispatch
import SnapSystem
import Synchronization

/// The `syncfs` of every mount before the window, with a deadline.
///
/// The calls run on a thread of their own, so a disk that cannot take the dirty data (throttled,
/// hung, or itself on a frozen filesystem) delays the run by at most the limit instead of for as
/// long as the kernel takes — the pre steps have quiesced the applications by then. A `syncfs`
/// cannot be interrupted: the thread stays in the call until the kernel returns, and syncs
/// nothing more once the caller has given up.
enum PreWindowSync {
    /// Syncs `fds` in order. Returns nil when every call returned within `limit` (or no thread
    /// could be had: FIFREEZE then syncs inside the guard's deadline), else the index of the one
    /// still running.
    static func run(_ fds: [FileDescriptor], within limit: TimeSpan) -> Int? {
        let progress = Mutex<(current: Int, gaveUp: Bool)>((0, false))
        let finished = DispatchSemaphore(value: 0)
        let started = DetachedThread.start(name: "snaporch-syncfs", stackBytes: 128 * 1024) {
            for (index, fd) in fds.enumerated() {
                let goOn = progress.withLock { state -> Bool in
                    state.current = index
                    return !state.gaveUp
                }
                guard goOn else { return }
                try? fd.syncFilesystem()
            }
            progress.withLock { $0.current = fds.count }
            finished.signal()
        }
        guard started, finished.wait(timeout: .now() + .milliseconds(limit.milliseconds)) == .timedOut else {
            return nil
        }
        return progress.withLock { state in
            state.gaveUp = true
            return state.current < fds.count ? state.current : nil
        }
    }
}
