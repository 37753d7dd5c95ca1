/// How a child process ended.
public enum TerminationStatus: Sendable, Hashable, CustomStringConvertible {
    /// Exited with a code.
    case exited(Int32)
    /// Killed by a signal.
    case signaled(Int32)

    /// Decodes a `waitpid` status (the `WIFEXITED` family is not imported into Swift).
    public init(waitStatus status: Int32) {
        if status & 0x7F == 0 {
            self = .exited((status >> 8) & 0xFF)
        } else {
            self = .signaled(status & 0x7F)
        }
    }

    /// True for `exited(0)`.
    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// Everything the runner learned about one finished process.
public struct ProcessOutcome: Sendable, Hashable {
    /// The child's pid (also its process group id).
    public var pid: Int32
    /// How it ended.
    public var status: TerminationStatus
    /// True when the time limit expired and the group was signalled.
    public var timedOut: Bool
    /// True when SIGKILL had to be sent after the grace period.
    public var killed: Bool
    /// True when a background process kept the output pipes open after the child exited.
    public var outputDetached: Bool
    /// The last bytes of stdout (not yet redacted).
    public var stdoutTail: [UInt8]
    /// The last bytes of stderr (not yet redacted).
    public var stderrTail: [UInt8]
    /// Total bytes seen on stdout.
    public var stdoutBytes: Int
    /// Total bytes seen on stderr.
    public var stderrBytes: Int
    /// Wall time from spawn to the end of supervision, in nanoseconds.
    public var elapsedNanos: UInt64
}

/// A process that could not be started.
public struct ProcessError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The executable.
    public var executable: String
    /// What went wrong, for an admin.
    public var reason: String
    /// The errno from the failed call.
    public var errno: Int32
    /// True when the path rule refused the executable (nothing was started; retrying cannot help).
    public var refused: Bool

    /// Creates an error.
    public init(executable: String, reason: String, errno: Int32, refused: Bool = false) {
        self.executable = executable
        self.reason = reason
        self.errno = errno
        self.refused = refused
    }

    public var description: String {
        refused ? "refused at exec time: \(reason)" : "cannot execute \(executable): \(reason)"
    }
}

/// Runs processes; the seam between orchestration and the OS.
public protocol ProcessLauncher: Sendable {
    /// Runs `spec` to completion (including timeout handling) and returns how it ended.
    /// - Throws: `ProcessError` when the process could not be started at all.
    func run(_ spec: ProcessSpec) async throws(ProcessError) -> ProcessOutcome
}
