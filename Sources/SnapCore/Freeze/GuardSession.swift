import Foundation
import SnapSystem
import Synchronization

/// One guard process, the watchdog, and this process's own fds to the same mounts.
///
/// `@unchecked Sendable`: the pipeline uses a session from one task at a time; the watcher
/// thread's state is handed over through `done` (a semaphore gives the happens-before edge).
final class GuardSession: FreezeSession, @unchecked Sendable {
    let child: ChildProcess
    let mounts: [MountEntry]
    let ownFDs: [FileDescriptor]
    let timeout: TimeSpan
    var channel: LineReader
    /// The last-resort thaw, armed just before the first FIFREEZE and disarmed after the thaw.
    var watchdog: WatchdogLink?
    private var frozen: [Bool]
    /// Mounts whose FIFREEZE was still running at the deadline, and those settled since.
    private var inFlight: Set<Int> = []
    private var settled: Set<Int> = []
    private var outcome = ThawOutcome()
    private var watcher: Thread?
    private let done = DispatchSemaphore(value: 0)
    private var freezeStart: UInt64 = 0

    /// Freeze waves of `mounts` (thaw goes in descending wave order).
    let waves: [Int]
    private let startWatching = DispatchSemaphore(value: 0)

    init(child: ChildProcess, mounts: [MountEntry], ownFDs: [FileDescriptor], timeout: TimeSpan, waves: [Int]) {
        self.child = child
        self.mounts = mounts
        self.ownFDs = ownFDs
        self.timeout = timeout
        self.waves = waves
        self.channel = LineReader(fd: child.stdoutFD)
        self.frozen = Array(repeating: false, count: mounts.count)
    }

    /// Thaw order: hosts before the loop devices they back, then reverse freeze order.
    var thawOrder: [Int] {
        mounts.indices.sorted { (FreezeGuardMain.wave(waves, $0), $0) > (FreezeGuardMain.wave(waves, $1), $1) }
    }

    /// The guard's pid (named in reports when it stays behind for a FIFREEZE in flight).
    var guardPid: Int32 { child.pid }

    /// Starts the watcher thread before the window, parked until `freeze()` lets it go.
    func startWatcher() {
        let thread = Thread { [self] in
            startWatching.wait()
            // Let go without a freeze (`cancel`): nothing of ours is frozen, so there is nothing to
            // watch or thaw — a thaw here would undo freezes that belong to other tools.
            guard freezeStart != 0 else {
                done.signal()
                return
            }
            watch()
        }
        thread.stackSize = 128 * 1024
        watcher = thread
        thread.start()
    }

    package func endAtDeadline(processGroups: [Int32]) {
        for group in processGroups where group > 1 { _ = send(.endAtDeadline(processGroup: group)) }
    }

    package func freeze() -> [MountFreezeResult] {
        var results = mounts.map { MountFreezeResult(mountPoint: $0.mountPoint, errno: Errno.ioError.rawValue) }
        freezeStart = Sys.monotonicNanos()
        watchdog?.send(.arm)
        guard send(.freeze) else { return results }
        var answered = Set<Int>()
        reading: while let line = channel.readLine(timeoutMs: timeout.milliseconds + 1000) {
            switch GuardReply(line: line) {
            case .frozen: break reading
            case .froze(let i, let e, let micros) where i < mounts.count:
                results[i].errno = e
                results[i].micros = micros
                frozen[i] = e == 0
                answered.insert(i)
            case .inFlight(let i) where i < mounts.count:
                inFlight.insert(i)
                results[i].inFlight = true
            default: continue
            }
        }
        // A mount the guard never answered for may be frozen (the guard stopped or died mid-way).
        for i in mounts.indices where !answered.contains(i) { results[i].inFlight = true }
        // A foreign freeze (EBUSY) is not ours: the watchdog must not thaw it.
        for i in results.indices where results[i].verdict == .frozenByOthers { watchdog?.send(.exclude(i)) }
        // Watch the guard through the window: if it dies or hangs past the deadline, thaw here.
        startWatching.signal()
        return results
    }

    package func thaw() -> ThawOutcome {
        guard watcher != nil else {
            cancel()
            return outcome
        }
        requestThaw()
        done.wait()
        watcher = nil
        if !frozen.contains(true) { watchdog?.send(.disarm) }
        return outcome
    }

    /// Sends the thaw command once; safe to call from any thread, it never blocks for long.
    func requestThaw() {
        let first = flags.withLock { f -> Bool in
            defer { f.thawRequested = true }
            return !f.thawRequested
        }
        if first { _ = send(.thaw) }
    }

