import Foundation
import Glibc
import Synchronization

/// Signals the storm's handler has run (delivered, not just sent).
let signalStormDeliveries = Atomic<Int>(0)

/// Installs the storm's SIGUSR1 handler once, for the life of the test process, and never puts the
/// default back: suites run in parallel, and a signal still in flight when one storm ended would
/// otherwise meet SIGUSR1's default action and kill the whole test process.
private let signalStormHandler: Void = {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in signalStormDeliveries.add(1, ordering: .relaxed) }
    action.sa_flags = 0  // no SA_RESTART: blocked calls return EINTR or a short count
    sigemptyset(&action.sa_mask)
    sigaction(SIGUSR1, &action, nil)
}()

/// Runs `body` on a thread of its own while another thread keeps sending it SIGUSR1 through a
/// handler installed without `SA_RESTART`, so every blocking call `body` makes (write, poll, read)
/// is interrupted: a call that moved no data fails with `EINTR`, one that moved some returns short.
///
/// Returns `body`'s result and how many signals were delivered (the handler ran). Only the storm's
/// own thread is ever signalled.
func withSignalStorm<T: Sendable>(every interval: TimeInterval = 0.001, _ body: @escaping @Sendable () -> T) -> (
    T, signals: Int
) {
    _ = signalStormHandler

    let target = Mutex<pthread_t?>(nil)
    let result = Mutex<T?>(nil)
    let finished = Atomic<Bool>(false)
    let mayExit = DispatchSemaphore(value: 0)
    let started = DispatchSemaphore(value: 0)
    let thread = Thread {
        // Threads may start with signals blocked: let SIGUSR1 through on this one.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGUSR1)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        target.withLock { $0 = pthread_self() }
        started.signal()
        let value = body()
        result.withLock { $0 = value }
        finished.store(true, ordering: .sequentiallyConsistent)
        // Stay alive until the sender stopped: a signal to a thread that exited is undefined.
        mayExit.wait()
    }
    thread.start()
    started.wait()
    let handle = target.withLock { $0! }
    let before = signalStormDeliveries.load(ordering: .relaxed)
    while !finished.load(ordering: .sequentiallyConsistent) {
        pthread_kill(handle, SIGUSR1)
        Thread.sleep(forTimeInterval: interval)
    }
    mayExit.signal()
    return (result.withLock { $0! }, signalStormDeliveries.load(ordering: .relaxed) - before)
}

/// A pipe whose buffer is shrunk to one page, so that large writes block and come back short.
/// Each end is closed at most once (a second close could hit a number another test reuses).
final class SmallPipe {
    /// `F_SETPIPE_SZ` (`F_LINUX_SPECIFIC_BASE + 7`), which Glibc's module does not export without `_GNU_SOURCE`.
    static let setPipeSize: Int32 = 1031
    let readFD: Int32
    let writeFD: Int32
    private var writeOpen = true
    private var readOpen = true

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(writeFD, Self.setPipeSize, 4096)
    }

    func closeWriteEnd() {
        if writeOpen { close(writeFD) }
        writeOpen = false
    }

    func closeBoth() {
        closeWriteEnd()
        if readOpen { close(readFD) }
        readOpen = false
    }
}
