import CLinux
import Glibc

/// What `posix_spawn` produced: the pid and the parent's ends of the child's pipes.
struct SpawnedChild {
    let pid: pid_t
    let stdoutFD: Int32
    let stderrFD: Int32
    /// The write end of the child's stdin pipe, when one was asked for (else stdin is /dev/null).
    let stdinFD: Int32?
}

/// Starts processes with `posix_spawn`: own process group, default signal dispositions, empty
/// signal mask, stdin `/dev/null` (or a pipe), stdout/stderr to pipes, no other fds inherited,
/// the given cwd and environment. `ChildProcess.spawn` is the way in for everything supervised.
///
/// Safety contract: never runs a shell; argv goes to the kernel as given.
package enum PosixSpawn {
    /// Starts `executable` with `arguments`; with `checked`, the checked descriptor is executed instead
    /// of the path (`checked.argv` replaces `[executable] + arguments`).
    static func spawn(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        stdinPipe: Bool = false, newSession: Bool = false, checked: CheckedExecutable? = nil
    ) throws(ProcessError) -> SpawnedChild {
        if stdinPipe {
            // Writing to a child that died must give EPIPE, not kill this process. The spawned
            // child gets default dispositions back (POSIX_SPAWN_SETSIGDEF).
            signal(SIGPIPE, SIG_IGN)
        }
        let pipes = try SpawnPipes(executable: executable, stdinPipe: stdinPipe)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let execFD: Int32
        do throws(ProcessError) {
            execFD = try addFileActions(&actions, pipes: pipes, checked: checked, executable: executable)
        } catch {
            pipes.closeAll()
            throw error
        }
        defer { if execFD >= 0 { close(execFD) } }
        posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)

        var attr = posix_spawnattr_t()
        defaultSignals(&attr, extraFlags: newSession ? setSessionFlag : POSIX_SPAWN_SETPGROUP)
        defer { posix_spawnattr_destroy(&attr) }
        if !newSession { posix_spawnattr_setpgroup(&attr, 0) }

        let argv = checked?.argv ?? [executable] + arguments
        let path = checked == nil ? executable : "/proc/self/fd/\(Self.execDescriptor)"
        var pid: pid_t = 0
        let rc = start(&pid, path, &actions, &attr, argv: argv, environment: environment)
        pipes.closeChildEnds()
        guard rc == 0 else {
            pipes.closeParentEnds()
            throw ProcessError(executable: executable, reason: explain(rc, executable), errno: rc)
        }
        // Close the race where the child has not yet called setpgid when we signal the group.
        if !newSession { _ = setpgid(pid, pid) }
        pipes.makeOutputNonBlocking()
        return SpawnedChild(
            pid: pid, stdoutFD: pipes.stdout[0], stderrFD: pipes.stderr[0], stdinFD: pipes.stdin.map { $0[1] })
    }

    /// The child's descriptor of a checked executable.
    static let execDescriptor: Int32 = 3

    /// `POSIX_SPAWN_SETSID`, 0x80 in glibc >= 2.26 (a GNU extension the Glibc module does not export):
    /// a new session, which is also a new process group.
    static let setSessionFlag: Int32 = 0x80

    /// Wires stdin/stdout/stderr to `pipes` (stdin `/dev/null` without a pipe) and closes every other
    /// descriptor in the child; with `checked`, its file goes to the child's fd 3.
    /// - Returns: the parent's duplicate of the checked descriptor (to close after the spawn), or -1.
    static func addFileActions(
        _ actions: inout posix_spawn_file_actions_t, pipes: SpawnPipes, checked: CheckedExecutable?,
        executable: String
    ) throws(ProcessError) -> Int32 {
        if let stdin = pipes.stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, pipes.stdout[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes.stderr[1], 2)
        guard let checked else {
            posix_spawn_file_actions_addclosefrom_np(&actions, 3)
            return -1
        }
        // Descriptor exec: the checked file goes to fd 3 of the child only, without close-on-exec (a
        // `#!` interpreter could not reopen it otherwise), and the child execs /proc/self/fd/3 — the
        // kernel follows that magic link to the open file itself, never to a path (what
        // `execveat(fd, "", AT_EMPTY_PATH)` does, which posix_spawn cannot call).
        let execFD = fcntl(checked.fd, F_DUPFD_CLOEXEC, 10)
        guard execFD >= 0 else {
            throw ProcessError(executable: executable, reason: "cannot duplicate the checked descriptor", errno: errno)
        }
        posix_spawn_file_actions_adddup2(&actions, execFD, Self.execDescriptor)
        posix_spawn_file_actions_addclosefrom_np(&actions, Self.execDescriptor + 1)
        return execFD
    }

    /// Calls `posix_spawn` with C copies of `argv` and the environment (sorted by name).
    /// - Returns: 0 or the error number.
    static func start(
        _ pid: inout pid_t, _ path: String, _ actions: inout posix_spawn_file_actions_t,
        _ attr: inout posix_spawnattr_t, argv: [String], environment: [String: String]
    ) -> Int32 {
        // Sorted names, not sorted pairs: an array of (key, value) tuples is a type of its own whose
        // first use costs a scan of the binary's protocol conformances (~0.2 ms) in a run's first step.
        let envp = environment.keys.sorted().map { "\($0)=\(environment[$0]!)" }
        return withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnvp in posix_spawn(&pid, path, &actions, &attr, cArgv, cEnvp) }
        }
    }

    /// Starts a daemon: a new session (`setsid`), stdin on /dev/null, stdout and stderr on /dev/null
    /// (or appended to `output`, created 0600), and no inherited fd but `passing`, which the child
    /// gets as its fd 3 (a readiness pipe); not waited for.
    package static func spawnDetached(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        output: String? = nil, passing: FileDescriptor? = nil
    )
        throws(ProcessError) -> pid_t
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let passing {
            // dup2 clears close-on-exec on the copy: only fd 3 of the child stays open across exec.
            posix_spawn_file_actions_adddup2(&actions, passing.rawValue, 3)
            posix_spawn_file_actions_addclosefrom_np(&actions, 4)
        } else {
            posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        }
        posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)
        var attr = posix_spawnattr_t()
        defaultSignals(&attr, extraFlags: setSessionFlag)
        defer { posix_spawnattr_destroy(&attr) }
        var pid: pid_t = 0
        let rc = start(&pid, executable, &actions, &attr, argv: [executable] + arguments, environment: environment)
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
