import Foundation
import Glibc
import SnapSystem

/// The freeze guard: a small process (`snaporch __guard`) that holds the freeze.
///
/// It opens every mount in advance, freezes on the `F` command (each wave of `FreezeWaves` in
/// parallel, on threads started in advance), and thaws in reverse order on
/// the `T` command, at the deadline (monotonic clock), or as soon as its parent disappears (EOF
/// on its command pipe, however the parent died). While frozen it writes nothing to disk (only
/// to its response pipe) and locks its memory so it never waits on paging.
///
/// With `--expedite-rcu` it switches the kernel to expedited RCU grace periods for the instant
/// of the freeze (see `RCUExpedite`), which cuts FIFREEZE from tens of milliseconds to about one.
///
/// A FIFREEZE still running at the deadline (a throttled disk, a writer stuck in a page fault)
/// cannot be cancelled: the guard reports it `INFLIGHT`, thaws everything else, reports `DONE`, and
/// then stays alive until that FIFREEZE returns, thaws it at once and reports `LATE`. Nobody has
/// to wait for it: the orchestrator goes on and never blocks on this process.
///
/// Protocol (`GuardReply`, `GuardCommand` in GuardProtocol.swift), one ASCII line each on stdout:
/// `OPEN i errno` for a mount it cannot open, `READY`; after `F`: `FROZE i errno microseconds` per
/// mount, `INFLIGHT i` per FIFREEZE still running at the deadline, `FROZEN`; after the thaw:
/// `THAW i errno` per frozen mount, `WINDOW microseconds`, `DEADLINE` when the deadline struck,
/// `DONE`; later, per in-flight mount, `LATE i errno microseconds thawErrno` when its FIFREEZE
/// returned (thawErrno -1: it did not freeze).
package enum FreezeGuardMain {
    /// Runs the guard with `argv` = `--timeout-ms N [--waves W,W,…] -- MOUNT…`; returns the exit code.
    package static func run(_ argv: [String]) -> Int32 {
        var argv = argv[...]
        guard argv.count >= 3, argv.popFirst() == "--timeout-ms", let timeoutMs = argv.popFirst().flatMap({ Int($0) })
        else { return 2 }
        var waves: [Int] = []
        if argv.first == "--waves" {
            argv.removeFirst()
            waves = (argv.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
        }
        var expedite: RCUExpedite?
        if argv.first == "--expedite-rcu" {
            argv.removeFirst()
            expedite = RCUExpedite()
        }
        guard argv.popFirst() == "--" else { return 2 }
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP] { signal(sig, SIG_IGN) }
        // The OOM killer must pick anything but the process that holds the freeze.
        OOMProtection.protectThisProcess()
        let mounts = Array(argv)
        var fds = [Int32](repeating: -1, count: mounts.count)
        var lines = ""
        for (i, mount) in mounts.enumerated() {
            let (fd, err) = FreezeIoctl.openMount(mount)
            fds[i] = fd
            if fd < 0 { lines += GuardReply.openFailed(index: i, errno: err).line }
        }
        _ = mlockall(Int32(MCL_CURRENT | MCL_FUTURE))
        let workers = FreezeWorkers(fds: fds)
        emit(lines + GuardReply.ready.line)
        guard waitCommand(deadline: nil).flatMap(GuardCommand.init(byte:)) == .freeze else { return 0 }

        let start = Sys.monotonicNanos()
        let deadline = start + UInt64(timeoutMs) * 1_000_000
        expedite?.enable()
        let (results, micros, pending) = workers.freeze(waves: waves, deadline: deadline)
        if expedite != nil { FaultPoint.hit("guard-rcu") }
        expedite?.restore()
        var report = ""
        for i in results.indices {
            report +=
                GuardReply.froze(index: i, errno: results[i] < 0 ? EBADF : results[i], micros: Int(micros[i])).line
        }
        for i in pending { report += GuardReply.inFlight(index: i).line }
        emit(report + GuardReply.frozen.line)

        let command = pending.isEmpty ? waitCommand(deadline: deadline) : nil
        let deadlineHit = command == nil
        // Thaw hosts before the loop devices they back: descending wave, then reverse order.
        let order = fds.indices.sorted { (wave(waves, $0), $0) > (wave(waves, $1), $1) }
        var thawed = [Int32](repeating: -1, count: mounts.count)
        for i in order where results[i] == 0 {
            thawed[i] = FreezeIoctl.thaw(fds[i])
        }
        let end = Sys.monotonicNanos()
        var done = ""
        for i in thawed.indices where thawed[i] >= 0 { done += GuardReply.thawed(index: i, errno: thawed[i]).line }
        done += GuardReply.window(micros: Int((end - start) / 1000)).line
        if deadlineHit { done += GuardReply.deadline.line }
        emit(done + GuardReply.done.line)
        // Outlive every FIFREEZE still in flight: its worker thaws it the moment it returns.
        workers.awaitLate(pending) { late in
            emit(
                GuardReply.late(
                    index: late.index, freezeErrno: late.freezeErrno, micros: Int(late.micros),
                    thawErrno: late.thawErrno
                ).line)
        }
        return 0
    }

    static func wave(_ waves: [Int], _ i: Int) -> Int { waves.indices.contains(i) ? waves[i] : 0 }

    /// Waits for one command byte on stdin. Returns 0 for EOF (parent gone), nil at the deadline.
    private static func waitCommand(deadline: UInt64?) -> UInt8? {
        var byte: UInt8 = 0
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let now = Sys.monotonicNanos()
                if now >= deadline { return nil }
                timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var entry = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let rc = poll(&entry, 1, timeout)
            if rc < 0 {
                if errno == EINTR { continue }
                return 0
            }
            if rc == 0 { continue }
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return 0 }
            if byte == UInt8(ascii: "\n") { continue }
            return byte
        }
    }

    private static func emit(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
