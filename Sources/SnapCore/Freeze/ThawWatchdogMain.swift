import SnapSystem

/// The last-resort thaw (`snaporch __watchdog`): a process that lives outside the run's process
/// group, session and cgroups, so that a kill of all of them at once (a cgroup-wide SIGKILL, an
/// OOM group kill) cannot take it along with the orchestrator and the guard.
///
/// At start it leaves the session (`setsid`), moves itself into the root cgroup of every hierarchy,
/// exempts itself from the OOM killer, opens every mount in advance and answers `READY`. On `A`
/// (armed: the window opens) it starts its clock; on `X i` it leaves mount `i` alone (frozen by
/// someone else); on `D` (disarmed: the run confirmed the thaw) it exits without touching anything.
/// Once armed, when the deadline passes or its parent disappears (EOF: the whole run was killed), it
/// calls FITHAW once on every mount it was given and exits.
///
/// Safety contract: one FITHAW per mount (never more than the one freeze level the run took); writes
/// nothing to disk; every wait has the deadline given on its command line once armed.
package enum ThawWatchdogMain {
    /// Runs the watchdog with `argv` = `--after-ms N -- MOUNT…`; returns the exit code.
    package static func run(_ argv: [String]) -> Int32 {
        var argv = argv[...]
        guard argv.popFirst() == "--after-ms", let afterMs = argv.popFirst().flatMap({ UInt64($0) }),
            argv.popFirst() == "--"
        else { return 2 }
        Signal.ignore([.interrupt, .terminate, .hangup, .brokenPipe, .quit, .terminalStop])
        ThisProcess.startSession()
        let refused = CgroupEscape.moveThisProcessToRoot()
        OOMProtection.protectThisProcess()
        let mounts = Array(argv)
        var fds = [FileDescriptor?](repeating: nil, count: mounts.count)
        var lines = refused.map { GuardReply.cgroupRefused($0).line }.joined()
        for (i, mount) in mounts.enumerated() {
            switch FileDescriptor.openMount(mount) {
            case .success(let fd): fds[i] = fd
            case .failure(let code): lines += GuardReply.openFailed(index: i, errno: code.rawValue).line
            }
        }
        GuardLine.emit(lines + GuardReply.ready.line)
        var commands = LineReader(fd: FileDescriptor.standardInput.rawValue, chunkSize: 256)
        var deadline: UInt64?
        var excluded = Set<Int>()
        while true {
            switch commands.next(deadline: deadline) {
            case .line(let text):
                switch GuardCommand(line: text) {
                case .arm? where deadline == nil:
                    deadline = Sys.monotonicNanos() + afterMs * 1_000_000
                    FaultPoint.hit("watchdog-armed")
                case .disarm?: return 0
                case .exclude(let i)?: excluded.insert(i)
                default: continue
                }
            case .closed where deadline == nil:
                return 0  // never armed: nothing was frozen
            case .closed, .timedOut:
                // The run is gone (or hung) with the window open: thaw what it may have frozen.
                var report = ""
                for i in fds.indices.reversed() where !excluded.contains(i) {
                    guard let fd = fds[i] else { continue }
                    report += GuardReply.thawed(index: i, errno: fd.thaw().errnoValue).line
                }
                GuardLine.emit(report + GuardReply.done.line)
                return 0
            }
        }
    }
}

/// Writes a protocol line to stdout (a pipe), ignoring a reader that is gone.
enum GuardLine {
    static func emit(_ text: String) {
        try? FileDescriptor.standardOutput.writeAll(Array(text.utf8))
    }
}
