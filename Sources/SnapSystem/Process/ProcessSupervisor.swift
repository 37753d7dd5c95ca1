import Glibc

/// Watches one spawned child on a dedicated thread: drains both pipes continuously, notices the
/// exit through the child's pidfd (no sleep-polling), and enforces the time limit on the whole group.
///
/// Safety contract: on timeout (or when the awaiting task is cancelled) it sends SIGTERM to the
/// child's process group, then SIGKILL to the group after the grace period, and returns once the
/// child is reaped — or `reapAfterKill` after the SIGKILL when the kernel does not let the child
/// die (uninterruptible sleep), or, should `poll` itself fail, once the group was killed and the
/// reap had a bounded wait. It never waits without a deadline.
struct ProcessSupervisor {
    /// How long a child may take to die after SIGKILL before supervision gives up on it.
    static let reapAfterKill: UInt64 = 2_000_000_000

    let child: ChildProcess
    let spec: ProcessSpec
    let startNanos: UInt64
    /// Fired when the task awaiting the child is cancelled: the group is torn down as at the deadline.
    var cancel: CancelSignal? = nil

    /// The timers of one supervision, in monotonic nanoseconds.
    struct Timers {
        /// When the time limit expires.
        let deadline: UInt64
        /// SIGTERM to SIGKILL.
        let grace: UInt64
        /// How long output is still read after the exit.
        let drain: UInt64
        /// When SIGTERM went to the group.
        var termSentAt: UInt64?
        /// When SIGKILL went to the group.
        var killedAt: UInt64?
        /// Whether SIGKILL went to the group.
        var killed: Bool { killedAt != nil }
        /// Whether a background process kept the pipes open past the drain time.
        var detached = false

        init(_ spec: ProcessSpec, start: UInt64) {
            deadline = start + UInt64(spec.timeout.milliseconds) * 1_000_000
            grace = UInt64(spec.killGrace.milliseconds) * 1_000_000
            drain = UInt64(spec.drainAfterExit.milliseconds) * 1_000_000
        }
    }

    /// Runs the child to its end; see the type's safety contract.
    func supervise() -> ProcessOutcome {
        var timers = Timers(spec, start: startNanos)
        var out = TailBuffer(limit: spec.tailLimit)
        var err = TailBuffer(limit: spec.tailLimit)
        var abandoned = false
        while true {
            let now = Sys.monotonicNanos()
            enforceTimeLimit(&timers, now: now)
            // After a timeout, the run is not over while a member of the group lives.
            let groupAlive =
                timers.termSentAt != nil && !timers.killed && ProcessLiveness.groupHasLiveMembers(child.pid)
            if isFinished(&timers, now: now, groupAlive: groupAlive) { break }
            if let killedAt = timers.killedAt, child.exitStatus == nil, now >= killedAt + Self.reapAfterKill {
                abandoned = true
                break
            }
            let wakeFD = timers.termSentAt == nil ? cancel?.fd ?? -1 : -1
            let progress = child.readOutput(
                until: wakeUp(timers, now: now, groupAlive: groupAlive), watchExit: true, wakeFD: wakeFD
            ) {
                stream, bytes in
                if stream == .stdout { out.append(bytes) } else { err.append(bytes) }
            }
            if progress == .failed { break }
        }
        // An abandoned child stays a zombie of this process once the kernel lets it die.
        let status = child.exitStatus ?? (abandoned ? .signaled(SIGKILL) : killAfterFailedPoll(&timers))
        child.closePipes()
        return ProcessOutcome(
            pid: child.pid, status: status, timedOut: timers.termSentAt != nil, killed: timers.killed,
            outputDetached: timers.detached, stdoutTail: out.tail, stderrTail: err.tail, stdoutBytes: out.total,
            stderrBytes: err.total, elapsedNanos: Sys.monotonicNanos() - startNanos, abandoned: abandoned)
    }

    /// SIGTERM to the group at the deadline (unless the child has already ended), SIGKILL to the
    /// group once the grace after it has passed.
    func enforceTimeLimit(_ timers: inout Timers, now: UInt64) {
        if child.exitStatus == nil, timers.termSentAt == nil, now >= timers.deadline || cancel?.fired == true {
            child.signalGroup(SIGTERM)
            timers.termSentAt = now
        }
        if let sent = timers.termSentAt, !timers.killed, now >= sent + timers.grace {
            child.signalGroup(SIGKILL)
            timers.killedAt = now
        }
    }

    /// Done: reaped, output closed (or given up on after the drain time), and after a timeout no
    /// group member left.
    func isFinished(_ timers: inout Timers, now: UInt64, groupAlive: Bool) -> Bool {
        guard child.exitStatus != nil, !groupAlive else { return false }
        if !child.hasOpenOutput { return true }
        if let exitedAt = child.reapedAt, now >= exitedAt + timers.drain {
            timers.detached = true
            return true
        }
        return false
    }

    /// The next instant something is due: the deadline, the SIGKILL, the end of the drain time, the
    /// next look at a group that outlived its leader, or giving up on a child that SIGKILL did not end.
    func wakeUp(_ timers: Timers, now: UInt64, groupAlive: Bool) -> UInt64 {
        let exited = child.exitStatus != nil
        var wake = UInt64.max
        if !exited && timers.termSentAt == nil { wake = timers.deadline }
        if let sent = timers.termSentAt, !timers.killed { wake = min(wake, sent + timers.grace) }
        if let killedAt = timers.killedAt, !exited { wake = min(wake, killedAt + Self.reapAfterKill) }
        if let exitedAt = child.reapedAt { wake = min(wake, exitedAt + timers.drain) }
        if exited && groupAlive { wake = min(wake, now + 20_000_000) }
        return wake
    }

    /// Only reached if `poll` itself failed: makes sure the group is gone and the child reaped.
    func killAfterFailedPoll(_ timers: inout Timers) -> TerminationStatus {
        if timers.killedAt == nil { timers.killedAt = Sys.monotonicNanos() }
        return child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) ?? .signaled(SIGKILL)
    }
}
