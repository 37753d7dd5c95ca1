import CLinux
import Glibc
import Synchronization

/// A process this process started: its pid, a pidfd, the parent's ends of its pipes, and the single
/// place that waits for it, reaps it and signals it (the script runner, the database sessions, the
/// freeze guard and the watchdog all go through here).
///
/// Safety contract: the child is reaped here only; every wait has a deadline that holds whatever the
/// child does (a stopped child, one that ignores SIGTERM); a reaped pid is never signalled again (it
/// may name another process by then); signals to the group reach every descendant that stayed in it.
/// Output is read by one thread at a time.
package final class ChildProcess: Sendable {
    /// The child's pid; also its process group id (and session id for `newSession`).
    package let pid: Int32
    /// The write end of the child's stdin pipe; nil when stdin is `/dev/null`. Valid until closed here.
    package let stdinFD: Int32?
    /// The read end of the child's stdout pipe (non-blocking). Valid until closed here.
    package let stdoutFD: Int32
    /// The read end of the child's stderr pipe (non-blocking). Valid until closed here.
    package let stderrFD: Int32
    /// A pidfd of the child (-1 on kernels before 5.3): readable once it has exited.
    let pidfd: Int32
    let state: Mutex<State>

    /// What changes over the child's life.
    struct State {
        /// How it ended, once reaped.
        var status: TerminationStatus?
        /// When it was reaped (monotonic nanoseconds).
        var reapedAt: UInt64?
        /// Reaped, or found not to be our child any more: never signal its pid again.
        var gone = false
        /// The pipe ends not closed yet (at most three: an array, not a `Set`, see `ended`).
        var open: [Int32]
        /// Whether stdout / stderr reached end of file. Two flags rather than a `Set<OutputStream>`:
        /// the first use of a generic type over one of our own types costs a scan of every protocol
        /// conformance in the binary (~0.2 ms), and that first use was in every run's first step.
        var stdoutEnded = false
        var stderrEnded = false

        /// Whether `stream` reached end of file.
        func ended(_ stream: OutputStream) -> Bool { stream == .stdout ? stdoutEnded : stderrEnded }

        /// Marks `stream` as having reached end of file.
        mutating func markEnded(_ stream: OutputStream) {
            if stream == .stdout { stdoutEnded = true } else { stderrEnded = true }
        }

        /// Forgets `fd` as open; whether it was.
        mutating func remove(_ fd: Int32) -> Bool {
            guard let index = open.firstIndex(of: fd) else { return false }
            open.remove(at: index)
            return true
        }
    }

    init(_ spawned: SpawnedChild) {
        pid = spawned.pid
        stdinFD = spawned.stdinFD
        stdoutFD = spawned.stdoutFD
        stderrFD = spawned.stderrFD
        pidfd = snaporch_pidfd_open(spawned.pid)
        let open = [spawned.stdoutFD, spawned.stderrFD] + (spawned.stdinFD.map { [$0] } ?? [])
        state = Mutex(State(open: open))
    }

    /// Starts `executable` in its own process group (or session) with default signal dispositions,
    /// exactly `environment`, stdin `/dev/null` or a pipe, stdout and stderr to pipes and no other
    /// descriptor; with `checked`, the checked file is executed by descriptor, never the path.
    /// - Throws: `ProcessError` when it could not be started (the reason names what is wrong).
    package static func spawn(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String = "/",
        stdinPipe: Bool = false, newSession: Bool = false, checked: CheckedExecutable? = nil
    ) throws(ProcessError) -> ChildProcess {
        ChildProcess(
            try PosixSpawn.spawn(
                executable: executable, arguments: arguments, environment: environment,
                workingDirectory: workingDirectory, stdinPipe: stdinPipe, newSession: newSession, checked: checked))
    }

    deinit {
        if pidfd >= 0 { close(pidfd) }
        closePipes()
    }

    /// How the child ended; nil while it runs (or when it was reaped by someone else).
    package var exitStatus: TerminationStatus? { state.withLock { $0.status } }

    /// When the child was reaped (monotonic nanoseconds); nil while it runs.
    package var reapedAt: UInt64? { state.withLock { $0.reapedAt } }

    /// True once the child was reaped (or found not to be our child any more).
    var isGone: Bool { state.withLock { $0.gone } }

    /// Reaps the child if it has ended; never blocks.
    /// - Returns: how it ended, or nil while it still runs.
    @discardableResult
    package func reapIfExited() -> TerminationStatus? {
        state.withLock { state in
            guard !state.gone else { return state.status }
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                state.status = TerminationStatus(waitStatus: status)
                state.reapedAt = Sys.monotonicNanos()
                state.gone = true
            } else if rc < 0 && errno == ECHILD {
                state.gone = true
            }
            return state.status
        }
    }

    /// Waits until the child has ended or the monotonic instant `deadline` (nanoseconds) has
    /// passed, whichever comes first: the one wait-with-deadline of the code base.
    ///
    /// Safety contract: returns by the deadline (plus scheduling latency) whatever the child does;
    /// a stopped child counts as running.
    /// - Returns: how it ended, or nil at the deadline (or when it is not our child any more).
    @discardableResult
    package func wait(until deadline: UInt64) -> TerminationStatus? {
        while true {
            if let status = reapIfExited() { return status }
            if isGone { return nil }
            let now = Sys.monotonicNanos()
            guard now < deadline else { return nil }
            let remainingMs = Int32(clamping: (deadline - now) / 1_000_000 + 1)
            if pidfd >= 0 {
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, remainingMs)
            } else {
                // No pidfd (kernel before 5.3): look again every 2 ms.
                usleep(UInt32(min(remainingMs, 2)) * 1000)
            }
        }
    }

    /// `wait(until:)` for a span from now.
    @discardableResult
    package func wait(upTo span: TimeSpan) -> TerminationStatus? {
        wait(until: Sys.monotonicNanos() + UInt64(max(span.milliseconds, 0)) * 1_000_000)
    }

    /// Sends `signal` to the child's whole process group: the child and every descendant that did
    /// not leave the group. Also after the child was reaped (its group may live on).
    package func signalGroup(_ signal: Int32) {
        state.withLock { _ in _ = kill(-pid, signal) }
    }

    /// Sends `signal` to the child alone; nothing once it has been reaped.
    package func signal(_ signal: Int32) {
        state.withLock { state in
            if !state.gone { _ = kill(pid, signal) }
        }
    }

    /// Ends the child by `steps`: each step, unless the child has ended, sends its signal and waits
    /// up to its allowance.
    ///
    /// Safety contract: never waits longer than the sum of the allowances.
    /// - Returns: how it ended, or nil when it still had not ended after the last step.
    @discardableResult
    package func terminate(_ steps: [TeardownStep]) -> TerminationStatus? {
        for step in steps {
            if let status = reapIfExited() { return status }
            if let signal = step.signal {
                if step.toGroup { signalGroup(signal) } else { self.signal(signal) }
            }
            if let status = wait(upTo: step.allowed) { return status }
        }
        return reapIfExited()
    }
}
