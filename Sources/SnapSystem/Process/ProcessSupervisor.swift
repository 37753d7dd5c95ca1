import CLinux
import Foundation
import Glibc

/// Watches one spawned child on a worker thread: drains both pipes continuously, notices the
/// exit through a pidfd (no sleep-polling), and enforces the time limit on the whole group.
///
/// Safety contract: on timeout (or when the awaiting task is cancelled) it sends SIGTERM to the
/// child's process group, then SIGKILL to the group after the grace period, and only returns once
/// the child is reaped.
struct ProcessSupervisor {
    let child: SpawnedChild
    let spec: ProcessSpec
    let startNanos: UInt64
    /// Fired when the task awaiting the child is cancelled: the group is torn down as at the deadline.
    var cancel: CancelSignal? = nil

    // swiftlint:disable:next function_body_length
    func supervise() -> ProcessOutcome {
        let pid = child.pid
        var pidfd = snaporch_pidfd_open(pid)
        var out = TailBuffer(limit: spec.tailLimit)
        var err = TailBuffer(limit: spec.tailLimit)
        var openFDs: [Int32] = [child.stdoutFD, child.stderrFD]
        let deadline = startNanos + UInt64(spec.timeout.milliseconds) * 1_000_000
        var termSentAt: UInt64?
        var killed = false
        var status: TerminationStatus?
        var exitedAt: UInt64?
        var detached = false
        var buffer = [UInt8](repeating: 0, count: 65_536)

        func reap() {
            var st: Int32 = 0
            let rc = waitpid(pid, &st, WNOHANG)
            if rc == pid {
                status = TerminationStatus(waitStatus: st)
                exitedAt = Sys.monotonicNanos()
            }
        }

        while true {
            let now = Sys.monotonicNanos()
            if status == nil, termSentAt == nil, now >= deadline || cancel?.fired == true {
                kill(-pid, SIGTERM)
                termSentAt = now
            }
            if let sent = termSentAt, !killed, now >= sent + UInt64(spec.killGrace.milliseconds) * 1_000_000 {
                kill(-pid, SIGKILL)
                killed = true
            }
            // Done: reaped, output closed (or given up on), and after a timeout no group member left.
            let groupAlive = termSentAt != nil && !killed && ProcessLiveness.groupHasLiveMembers(pid)
            if status != nil && !groupAlive {
                if openFDs.isEmpty { break }
                if let exitedAt, now >= exitedAt + UInt64(spec.drainAfterExit.milliseconds) * 1_000_000 {
                    detached = true
                    break
                }
            }
            // Next wake-up: the nearest timer.
            var wake = UInt64.max
            if status == nil && termSentAt == nil { wake = deadline }
            if let sent = termSentAt, !killed {
                wake = min(wake, sent + UInt64(spec.killGrace.milliseconds) * 1_000_000)
            }
            if let exitedAt { wake = min(wake, exitedAt + UInt64(spec.drainAfterExit.milliseconds) * 1_000_000) }
            var timeoutMs: Int32 = wake == .max ? -1 : Int32(clamping: (wake > now ? wake - now : 0) / 1_000_000 + 1)
            if pidfd < 0 && status == nil { timeoutMs = timeoutMs < 0 ? 10 : min(timeoutMs, 10) }
            if status != nil && groupAlive { timeoutMs = timeoutMs < 0 ? 20 : min(timeoutMs, 20) }

            var pollFDs = openFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if pidfd >= 0 && status == nil { pollFDs.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            let cancelFD = termSentAt == nil ? cancel?.fd ?? -1 : -1
            if cancelFD >= 0 { pollFDs.append(pollfd(fd: cancelFD, events: Int16(POLLIN), revents: 0)) }
            let rc = poll(&pollFDs, nfds_t(pollFDs.count), timeoutMs)
            if rc < 0 && errno != EINTR { break }
            for entry in pollFDs where entry.revents != 0 {
                if entry.fd == pidfd {
                    reap()
                    continue
                }
                if entry.fd == cancelFD { continue }  // handled at the top of the loop
                let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBytes { raw in
                        let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                        if entry.fd == child.stdoutFD { out.append(chunk) } else { err.append(chunk) }
                    }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    close(entry.fd)
                    openFDs.removeAll { $0 == entry.fd }
                }
            }
            if pidfd < 0 && status == nil { reap() }
        }
        if status == nil {
            // Only reached if poll itself failed: make sure the child is gone and reaped.
            kill(-pid, SIGKILL)
            var st: Int32 = 0
            while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
            status = TerminationStatus(waitStatus: st)
            killed = true
        }
        for fd in openFDs { close(fd) }
        if pidfd >= 0 {
            close(pidfd)
            pidfd = -1
        }
        return ProcessOutcome(
            pid: pid, status: status!, timedOut: termSentAt != nil, killed: killed, outputDetached: detached,
            stdoutTail: out.tail, stderrTail: err.tail, stdoutBytes: out.total, stderrBytes: err.total,
            elapsedNanos: Sys.monotonicNanos() - startNanos)
    }
}

/// The real `ProcessLauncher`: `posix_spawn` plus a supervisor thread per child.
package struct PosixProcessLauncher: ProcessLauncher {
    /// Creates the launcher.
    package init() {}

    package func run(_ spec: ProcessSpec) async throws(ProcessError) -> ProcessOutcome {
        let start = Sys.monotonicNanos()
        var checked: CheckedExecutable?
        if let rule = spec.pathRule {
            checked = try Self.check(spec, rule)
        }
        let child: SpawnedChild
        do throws(ProcessError) {
            child = try PosixSpawn.spawn(
                executable: spec.executable, arguments: spec.arguments, environment: spec.environment,
                workingDirectory: spec.workingDirectory, checked: checked)
        } catch {
            checked?.close()
            throw error
        }
        // The child holds its own copy (fd 3) once posix_spawn returned.
        checked?.close()
        let cancel = CancelSignal()
        let supervisor = ProcessSupervisor(child: child, spec: spec, startNanos: start, cancel: cancel)
        // A worker thread: the supervisor blocks in poll(2), which must never happen on the
        // cooperative pool. Cancelling the awaiting task tears the group down (TERM, grace, KILL).
        let outcome = await withTaskCancellationHandler {
            await offload { supervisor.supervise() }
        } onCancel: {
            cancel.fire()
        }
        cancel.close()
        return outcome
    }

    /// Applies `rule` to the files `spec` runs as code and opens the executable checked.
    static func check(_ spec: ProcessSpec, _ rule: PathSecurity) throws(ProcessError) -> CheckedExecutable {
        for index in spec.checkedArguments where spec.arguments.indices.contains(index) {
            if let problem = rule.problems(for: spec.arguments[index]).first {
                throw ProcessError(executable: spec.executable, reason: problem, errno: EACCES, refused: true)
            }
        }
        let chain = InterpreterChain(rule: rule, searchPath: spec.environment["PATH"] ?? Paths.scriptSearchPath)
        switch chain.resolve(spec.executable, arguments: spec.arguments) {
        case .success(let checked): return checked
        case .failure(let refusal):
            throw ProcessError(executable: spec.executable, reason: refusal.description, errno: EACCES, refused: true)
        }
    }
}
