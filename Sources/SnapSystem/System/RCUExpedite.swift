import Glibc
import Synchronization

/// Switches the kernel's RCU grace periods to expedited mode for the instant of FIFREEZE.
///
/// Each FIFREEZE waits for several RCU grace periods (the superblock's percpu rw-semaphores):
/// ~25 ms per filesystem here, ~60 ms for four in parallel. With `/sys/kernel/rcu_expedited` set,
/// the same freezes take ~1 ms. The knob is global, so it is set just before the freeze and put
/// back right after it — a few milliseconds — under two locks: the lock file
/// `/run/snaporch-rcu.lock` (which also holds the value to put back) and a flock on the knob itself,
/// which is shared by every mount namespace (two runs with separate `/run` still take turns).
///
/// Rules that keep the knob from ever being left at 1: only a knob found at "0" is switched (one
/// found at "1" was set by the admin or by someone else's instant, and is left alone); only "0" is
/// ever put back, by the holder or by `heal` after a holder died (a stale "1" in the lock file is
/// ignored); every lock wait is bounded. The lock file is opened without following symlinks and
/// must be a root-owned regular file. Touches sysfs and a tmpfs lock only, never a disk.
package final class RCUExpedite: Sendable {
    static let path = "/sys/kernel/rcu_expedited"
    static let lockPath = "/run/snaporch-rcu.lock"
    /// How long `enable` waits for another freeze's instant before freezing without expediting.
    static let enableWait: TimeSpan = .milliseconds(250)

    /// Opened before the window so that only flock(2) happens inside it; -1 when unavailable.
    private let lockFD: Int32
    private let knobFD: Int32
    /// True while this process has switched the knob on.
    private let switched = Atomic<Bool>(false)

    /// Opens the lock file and the knob (call before the window).
    package init(lockPath: String = RCUExpedite.lockPath) {
        lockFD = Self.openLock(lockPath)
        knobFD = open(Self.path, O_RDONLY | O_CLOEXEC)
    }

    deinit {
        if lockFD >= 0 { close(lockFD) }
        if knobFD >= 0 { close(knobFD) }
    }

    /// The knob's current value ("0"/"1" as a byte), nil when absent or unreadable.
    package static func current() -> UInt8? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 1 ? byte : nil
    }

    /// Takes both locks (bounded), and turns expedited grace periods on if the knob is at "0".
    ///
    /// "0" is written into the lock file while the knob is set: if this process dies in that instant
    /// (its locks go with it), the next holder or `heal` finds it there and puts it back.
    /// - Returns: false when the knob was not switched (unavailable, busy, or already "1").
    @discardableResult
    package func enable() -> Bool {
        guard lockFD >= 0, Self.lock(lockFD, within: Self.enableWait) else { return false }
        if knobFD >= 0, !Self.lock(knobFD, within: Self.enableWait) {
            flock(lockFD, LOCK_UN)
            return false
        }
        Self.healLocked(lockFD)
        guard Self.current() == UInt8(ascii: "0") else {
            unlockAll()
            return false
        }
        var zero = UInt8(ascii: "0")
        _ = pwrite(lockFD, &zero, 1, 0)
        let on = Self.write(UInt8(ascii: "1"))
        switched.store(on, ordering: .releasing)
        if !on {
            _ = ftruncate(lockFD, 0)
            unlockAll()
        }
        return on
    }

    /// Puts "0" back and releases the locks.
    package func restore() {
        guard switched.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = Self.write(UInt8(ascii: "0"))
        _ = ftruncate(lockFD, 0)
        unlockAll()
    }

    private func unlockAll() {
        if knobFD >= 0 { flock(knobFD, LOCK_UN) }
        flock(lockFD, LOCK_UN)
    }

    /// Repairs the knob after a holder died inside its expedited instant (the lock file still holds
    /// "0"); a no-op otherwise. Waits at most `limit` for the locks: a holder that is stopped must be
    /// dealt with by the caller (killed), never waited for without end.
    /// - Returns: false when the locks could not be taken within `limit`.
    @discardableResult
    package static func heal(waitUpTo limit: TimeSpan = .seconds(2), lockPath: String = RCUExpedite.lockPath) -> Bool {
        let fd = openLock(lockPath)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard lock(fd, within: limit) else { return false }
        defer { flock(fd, LOCK_UN) }
        let knob = open(path, O_RDONLY | O_CLOEXEC)
        defer { if knob >= 0 { close(knob) } }
        if knob >= 0 {
            guard lock(knob, within: limit) else { return false }
        }
        healLocked(fd)
        if knob >= 0 { flock(knob, LOCK_UN) }
        return true
    }

    /// With the locks held: put back a "0" left in the lock file by a holder that died. Anything
    /// else found there (a stale "1" from an older version) is dropped, never written to the knob.
    private static func healLocked(_ fd: Int32) {
        var byte: UInt8 = 0
        if pread(fd, &byte, 1, 0) == 1, byte == UInt8(ascii: "0") {
            _ = write(byte)
        }
        _ = ftruncate(fd, 0)
    }

    /// Opens (creating) the lock file without following a symlink; it must be a regular file owned
    /// by this user and not writable by others. -1 otherwise.
    static func openLock(_ path: String) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return -1 }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_mode & 0o022 == 0
        else {
            close(fd)
            return -1
        }
        return fd
    }

    /// flock(LOCK_EX) with a deadline (polling LOCK_NB every millisecond).
    private static func lock(_ fd: Int32, within limit: TimeSpan) -> Bool {
        let end = Sys.monotonicNanos() + UInt64(limit.milliseconds) * 1_000_000
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno != EWOULDBLOCK && errno != EINTR { return false }
            if Sys.monotonicNanos() >= end { return false }
            usleep(1000)
        }
        return true
    }

    private static func write(_ value: UInt8) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes: [UInt8] = [value, 0x0A]
        return Glibc.write(fd, &bytes, 2) == 2
    }
}
