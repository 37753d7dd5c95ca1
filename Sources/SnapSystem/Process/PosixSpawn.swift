import CLinux
import Glibc

/// A child started by `PosixSpawn`: its pid and the parent's ends of its output pipes.
package struct SpawnedChild {
    package let pid: pid_t
    package let stdoutFD: Int32
    package let stderrFD: Int32
    /// The write end of the child's stdin pipe, when one was asked for (else stdin is /dev/null).
    package let stdinFD: Int32?
}

/// Starts processes with `posix_spawn`: own process group, default signal dispositions, empty
/// signal mask, stdin `/dev/null` (or a pipe), stdout/stderr to pipes, no other fds inherited,
/// the given cwd and environment.
///
/// Safety contract: never runs a shell; argv goes to the kernel as given.
package enum PosixSpawn {
    /// Starts `executable` with `arguments`; with `checked`, the checked descriptor is executed instead
    /// of the path (`checked.argv` replaces `[executable] + arguments`).
    package static func spawn(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        stdinPipe: Bool = false, newSession: Bool = false, checked: CheckedExecutable? = nil
    ) throws(ProcessError) -> SpawnedChild {
        if stdinPipe {
            // Writing to a child that died must give EPIPE, not kill this process. The spawned
            // child gets default dispositions back (POSIX_SPAWN_SETSIGDEF).
            signal(SIGPIPE, SIG_IGN)
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        var inPipe: [Int32] = [-1, -1]
        guard pipe2(&outPipe, O_CLOEXEC) == 0 else {
            throw ProcessError(executable: executable, reason: "pipe2 failed", errno: errno)
        }
        guard pipe2(&errPipe, O_CLOEXEC) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw ProcessError(executable: executable, reason: "pipe2 failed", errno: errno)
        }
        if stdinPipe, pipe2(&inPipe, O_CLOEXEC) != 0 {
            for fd in outPipe + errPipe { close(fd) }
            throw ProcessError(executable: executable, reason: "pipe2 failed", errno: errno)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdinPipe {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // Descriptor exec: the checked file goes to fd 3 of the child only, without close-on-exec (a
        // `#!` interpreter could not reopen it otherwise), and the child execs /proc/self/fd/3 — the
        // kernel follows that magic link to the open file itself, never to a path (what
        // `execveat(fd, "", AT_EMPTY_PATH)` does, which posix_spawn cannot call).
        var execFD: Int32 = -1
        if let checked {
            execFD = fcntl(checked.fd, F_DUPFD_CLOEXEC, 10)
            if execFD < 0 {
                let code = errno
                for fd in outPipe + errPipe + (stdinPipe ? inPipe : []) { close(fd) }
                throw ProcessError(
                    executable: executable, reason: "cannot duplicate the checked descriptor", errno: code)
            }
            posix_spawn_file_actions_adddup2(&actions, execFD, Self.execDescriptor)
        }
        defer { if execFD >= 0 { close(execFD) } }
        posix_spawn_file_actions_addclosefrom_np(&actions, checked == nil ? 3 : Self.execDescriptor + 1)
        posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)

        var attr = posix_spawnattr_t()
        // A new session (POSIX_SPAWN_SETSID, 0x80 in glibc) is also a new process group.
        defaultSignals(&attr, extraFlags: newSession ? 0x80 : POSIX_SPAWN_SETPGROUP)
        defer { posix_spawnattr_destroy(&attr) }
        if !newSession { posix_spawnattr_setpgroup(&attr, 0) }

        let argv = checked?.argv ?? [executable] + arguments
        let path = checked == nil ? executable : "/proc/self/fd/\(Self.execDescriptor)"
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnvp in
                posix_spawn(&pid, path, &actions, &attr, cArgv, cEnvp)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        if stdinPipe { close(inPipe[0]) }
        guard rc == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            if stdinPipe { close(inPipe[1]) }
            throw ProcessError(executable: executable, reason: explain(rc, executable), errno: rc)
        }
        // Close the race where the child has not yet called setpgid when we signal the group.
        if !newSession { _ = setpgid(pid, pid) }
        for fd in [outPipe[0], errPipe[0]] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return SpawnedChild(pid: pid, stdoutFD: outPipe[0], stderrFD: errPipe[0], stdinFD: stdinPipe ? inPipe[1] : nil)
    }

    /// The child's descriptor of a checked executable.
    static let execDescriptor: Int32 = 3

    /// Starts a daemon: a new session (`setsid`), stdio on /dev/null, no fds inherited; not waited for.
    package static func spawnDetached(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String
    )
        throws(ProcessError) -> pid_t
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)
        var attr = posix_spawnattr_t()
        // POSIX_SPAWN_SETSID is 0x80 in glibc >= 2.26 (a GNU extension the Glibc module does not export).
        defaultSignals(&attr, extraFlags: 0x80)
        defer { posix_spawnattr_destroy(&attr) }
        let argv = [executable] + arguments
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { a in
            withCStrings(envp) { e in posix_spawn(&pid, executable, &actions, &attr, a, e) }
        }
        guard rc == 0 else { throw ProcessError(executable: executable, reason: explain(rc, executable), errno: rc) }
        return pid
    }

    /// Initialises `attr` so that the child starts with every signal at its default disposition
    /// and an empty mask, plus `extraFlags`.
    static func defaultSignals(_ attr: inout posix_spawnattr_t, extraFlags: Int32) {
        posix_spawnattr_init(&attr)
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(extraFlags | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    }

    /// Turns an exec failure into words: what exactly is missing or wrong.
    static func explain(_ code: Int32, _ executable: String) -> String {
        let problems = ExecutableCheck.problems(for: executable)
        let base = String(cString: strerror(code))
        if let first = problems.first { return "\(base) — \(first)" }
        return base
    }

    /// Calls `body` with a NULL-terminated `char *[]` of `strings`.
    static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}
