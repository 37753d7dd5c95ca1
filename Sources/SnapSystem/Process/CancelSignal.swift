import CLinux
import Glibc
import Synchronization

/// Carries a Swift task's cancellation to a thread that sleeps in poll(2): `fire()` (from the
/// task's cancellation handler, any thread) makes `fd` readable, so the poll wakes at once.
///
/// Safety contract: the pipe is closed only by `close()`, under the same lock as `fire()`, so a
/// late `fire()` never writes to a descriptor number that was closed and reused.
final class CancelSignal: Sendable {
    private struct State {
        var fired = false
        var closed = false
        var readFD: Int32 = -1
        var writeFD: Int32 = -1
    }

    private let state = Mutex(State())

    /// Opens the pipe; without one (out of descriptors) `fired` still works, polled.
    init() {
        var fds: [Int32] = [-1, -1]
        if pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 {
            state.withLock {
                $0.readFD = fds[0]
                $0.writeFD = fds[1]
            }
        }
    }

    /// The descriptor to poll for readability; -1 when there is none.
    var fd: Int32 { state.withLock { $0.readFD } }

    /// True once `fire()` was called.
    var fired: Bool { state.withLock { $0.fired } }

    /// Marks the signal fired and wakes the poller; only the first call counts.
    func fire() {
        state.withLock { s in
            guard !s.fired else { return }
            s.fired = true
            guard !s.closed, s.writeFD >= 0 else { return }
            var byte: UInt8 = 1
            _ = write(s.writeFD, &byte, 1)
        }
    }

    /// Closes the pipe (once); `fire()` afterwards only sets the flag.
    func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            if s.readFD >= 0 { Glibc.close(s.readFD) }
            if s.writeFD >= 0 { Glibc.close(s.writeFD) }
        }
    }

    deinit { close() }
}