    func cancel() {
        _ = send(.quit)
        watchdog?.send(.disarm)
        if watcher != nil {
            // Never frozen: let the parked watcher run into EOF and finish.
            startWatching.signal()
            done.wait()
            watcher = nil
        }
        release()
    }

    func finish() { release() }

    /// Waits up to `limit` for the FIFREEZE calls that were in flight at the deadline to return
    /// (the guard thaws each one the moment it does). Never blocks past `limit`.
    func settleInFlight(waitUpTo limit: TimeSpan) -> [String: LateFreeze] {
        var late: [String: LateFreeze] = [:]
        let end = Sys.monotonicNanos() + UInt64(limit.milliseconds) * 1_000_000
        while !inFlight.subtracting(settled).isEmpty, !outcome.guardLost {
            // Past `end`, a LATE line already in the pipe is still read (the reader looks once).
            guard case .line(let line) = channel.next(deadline: end) else { break }
            guard case .late(let i, let fe, let us, let te) = GuardReply(line: line), i < mounts.count else { continue }
            settled.insert(i)
            late[mounts[i].mountPoint] = LateFreeze(freezeErrno: fe, micros: us, thawErrno: te)
        }
        return late
    }

    /// Reads the guard's thaw report; thaws with our own fds if the guard vanishes or hangs.
    private func watch() {
        FaultPoint.hit("guard-watch")
        let limit = timeout.milliseconds + 500
        var sawDone = false
        while true {
            let elapsed = Int((Sys.monotonicNanos() - freezeStart) / 1_000_000)
            guard let line = channel.readLine(timeoutMs: max(limit - elapsed, 0)) else { break }
            let reply = GuardReply(line: line)
            if reply == .done {
                sawDone = true
                break
            }
            switch reply {
            case .deadline: outcome.deadlineHit = true
            case .ended(let group, 0): outcome.deadmanEnded.append(group)
            case .window(let us): outcome.windowMicros = us
            case .thawed(let i, let e) where i < mounts.count:
                outcome.results[mounts[i].mountPoint] = e
                if FreezeIoctlResult(errnoValue: e).confirmsThaw { frozen[i] = false }
            default: continue
            }
        }
        if !sawDone || frozen.contains(true) {
            // The guard is gone, stopped or stuck: thaw first, with our own fds. Without its report we
            // cannot know what it froze (it may have stopped in the middle of a wave), so thaw every
            // mount; EINVAL just means "was not frozen".
            outcome.guardLost = !sawDone
            for i in thawOrder where frozen[i] || !sawDone {
                let e = ownFDs[i].thaw().errnoValue
                if e == 0 || outcome.results[mounts[i].mountPoint] == nil || frozen[i] {
                    outcome.results[mounts[i].mountPoint] = e
                }
                frozen[i] = false
            }
            if outcome.windowMicros == 0 {
                outcome.windowMicros = Int((Sys.monotonicNanos() - freezeStart) / 1000)
            }
            if Int((Sys.monotonicNanos() - freezeStart) / 1_000_000) >= timeout.milliseconds {
                outcome.deadlineHit = true
            }
            if outcome.guardLost {
                // Then the knob: a guard stopped inside its RCU instant holds the lock. Stop it for good
                // (it is of no use any more), and put the knob back with bounded waits only.
                if inFlight.isEmpty { child.signal(SIGKILL) }
                RCUExpedite.heal(waitUpTo: .milliseconds(1500))
            }
        }
        outcome.inFlight = inFlight.sorted().map { mounts[$0].mountPoint }
        outcome.guardPid = child.pid
        done.signal()
    }

    private func send(_ command: GuardCommand) -> Bool {
        (try? child.writeStdin(Array(command.line.utf8))) != nil
    }

    /// Once-only steps that other threads may race for (the thaw command, the release).
    private let flags = Mutex<(thawRequested: Bool, finished: Bool)>((false, false))

    private func release() {
        let first = flags.withLock { f -> Bool in
            defer { f.finished = true }
            return !f.finished
        }
        guard first else { return }
        watchdog?.close()
        child.closePipes()
        for fd in ownFDs { fd.close() }
        // A guard waiting for a FIFREEZE in flight must live until it returns, to thaw it: never
        // kill it, never wait for it (it cannot exit before the kernel lets go).
        guard inFlight.subtracting(settled).isEmpty || outcome.guardLost else { return }
        // The guard exits right after DONE (or on EOF); make sure it is reaped.
        guard child.wait(upTo: .seconds(2)) == nil else { return }
        // Stuck: kill it, but never wait on a process that may sit in the kernel.
        child.signal(SIGKILL)
        child.reapIfExited()
    }
}
