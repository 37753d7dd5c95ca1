import SnapSystem

/// The freeze guard: a small process (`snaporch __guard`) that holds the freeze.
///
/// It opens every mount in advance, freezes on the `F` command (each wave of `FreezeWaves` in
/// parallel, on threads started in advance), and thaws in reverse order on
/// the `T` command, at the deadline (monotonic clock), or as soon as its parent disappears (EOF
/// on its command pipe, however the parent died). While frozen it writes nothing to disk (only
/// to its response pipe) and never waits on paging: it starts before anything else in the binary
/// (`HelperEntry`: no async runtime thread, no Foundation), rehearses its freeze and thaw path, and
/// then locks only the pages it has touched (`WorkingSetLock`: a few MiB instead of every library).
///
/// With `--expedite-rcu` it switches the kernel to expedited RCU grace periods for the instant
/// of the freeze (see `RCUExpedite`), which cuts FIFREEZE from tens of milliseconds to about one.
///
/// A FIFREEZE still running at the deadline (a throttled disk, a writer stuck in a page fault)
/// cannot be cancelled: the guard reports it `INFLIGHT`, thaws everything else, reports `DONE`, and
/// then stays alive until that FIFREEZE returns, thaws it at once and reports `LATE`. Nobody has
/// to wait for it: the orchestrator goes on and never blocks on this process.
///
/// Dead-man: each `K g` command before `F` names a process group (a database client holding a
/// lock) that it kills right after its own thaw at the deadline — never when the caller thaws in
/// time (a `T` already in the pipe when the guard looks at the deadline counts as in time, even if
/// the guard itself ran late) — so no lock outlives the window even when the orchestrator is
/// stopped or hung.
///
/// Protocol (`GuardReply`, `GuardCommand` in GuardProtocol.swift), one ASCII line each on stdout:
/// `OPEN i errno` for a mount it cannot open, `READY`; after `F`: `FROZE i errno microseconds` per
/// mount, `INFLIGHT i` per FIFREEZE still running at the deadline, `FROZEN`; after the thaw:
/// `THAW i errno` per frozen mount, `WINDOW microseconds`, `DEADLINE` when the deadline struck
/// (then `ENDED g errno` per `K` process group), `DONE`; later, per in-flight mount, `LATE i errno
/// microseconds thawErrno` when its FIFREEZE returned (thawErrno -1: it did not freeze).
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
        Signal.ignore([.interrupt, .terminate, .hangup, .brokenPipe, .quit, .terminalStop])
        // The OOM killer must pick anything but the process that holds the freeze.
        OOMProtection.protectThisProcess()
        // No 64 MiB malloc arena per worker thread (MCL_FUTURE would count them as locked).
        ThisProcess.useSingleMallocArena()
        let mounts = Array(argv)
        var fds = [FileDescriptor?](repeating: nil, count: mounts.count)
        var lines = ""
        for (i, mount) in mounts.enumerated() {
            switch FileDescriptor.openMount(mount) {
            case .success(let fd): fds[i] = fd
            case .failure(let code): lines += GuardReply.openFailed(index: i, errno: code.rawValue).line
            }
        }
        // Only the code used from here on stays present, and only that is locked (see WorkingSetLock).
        WorkingSetLock.dropCodePages()
        let workers = FreezeWorkers(fds: fds)
        var commands = LineReader(fd: FileDescriptor.standardInput.rawValue)
        // Thaw hosts before the loop devices they back: descending wave, then reverse order.
        let order = fds.indices.sorted { (wave(waves, $0), $0) > (wave(waves, $1), $1) }
        rehearse(mounts.count, order: order, commands: &commands)
        WorkingSetLock.lockTouchedPages()
        emit(lines + GuardReply.ready.line)
        guard let deadman = awaitFreeze(&commands) else { return 0 }

        let start = Sys.monotonicNanos()
        let deadline = start + UInt64(timeoutMs) * 1_000_000
        expedite?.enable()
        let (results, micros, pending) = workers.freeze(waves: waves, deadline: deadline)
        if expedite != nil { FaultPoint.hit("guard-rcu") }
        expedite?.restore()
        emit(frozenReport(results, micros, pending))
        FaultPoint.hit("guard-frozen")

        let command = pending.isEmpty ? waitCommand(&commands, deadline: deadline) : nil
        let deadlineHit = command == nil
        var thawed = [Int32](repeating: -1, count: mounts.count)
        for i in order where results[i] == 0 {
            thawed[i] = fds[i]?.thaw().errnoValue ?? Errno.badFileDescriptor.rawValue
        }
        let end = Sys.monotonicNanos()
        // At the deadline the holds' clients are ended too (the dead-man), right after the thaw.
        let ended = deadlineHit ? endHolders(deadman) : ""
        emit(thawReport(thawed, windowMicros: Int((end - start) / 1000), deadlineHit: deadlineHit, ended: ended))
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

    /// The replies after the freeze: `FROZE i errno µs` per mount, `INFLIGHT i`, `FROZEN`.
    private static func frozenReport(_ results: [Int32], _ micros: [UInt64], _ pending: [Int]) -> String {
        var report = ""
        for i in results.indices {
            let errno = results[i] < 0 ? Errno.badFileDescriptor.rawValue : results[i]
            report += GuardReply.froze(index: i, errno: errno, micros: Int(micros[i])).line
        }
        for i in pending { report += GuardReply.inFlight(index: i).line }
        return report + GuardReply.frozen.line
    }

    /// The replies after the thaw: `THAW i errno` per thawed mount, `WINDOW µs`, `DEADLINE` and then
    /// `ended` (the `ENDED` lines of the dead-man), `DONE`.
    private static func thawReport(_ thawed: [Int32], windowMicros: Int, deadlineHit: Bool, ended: String) -> String {
        var done = ""
        for i in thawed.indices where thawed[i] >= 0 { done += GuardReply.thawed(index: i, errno: thawed[i]).line }
        done += GuardReply.window(micros: windowMicros).line
        if deadlineHit { done += GuardReply.deadline.line + ended }
        return done + GuardReply.done.line
    }

    /// Runs the code of the window once with no effect, before the memory is locked: the clock, a
    /// FITHAW on no descriptor (EBADF), both reports (built, not sent), an empty write and a poll of
    /// the command pipe, so that every page the window needs is present and gets locked.
    ///
    /// Safety contract: freezes and thaws nothing (the descriptor is -1), consumes no command (the
    /// parent sends none before `READY`).
    private static func rehearse(_ count: Int, order: [Int], commands: inout LineReader) {
        let start = Sys.monotonicNanos()
        let none = FileDescriptor(borrowing: -1)
        var thawed = [Int32](repeating: -1, count: count)
        for i in order { thawed[i] = none.thaw().errnoValue }
        let results = [Int32](repeating: 0, count: count)
        let micros = [UInt64](repeating: 0, count: count)
        let lines =
            frozenReport(results, micros, [0])
            + thawReport(
                thawed, windowMicros: Int((Sys.monotonicNanos() - start) / 1000), deadlineHit: true,
                ended: GuardReply.ended(processGroup: 1, errno: 0).line)
        _ = lines.utf8.count
        emit("")
        // The fault points of the window read their setting once: here, before the memory is locked.
        _ = FaultPoint.target
        // A deadline just ahead: poll(2) itself runs, with the timeout computation of the window.
        _ = waitCommand(&commands, deadline: Sys.monotonicNanos() + 1)
    }

    /// Waits for `F`, collecting the process groups of `K g` commands sent before it (the holds whose
    /// dead-man this guard is). nil when anything else comes first: `Q`, EOF (parent gone).
    private static func awaitFreeze(_ commands: inout LineReader) -> [Int32]? {
        var groups: [Int32] = []
        while true {
            guard case .line(let text) = commands.next(deadline: nil) else { return nil }
            guard let first = text.utf8.first else { continue }
            switch GuardCommand(line: text) ?? GuardCommand(byte: first) {
            case .endAtDeadline(let group): if !groups.contains(group) { groups.append(group) }
            case .freeze: return groups
            default: return nil
            }
        }
    }

    /// The dead-man, right after the thaw at the deadline: the caller did not thaw in time (stopped,
    /// hung), so the locks its database sessions hold would outlive the window. Killing a client's
    /// process group ends its session, and the server releases the lock with it. Writes nothing to
    /// disk. Returns the `ENDED` lines.
    private static func endHolders(_ groups: [Int32]) -> String {
        groups.map { group in
            GuardReply.ended(processGroup: group, errno: Signal.kill.send(toGroup: group)?.rawValue ?? 0).line
        }.joined()
    }

    /// Waits for the next command on stdin (its first byte; empty lines are skipped). Returns 0 for
    /// EOF (parent gone), nil at the deadline.
    private static func waitCommand(_ commands: inout LineReader, deadline: UInt64?) -> UInt8? {
        while true {
            switch commands.next(deadline: deadline) {
            case .line(let text):
                if let byte = text.utf8.first { return byte }
            case .closed: return 0
            case .timedOut: return nil
            }
        }
    }

    /// Writes a protocol line to stdout (a pipe), ignoring a reader that is gone.
    private static func emit(_ text: String) {
        try? FileDescriptor.standardOutput.writeAll(Array(text.utf8))
    }
}
