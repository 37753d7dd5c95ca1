/// What to run and under which limits.
package struct ProcessSpec: Sendable, Hashable {
    /// Absolute path of the executable (shebang honoured by the kernel).
    package var executable: String
    /// argv[1...].
    package var arguments: [String]
    /// The complete environment of the child.
    package var environment: [String: String]
    /// Wall-clock limit of the run; on expiry the whole process group gets SIGTERM.
    package var timeout: TimeSpan
    /// Time between SIGTERM and SIGKILL to the group.
    package var killGrace: TimeSpan = .seconds(5)
    /// How long output is still read after the child exited while a background process holds the pipes.
    package var drainAfterExit: TimeSpan = .milliseconds(500)
    /// Bytes kept of the end of stdout and of stderr.
    package var tailLimit: Int = 64 * 1024
    /// Working directory of the child.
    package var workingDirectory: String = "/"
    /// When set, the executable is checked by this rule along its path and interpreter chain right
    /// before the spawn, and the checked file itself is executed (by descriptor), never the path.
    package var pathRule: PathSecurity?
    /// Indices of `arguments` that name files the child reads as code (the script of `/bin/sh SCRIPT`):
    /// checked by `pathRule` too.
    package var checkedArguments: [Int] = []

    /// Creates a spec.
    package init(executable: String, arguments: [String] = [], environment: [String: String] = [:], timeout: TimeSpan) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.timeout = timeout
    }
}

extension TimeSpan {
    /// A span of `ms` milliseconds.
    package static func milliseconds(_ ms: Int) -> TimeSpan { TimeSpan(milliseconds: ms) }
}
