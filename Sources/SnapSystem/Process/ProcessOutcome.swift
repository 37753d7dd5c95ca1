/// How a child process ended.
package enum TerminationStatus: Sendable, Hashable, CustomStringConvertible {
    /// Exited with a code.
    case exited(Int32)
    /// Killed by a signal.
    case signaled(Int32)

    /// Decodes a `waitpid` status (the `WIFEXITED` family is not imported into Swift).
    package init(waitStatus status: Int32) {
        if status & 0x7F == 0 {
            self = .exited((status >> 8) & 0xFF)
        } else {
            self = .signaled(status & 0x7F)
        }
    }

    /// True for `exited(0)`.
    package var isSuccess: Bool { self == .exited(0) }

    package var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// Everything the runner learned about one finished process.
package struct ProcessOutcome: Sendable, Hashable {
    /// The child's pid (also its process group id).
    package var pid: Int32
    /// How it ended.
    package var status: TerminationStatus
    /// True when the time limit expired and the group was signalled.
    package var timedOut: Bool
    /// True when SIGKILL had to be sent after the grace period.
    package var killed: Bool
    /// True when a background process kept the output pipes open after the child exited.
    package var outputDetached: Bool
    /// The last bytes of stdout (not yet redacted).
    package var stdoutTail: [UInt8]
    /// The last bytes of stderr (not yet redacted).
    package var stderrTail: [UInt8]
    /// Total bytes seen on stdout.
    package var stdoutBytes: Int
    /// Total bytes seen on stderr.
    package var stderrBytes: Int
    /// Wall time from spawn to the end of supervision, in nanoseconds.
    package var elapsedNanos: UInt64
    /// True when the child had not ended `ProcessSupervisor.reapAfterKill` after SIGKILL (asleep
    /// in the kernel, e.g. writing to a filesystem someone froze): supervision gave up on it, and
    /// `status` is the SIGKILL it was sent.
    package var abandoned = false
}

/// A process that could not be started.
package struct ProcessError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The executable.
    package var executable: String
    /// What went wrong, for an admin.
    package var reason: String
    /// The errno from the failed call.
    package var errno: Int32
    /// True when the path rule refused the executable (nothing was started; retrying cannot help).
    package var refused: Bool

    /// Creates an error.
    package init(executable: String, reason: String, errno: Int32, refused: Bool = false) {
        self.executable = executable
        self.reason = reason
        self.errno = errno
        self.refused = refused
    }

    package var description: String {
        refused ? "refused at exec time: \(reason)" : "cannot execute \(executable): \(reason)"
    }
}

/// Runs processes; the seam between orchestration and the OS.
package protocol ProcessLauncher: Sendable {
    /// Runs `spec` to completion (including timeout handling) and returns how it ended.
    /// - Throws: `ProcessError` when the process could not be started at all.
    func run(_ spec: ProcessSpec) async throws(ProcessError) -> ProcessOutcome
}
