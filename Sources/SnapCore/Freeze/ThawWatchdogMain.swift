import Foundation
import Glibc
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
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP] { signal(sig, SIG_IGN) }
        _ = setsid()
        let refused = CgroupEscape.moveThisProcessToRoot()
        OOMProtection.protectThisProcess()
        let mounts = Array(argv)
        var fds = [Int32](repeating: -1, count: mounts.count)
        var lines = refused.map { GuardReply.cgroupRefused($0).line }.joined()
        for (i, mount) in mounts.enumerated() {
            let (fd, err) = FreezeIoctl.openMount(mount)
            fds[i] = fd
            if fd < 0 { lines += GuardReply.openFailed(index: i, errno: err).line }
        }
        GuardLine.emit(lines + GuardReply.ready.line)
        var commands = CommandReader()
        var deadline: UInt64?
        var excluded = Set<Int>()
        while true {
            switch commands.next(deadline: deadline) {
            case .command(.arm) where deadline == nil:
                deadline = Sys.monotonicNanos() + afterMs * 1_000_000
            case .command(.disarm):
                return 0
            case .command(.exclude(let i)):
                excluded.insert(i)
            case .command:
                continue
            case .closed where deadline == nil:
                return 0  // never armed: nothing was frozen
            case .closed, .timedOut:
                // The run is gone (or hung) with the window open: thaw what it may have frozen.
                var report = ""
                for i in fds.indices.reversed() where fds[i] >= 0 && !excluded.contains(i) {
                    report += GuardReply.thawed(index: i, errno: FreezeIoctl.thaw(fds[i])).line
                }
                GuardLine.emit(report + GuardReply.done.line)
                return 0
            }
        }
    }
}

/// Reads newline-terminated commands from stdin, with an optional monotonic deadline.
struct CommandReader {
    enum Event: Equatable {
        case command(GuardCommand)
        case closed
        case timedOut
    }

    private var pending: [UInt8] = []

    mutating func next(deadline: UInt64?) -> Event {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                guard let command = GuardCommand(line: line) else { continue }
                return .command(command)
            }
            var timeout: Int32 = -1
            if let deadline {
                let now = Sys.monotonicNanos()
                if now >= deadline { return .timedOut }
                timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var entry = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let rc = poll(&entry, 1, timeout)
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 { return .closed }
            if rc == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .closed }
            pending += chunk[0..<n]
        }
    }
}

/// Writes a protocol line to stdout (a pipe), ignoring a reader that is gone.
enum GuardLine {
    static func emit(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
