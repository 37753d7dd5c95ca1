import CLinux
import Glibc

/// The pipes of a child being spawned: `[read end, write end]` each, all close-on-exec (the child
/// gets its ends through `dup2` file actions only).
struct SpawnPipes {
    /// The child's stdout: the parent reads `[0]`.
    private(set) var stdout: [Int32] = [-1, -1]
    /// The child's stderr: the parent reads `[0]`.
    private(set) var stderr: [Int32] = [-1, -1]
    /// The child's stdin, when asked for: the parent writes `[1]`.
    private(set) var stdin: [Int32]?

    /// Creates the pipes; on failure closes those already made.
    init(executable: String, stdinPipe: Bool) throws(ProcessError) {
        guard pipe2(&stdout, O_CLOEXEC) == 0 else {
            throw ProcessError(executable: executable, reason: "pipe2 failed", errno: errno)
        }
        guard pipe2(&stderr, O_CLOEXEC) == 0 else {
            let code = errno
            closeAll()
            throw ProcessError(executable: executable, reason: "pipe2 failed", errno: code)
        }
        guard stdinPipe else { return }
        var input: [Int32] = [-1, -1]
        guard pipe2(&input, O_CLOEXEC) == 0 else {
            let code = errno
            closeAll()
            throw ProcessError(executable: executable, reason: "pipe2 failed", errno: code)
        }
        stdin = input
    }

    /// Closes the ends the child got (after the spawn, in either outcome).
    func closeChildEnds() {
        close(stdout[1])
        close(stderr[1])
        if let stdin { close(stdin[0]) }
    }

    /// Closes the parent's ends (when the spawn failed).
    func closeParentEnds() {
        close(stdout[0])
        close(stderr[0])
        if let stdin { close(stdin[1]) }
    }

    /// Closes every end (nothing was spawned).
    func closeAll() {
        for fd in stdout + stderr + (stdin ?? []) where fd >= 0 { close(fd) }
    }

    /// Makes the parent's read ends non-blocking (they are only read after `poll` said so).
    func makeOutputNonBlocking() {
        for fd in [stdout[0], stderr[0]] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
    }
}
