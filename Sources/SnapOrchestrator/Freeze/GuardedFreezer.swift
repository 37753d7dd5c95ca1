import Foundation
import Glibc

/// The real `Freezer`: a guard process holds the freeze, and this process keeps its own fds to
/// every mount so that either of the two alone can thaw.
public struct GuardedFreezer: Freezer {
    /// The `snaporch` binary that runs the guard (`/proc/self/exe` in the CLI).
    public var executable: String
    /// Switch RCU grace periods to expedited mode for the instant of the freeze.
    public var expediteRCU: Bool

    /// Creates a freezer that starts `executable __guard`.
    public init(executable: String, expediteRCU: Bool = true) {
        self.executable = executable
        self.expediteRCU = expediteRCU
    }

    public func prepare(_ mounts: [MountEntry], timeout: TimeSpan) throws(FreezeError) -> any FreezeSession {
        var own: [Int32] = []
        for mount in mounts {
            let (fd, err) = FreezeIoctl.openMount(mount.mountPoint)
            if fd < 0 {
                own.forEach { close($0) }
                throw FreezeError(
                    code: ErrorCode.unableToOpenMount.rawValue,
                    "cannot open \(mount.mountPoint): \(String(cString: strerror(err)))")
            }
            own.append(fd)
        }
        // Flush dirty data now, outside the window, so FIFREEZE does not wait on writeback.
        for fd in own { _ = FreezeIoctl.syncFilesystem(fd) }
        let child: SpawnedChild
        do {
            child = try PosixSpawn.spawn(
                executable: executable,
                arguments: [
                    "__guard", "--timeout-ms", String(timeout.milliseconds),
                    "--waves", FreezeWaves.waves(for: mounts).map(String.init).joined(separator: ","),
                ] + (expediteRCU ? ["--expedite-rcu"] : []) + ["--"] + mounts.map(\.mountPoint),
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], workingDirectory: "/", stdinPipe: true)
        } catch {
            own.forEach { close($0) }
            throw FreezeError(code: ErrorCode.fsFreezeFailed.rawValue, "cannot start the freeze guard: \(error)")
        }
        close(child.stderrFD)
        let session = GuardSession(
            child: child, mounts: mounts, ownFDs: own, timeout: timeout, waves: FreezeWaves.waves(for: mounts))
        var channel = LineChannel(fd: child.stdoutFD)
        var openErrors: [String] = []
        while let line = channel.readLine(timeoutMs: 5000) {
            if line == "READY" {
                session.channel = channel
                if openErrors.isEmpty {
                    session.startWatcher()
                    return session
                }
                break
            }
            let parts = line.split(separator: " ")
            if parts.count == 3, parts[0] == "OPEN", let i = Int(parts[1]), let e = Int32(parts[2]), i < mounts.count {
                openErrors.append("guard cannot open \(mounts[i].mountPoint): \(String(cString: strerror(e)))")
            }
        }
        session.cancel()
        throw FreezeError(
            code: ErrorCode.unableToOpenMount.rawValue,
            openErrors.isEmpty ? "the freeze guard did not start" : openErrors.joined(separator: "; "))
    }
}

/// One guard process and this process's own fds to the same mounts.
///
/// `@unchecked Sendable`: the pipeline uses a session from one task at a time; the watcher
/// thread's state is handed over through `done` (a semaphore gives the happens-before edge).
final class GuardSession: FreezeSession, @unchecked Sendable {
    let child: SpawnedChild
    let mounts: [MountEntry]
    let ownFDs: [Int32]
    let timeout: TimeSpan
    var channel: LineChannel
    private var frozen: [Bool]
    private var outcome = ThawOutcome()
    private var watcher: Thread?
    private let done = DispatchSemaphore(value: 0)
    private var freezeStart: UInt64 = 0
    private var finished = false
    private var thawRequested = false

    /// Freeze waves of `mounts` (thaw goes in descending wave order).
    let waves: [Int]
    private let startWatching = DispatchSemaphore(value: 0)

    init(child: SpawnedChild, mounts: [MountEntry], ownFDs: [Int32], timeout: TimeSpan, waves: [Int]) {
        self.child = child
        self.mounts = mounts
        self.ownFDs = ownFDs
        self.timeout = timeout
        self.waves = waves
        self.channel = LineChannel(fd: child.stdoutFD)
        self.frozen = Array(repeating: false, count: mounts.count)
    }

    /// Thaw order: hosts before the loop devices they back, then reverse freeze order.
    var thawOrder: [Int] {
        mounts.indices.sorted { (FreezeGuardMain.wave(waves, $0), $0) > (FreezeGuardMain.wave(waves, $1), $1) }
    }

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

    func freeze() -> [MountFreezeResult] {
        var results = mounts.map { MountFreezeResult(mountPoint: $0.mountPoint, errno: EIO) }
        freezeStart = Sys.monotonicNanos()
        guard send("F\n") else { return results }
        while let line = channel.readLine(timeoutMs: timeout.milliseconds + 1000) {
            if line == "FROZEN" { break }
            let parts = line.split(separator: " ")
            if parts.count >= 3, parts[0] == "FROZE", let i = Int(parts[1]), let e = Int32(parts[2]), i < mounts.count {
                results[i].errno = e
                results[i].micros = parts.count > 3 ? Int(parts[3]) ?? 0 : 0
                frozen[i] = e == 0
            }
        }
        // Watch the guard through the window: if it dies or hangs past the deadline, thaw here.
        startWatching.signal()
        return results
    }

    func thaw() -> ThawOutcome {
        guard watcher != nil else {
            cancel()
            return outcome
        }
        requestThaw()
        done.wait()
        watcher = nil
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
        if watcher != nil {
            // Never frozen: let the parked watcher run into EOF and finish.
            startWatching.signal()
            done.wait()
            watcher = nil
        }
        release()
    }

    func finish() { release() }

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
                if e == 0 || e == EINVAL { frozen[i] = false }
            }
        }
        if !sawDone || frozen.contains(true) {
            // The guard is gone or stuck: thaw ourselves. Without its report we cannot know what it
            // froze (it may have died in the middle of a wave), so thaw every mount; EINVAL just
            // means "was not frozen".
            outcome.guardLost = !sawDone
            if outcome.guardLost { RCUExpedite.heal() }
            for i in thawOrder where frozen[i] || !sawDone {
                let e = FreezeIoctl.thaw(ownFDs[i])
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
        }
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
        if let fd = child.stdinFD { close(fd) }
        close(child.stdoutFD)
        for fd in ownFDs { close(fd) }
        // The guard exits right after DONE (or on EOF); make sure it is reaped.
        var status: Int32 = 0
        let end = Sys.monotonicNanos() + 2_000_000_000
        while true {
            let rc = waitpid(child.pid, &status, WNOHANG)
            if rc == child.pid || (rc < 0 && errno != EINTR) { break }
            if Sys.monotonicNanos() > end {
                kill(child.pid, SIGKILL)
                _ = waitpid(child.pid, &status, 0)
                break
            }
            usleep(1000)
        }
    }
}
