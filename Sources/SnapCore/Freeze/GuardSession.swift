import Foundation
import SnapSystem

/// One guard process, the watchdog, and this process's own fds to the same mounts.
///
/// `@unchecked Sendable`: the pipeline uses a session from one task at a time; the watcher
/// thread's state is handed over through `done` (a semaphore gives the happens-before edge).
final class GuardSession: FreezeSession, @unchecked Sendable {
    let child: SpawnedChild
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
    private var finished = false
    private var thawRequested = false

    /// Freeze waves of `mounts` (thaw goes in descending wave order).
    let waves: [Int]
    private let startWatching = DispatchSemaphore(value: 0)

    init(child: SpawnedChild, mounts: [MountEntry], ownFDs: [FileDescriptor], timeout: TimeSpan, waves: [Int]) {
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
            watch()
        }
        thread.stackSize = 128 * 1024
        watcher = thread
        thread.start()
    }

    package func freeze() -> [MountFreezeResult] {
        var results = mounts.map { MountFreezeResult(mountPoint: $0.mountPoint, errno: Errno.ioError.rawValue) }
        freezeStart = Sys.monotonicNanos()
        watchdog?.send("A\n")
        guard send("F\n") else { return results }
        var answered = Set<Int>()
        while let line = channel.readLine(timeoutMs: timeout.milliseconds + 1000) {
            if line == "FROZEN" { break }
            let parts = line.split(separator: " ")
            if parts.count >= 3, parts[0] == "FROZE", let i = Int(parts[1]), let e = Int32(parts[2]), i < mounts.count {
                results[i].errno = e
                results[i].micros = parts.count > 3 ? Int(parts[3]) ?? 0 : 0
                frozen[i] = e == 0
                answered.insert(i)
            } else if parts.count == 2, parts[0] == "INFLIGHT", let i = Int(parts[1]), i < mounts.count {
                inFlight.insert(i)
                results[i].inFlight = true
            }
        }
        // A mount the guard never answered for may be frozen (the guard stopped or died mid-way).
        for i in mounts.indices where !answered.contains(i) { results[i].inFlight = true }
        // A foreign freeze (EBUSY) is not ours: the watchdog must not thaw it.
        for i in results.indices where results[i].verdict == .frozenByOthers { watchdog?.send("X \(i)\n") }
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
        if !frozen.contains(true) { watchdog?.send("D\n") }
        return outcome
    }

    /// Sends the thaw command once; safe to call from any thread, it never blocks for long.
    func requestThaw() {
        let first = releaseLock.withLock { () -> Bool in
            defer { thawRequested = true }
            return !thawRequested
        }
        if first { _ = send("T\n") }
    }

    func cancel() {
        _ = send("Q\n")
        watchdog?.send("D\n")
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
            let now = Sys.monotonicNanos()
            guard now < end, let line = channel.readLine(timeoutMs: Int((end - now) / 1_000_000)) else { break }
            let p = line.split(separator: " ")
            guard p.count == 5, p[0] == "LATE", let i = Int(p[1]), i < mounts.count, let fe = Int32(p[2]),
                let us = Int(p[3]), let te = Int32(p[4])
            else { continue }
            settled.insert(i)
            late[mounts[i].mountPoint] = LateFreeze(freezeErrno: fe, micros: us, thawErrno: te)
        }
        return late
    }

    /// Reads the guard's thaw report; thaws with our own fds if the guard vanishes or hangs.
    private func watch() {
        let limit = timeout.milliseconds + 500
        var sawDone = false
        while true {
            let elapsed = Int((Sys.monotonicNanos() - freezeStart) / 1_000_000)
            guard let line = channel.readLine(timeoutMs: max(limit - elapsed, 0)) else { break }
            let parts = line.split(separator: " ")
            if line == "DONE" {
                sawDone = true
                break
            } else if line == "DEADLINE" {
                outcome.deadlineHit = true
            } else if parts.count == 2, parts[0] == "WINDOW", let us = Int(parts[1]) {
                outcome.windowMicros = us
            } else if parts.count == 3, parts[0] == "THAW", let i = Int(parts[1]), let e = Int32(parts[2]),
                i < mounts.count
            {
                outcome.results[mounts[i].mountPoint] = e
                if FreezeIoctlResult(errnoValue: e).confirmsThaw { frozen[i] = false }
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
                if inFlight.isEmpty { Signal.kill.send(to: child.pid) }
                RCUExpedite.heal(waitUpTo: .milliseconds(1500))
            }
        }
        outcome.inFlight = inFlight.sorted().map { mounts[$0].mountPoint }
        outcome.guardPid = child.pid
        done.signal()
    }

    private func send(_ text: String) -> Bool {
        guard let fd = child.stdinFD else { return false }
        return (try? Sys.writeAll(fd, Array(text.utf8))) != nil
    }

    private let releaseLock = NSLock()

    private func release() {
        let first = releaseLock.withLock { () -> Bool in
            defer { finished = true }
            return !finished
        }
        guard first else { return }
        watchdog?.close()
        if let fd = child.stdinFD { Sys.close(fd) }
        Sys.close(child.stdoutFD)
        for fd in ownFDs { fd.close() }
        // A guard waiting for a FIFREEZE in flight must live until it returns, to thaw it: never
        // kill it, never wait for it (it cannot exit before the kernel lets go).
        guard inFlight.subtracting(settled).isEmpty || outcome.guardLost else { return }
        // The guard exits right after DONE (or on EOF); make sure it is reaped.
        var status: Int32 = 0
        let end = Sys.monotonicNanos() + 2_000_000_000
        while true {
            let rc = waitpid(child.pid, &status, WNOHANG)
            if rc == child.pid || (rc < 0 && errno != EINTR) { return }
            if Sys.monotonicNanos() > end { break }
            ThisProcess.sleep(microseconds: 1000)
        }
        // Stuck: kill it, but never wait on a process that may sit in the kernel.
        Signal.kill.send(to: child.pid)
        _ = waitpid(child.pid, &status, WNOHANG)
    }
}
