import Glibc

/// Switches the kernel's RCU grace periods to expedited mode for the instant of FIFREEZE.
///
/// Each FIFREEZE waits for several RCU grace periods (the superblock's percpu rw-semaphores):
/// ~25 ms per filesystem here, ~60 ms for four in parallel. With `/sys/kernel/rcu_expedited` set,
/// the same freezes take ~1 ms. The knob is global, so it is set just before the freeze and put
/// back to its previous value right after it — a few milliseconds — under a machine-wide lock
/// (`/run/snaporch-rcu.lock`), so that two freezes at once (tests, a second tool) cannot leave it
/// set. Touches sysfs and a tmpfs lock only, never a disk.
final class RCUExpedite: @unchecked Sendable {
    static let path = "/sys/kernel/rcu_expedited"
    static let lockPath = "/run/snaporch-rcu.lock"
    /// Opened before the window so that only flock(2) happens inside it; -1 when unavailable.
    private let lockFD: Int32
    /// The value found under the lock, to put back.
    private var previous: UInt8?

    /// Opens the lock file (call before the window).
    init() {
        lockFD = open(Self.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    }

    deinit { if lockFD >= 0 { close(lockFD) } }

    /// The knob's current value ("0"/"1" as a byte), nil when absent or unreadable.
    static func current() -> UInt8? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 1 ? byte : nil
    }

    /// Takes the lock, remembers the value and turns expedited grace periods on.
    ///
    /// The value to restore is also written into the lock file while the knob is set: if this
    /// process dies in that instant (the lock goes with it), the next holder finds it there and
    /// puts it back (see `heal`), instead of taking the stuck "1" for the original.
    /// - Returns: false when the knob or the lock is not available (nothing was changed).
    @discardableResult
    func enable() -> Bool {
        guard lockFD >= 0, Self.lock(lockFD) else { return false }
        Self.healLocked(lockFD)
        guard let value = Self.current() else {
            flock(lockFD, LOCK_UN)
            return false
        }
        previous = value
        var byte = value
        _ = pwrite(lockFD, &byte, 1, 0)
        return Self.write(UInt8(ascii: "1"))
    }

    /// Puts the remembered value back and releases the lock.
    func restore() {
        guard let previous else { return }
        _ = Self.write(previous)
        _ = ftruncate(lockFD, 0)
        self.previous = nil
        flock(lockFD, LOCK_UN)
    }

    /// Repairs the knob after a holder died inside its expedited instant (the lock file still holds
    /// the original value); a no-op otherwise. Used by the orchestrator when its guard died and by
    /// recovery.
    static func heal() {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard lock(fd) else { return }
        healLocked(fd)
        flock(fd, LOCK_UN)
    }

    /// With the lock held: restore a value left in the lock file by a holder that died.
    private static func healLocked(_ fd: Int32) {
        var byte: UInt8 = 0
        if pread(fd, &byte, 1, 0) == 1, byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") {
            _ = write(byte)
        }
        _ = ftruncate(fd, 0)
    }

    private static func lock(_ fd: Int32) -> Bool {
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { return false }
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
