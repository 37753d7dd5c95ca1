/// The line protocol between the orchestrator and its two helper processes (`FreezeGuardMain`,
/// `ThawWatchdogMain`): every message both ends exchange, written and parsed here only.
///
/// One ASCII line per message, fields separated by one space, `\n` at the end. Indices name the
/// helper's mount arguments (0-based); errnos are the kernel's (0 = success).

/// A command the orchestrator sends to the guard (`K g`, `F`, `T`, `Q`) or to the watchdog (`A`, `X i`, `D`).
enum GuardCommand: Sendable, Hashable {
    /// Guard, before `F`: kill process group `g` (a database client holding a lock) right after
    /// the thaw at the deadline, if the deadline strikes — the dead-man of that hold.
    case endAtDeadline(processGroup: Int32)
    /// Guard: freeze now.
    case freeze
    /// Guard: thaw now.
    case thaw
    /// Guard: give up without freezing.
    case quit
    /// Watchdog: the window opens, start the clock.
    case arm
    /// Watchdog: leave mount `i` alone (frozen by someone else).
    case exclude(Int)
    /// Watchdog: the run confirmed the thaw, exit without touching anything.
    case disarm

    /// The line, newline included.
    var line: String {
        switch self {
        case .endAtDeadline(let group): return "K \(group)\n"
        case .freeze: return "F\n"
        case .thaw: return "T\n"
        case .quit: return "Q\n"
        case .arm: return "A\n"
        case .exclude(let index): return "X \(index)\n"
        case .disarm: return "D\n"
        }
    }

    /// Parses one line (without its newline); nil for anything else.
    init?(line: String) {
        switch line {
        case "F": self = .freeze
        case "T": self = .thaw
        case "Q": self = .quit
        case "A": self = .arm
        case "D": self = .disarm
        default:
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2 else { return nil }
            if fields[0] == "K", let group = Int32(fields[1]), group > 1 {
                self = .endAtDeadline(processGroup: group)
                return
            }
            guard fields[0] == "X", let index = Int(fields[1]), index >= 0 else { return nil }
            self = .exclude(index)
        }
    }

    /// The guard reads single command bytes: the command of `byte`, nil for anything else.
    init?(byte: UInt8) {
        guard byte < 0x80, let command = GuardCommand(line: String(UnicodeScalar(byte))) else { return nil }
        self = command
    }
}

/// A message a helper writes back.
enum GuardReply: Sendable, Hashable {
    /// Mount `index` could not be opened (before `ready`).
    case openFailed(index: Int, errno: Int32)
    /// Watchdog: it could not leave this cgroup (before `ready`).
    case cgroupRefused(String)
    /// Every mount is open: waiting for a command.
    case ready
    /// FIFREEZE of mount `index` returned `errno` after `micros`.
    case froze(index: Int, errno: Int32, micros: Int)
    /// FIFREEZE of mount `index` was still running at the deadline.
    case inFlight(index: Int)
    /// Every FIFREEZE returned (or is in flight): the window is open.
    case frozen
    /// FITHAW of mount `index` returned `errno`.
    case thawed(index: Int, errno: Int32)
    /// First FIFREEZE to last FITHAW, in microseconds.
    case window(micros: Int)
    /// The deadline thawed the mounts.
    case deadline
    /// After `deadline`: the dead-man sent SIGKILL to process group `processGroup` (a `K` command);
    /// `errno` 0 when it was sent (`ESRCH`: the group was gone already).
    case ended(processGroup: Int32, errno: Int32)
    /// The thaw report is complete.
    case done
    /// A FIFREEZE in flight at the deadline returned (`freezeErrno`, after `micros`) and was thawed at
    /// once (`thawErrno`; -1: it did not freeze).
    case late(index: Int, freezeErrno: Int32, micros: Int, thawErrno: Int32)

    /// The line, newline included.
    var line: String {
        switch self {
        case .openFailed(let index, let errno): return "OPEN \(index) \(errno)\n"
        case .cgroupRefused(let text): return "CGROUP \(text)\n"
        case .ready: return "READY\n"
        case .froze(let index, let errno, let micros): return "FROZE \(index) \(errno) \(micros)\n"
        case .inFlight(let index): return "INFLIGHT \(index)\n"
        case .frozen: return "FROZEN\n"
        case .thawed(let index, let errno): return "THAW \(index) \(errno)\n"
        case .window(let micros): return "WINDOW \(micros)\n"
        case .deadline: return "DEADLINE\n"
        case .ended(let group, let errno): return "ENDED \(group) \(errno)\n"
        case .done: return "DONE\n"
        case .late(let index, let freezeErrno, let micros, let thawErrno):
            return "LATE \(index) \(freezeErrno) \(micros) \(thawErrno)\n"
        }
    }

    /// Parses one line (without its newline); nil for a line that is none of the messages.
    init?(line: String) {
        if line.hasPrefix("CGROUP ") {
            self = .cgroupRefused(String(line.dropFirst(7)))
            return
        }
        let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let n = f.dropFirst().compactMap { Int($0) }
        guard n.count == f.count - 1 else { return nil }
        switch (f[0], n.count) {
        case ("READY", 0): self = .ready
        case ("FROZEN", 0): self = .frozen
        case ("DEADLINE", 0): self = .deadline
        case ("DONE", 0): self = .done
        case ("INFLIGHT", 1) where n[0] >= 0: self = .inFlight(index: n[0])
        case ("WINDOW", 1): self = .window(micros: n[0])
        case ("OPEN", 2) where n[0] >= 0:
            guard let e = Int32(exactly: n[1]) else { return nil }
            self = .openFailed(index: n[0], errno: e)
        case ("THAW", 2) where n[0] >= 0:
            guard let e = Int32(exactly: n[1]) else { return nil }
            self = .thawed(index: n[0], errno: e)
        case ("FROZE", 2), ("FROZE", 3):
            guard n[0] >= 0, let e = Int32(exactly: n[1]) else { return nil }
            self = .froze(index: n[0], errno: e, micros: n.count > 2 ? n[2] : 0)
        case ("ENDED", 2) where n[0] > 1:
            guard let g = Int32(exactly: n[0]), let e = Int32(exactly: n[1]) else { return nil }
            self = .ended(processGroup: g, errno: e)
        case ("LATE", 4):
            guard n[0] >= 0, let fe = Int32(exactly: n[1]), let te = Int32(exactly: n[3]) else { return nil }
            self = .late(index: n[0], freezeErrno: fe, micros: n[2], thawErrno: te)
        default: return nil
        }
    }
}
