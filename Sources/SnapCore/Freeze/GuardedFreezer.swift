import Foundation
import SnapSystem
import Synchronization

/// The real `Freezer`: a guard process holds the freeze, and this process keeps its own fds to
/// every mount so that either of the two alone can thaw; a third process, the watchdog, outside
/// the run's process group and cgroups, thaws if both are killed at once.
package struct GuardedFreezer: Freezer {
    /// The `snaporch` binary that runs the guard: `/proc/self/exe` in the CLI, which still works
    /// when an upgrade or an uninstall deletes the file during the run.
    package var executable: String
    /// Switch RCU grace periods to expedited mode for the instant of the freeze.
    package var expediteRCU: Bool
    /// How long after the deadline the watchdog strikes if nobody else thawed.
    package var watchdogGrace: TimeSpan = .milliseconds(1000)
    /// How long the `syncfs` of the mounts may take (`freeze.sync_timeout`).
    package var syncTimeout: TimeSpan

    /// Creates a freezer that starts `executable __guard` and `executable __watchdog`.
    package init(executable: String, expediteRCU: Bool = true, syncTimeout: TimeSpan = .seconds(120)) {
        self.executable = executable
        self.expediteRCU = expediteRCU
        self.syncTimeout = syncTimeout
    }

    package func prepare(_ mounts: [MountEntry], timeout: TimeSpan) throws(FreezeError) -> any FreezeSession {
        var own: [FileDescriptor] = []
        for mount in mounts {
            switch FileDescriptor.openMount(mount.mountPoint) {
            case .success(let fd):
                own.append(fd)
            case .failure(let code):
                own.forEach { $0.close() }
                throw FreezeError(
                    code: .unableToOpenMount, "cannot open \(mount.mountPoint): \(code.message)")
            }
        }
        // Flush dirty data now, outside the window, so FIFREEZE does not wait on writeback; a disk
        // that cannot take it in time is not frozen at all.
        if let stuck = PreWindowSync.run(own, within: syncTimeout) {
            own.forEach { $0.close() }
            throw FreezeError(
                code: .fsFreezeFailed,
                "syncfs of \(mounts[stuck].mountPoint) did not return within \(syncTimeout) (freeze.sync_timeout): "
                    + "its disk is not taking the dirty data; not frozen (writers would stall behind the rest of the flush)"
            )
        }
        var environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        if let stop = FaultPoint.target { environment["SNAPORCH_FAULT_STOP_AT"] = stop }
        let waves = FreezeWaves.waves(for: mounts)
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                executable: executable,
                arguments: [
                    "__guard", "--timeout-ms", String(timeout.milliseconds),
                    "--waves", waves.map(String.init).joined(separator: ","),
                ] + (expediteRCU ? ["--expedite-rcu"] : []) + ["--"] + mounts.map(\.mountPoint),
                environment: environment, workingDirectory: "/", stdinPipe: true)
        } catch {
            own.forEach { $0.close() }
            throw FreezeError(code: .fsFreezeFailed, "cannot start the freeze guard: \(error)")
        }
        child.closeOutput(.stderr)
        // The watchdog starts while the guard does (best effort: without it the guard and this
        // process still thaw); it is used only once the guard is ready, and let go otherwise.
        let watchdog = WatchdogLink.spawn(
            executable: executable, mounts: mounts,
            after: .milliseconds(timeout.milliseconds + watchdogGrace.milliseconds), environment: environment)
        let session = GuardSession(child: child, mounts: mounts, ownFDs: own, timeout: timeout, waves: waves)
        var channel = LineReader(fd: child.stdoutFD)
        var openErrors: [String] = []
        while let line = channel.readLine(timeoutMs: 5000) {
            let reply = GuardReply(line: line)
            if reply == .ready {
                session.channel = channel
                if openErrors.isEmpty {
                    session.watchdog = watchdog?.awaitReady()
                    session.startWatcher()
                    return session
                }
                break
            }
            if case .openFailed(let i, let e) = reply, i < mounts.count {
                openErrors.append("guard cannot open \(mounts[i].mountPoint): \(Errno(rawValue: e).message)")
            }
        }
        watchdog?.close()
        session.cancel()
        throw FreezeError(
            code: .unableToOpenMount,
            openErrors.isEmpty ? "the freeze guard did not start" : openErrors.joined(separator: "; "))
    }
}

/// The orchestrator's end of a `ThawWatchdogMain` process.
final class WatchdogLink: Sendable {
    let child: ChildProcess
    private let closed = Atomic<Bool>(false)

    private init(child: ChildProcess) { self.child = child }

    /// Starts the watchdog without waiting for it; nil when it could not start. Unarmed, it touches
    /// nothing: `close()` (EOF on its command pipe) ends it.
    static func spawn(executable: String, mounts: [MountEntry], after: TimeSpan, environment: [String: String])
        -> WatchdogLink?
    {
        guard
            let child = try? ChildProcess.spawn(
                executable: executable,
                arguments: ["__watchdog", "--after-ms", String(after.milliseconds), "--"] + mounts.map(\.mountPoint),
                environment: environment, workingDirectory: "/", stdinPipe: true, newSession: true)
        else { return nil }
        child.closeOutput(.stderr)
        return WatchdogLink(child: child)
    }

    /// Waits (bounded) for the watchdog's `READY`: self when it came, nil (and the watchdog let go)
    /// otherwise.
    func awaitReady() -> WatchdogLink? {
        var channel = LineReader(fd: child.stdoutFD)
        while let line = channel.readLine(timeoutMs: 5000) {
            if GuardReply(line: line) == .ready { return self }
        }
        send(.disarm)
        close()
        return nil
    }

    /// Sends a command; never blocks for long (a pipe write of a few bytes).
    func send(_ command: GuardCommand) {
        guard !closed.load(ordering: .acquiring) else { return }
        _ = try? child.writeStdin(Array(command.line.utf8))
    }

    /// Closes the pipes and reaps the watchdog (it exits at once after `D`; bounded wait).
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        child.closePipes()
        if child.wait(upTo: .seconds(1)) == nil { child.signal(SIGKILL) }
    }
}
