import Glibc

/// Switches the kernel's RCU grace periods to expedited mode for the instant of FIFREEZE.
///
/// Each FIFREEZE waits for several RCU grace periods (the superblock's percpu rw-semaphores):
/// ~25 ms per filesystem here, ~60 ms for four in parallel. With `/sys/kernel/rcu_expedited` set,
/// the same freezes take ~2 ms. The knob is global, so it is set just before the freeze and put
/// back to its previous value right after it — a few milliseconds. Writing it touches sysfs only,
/// never a disk.
struct RCUExpedite {
    static let path = "/sys/kernel/rcu_expedited"
    /// The value found before we touched it; nil when the knob is absent or unreadable.
    let previous: UInt8?

    /// Reads the current value (call before the window).
    init() {
        let fd = open(Self.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            previous = nil
            return
        }
        defer { close(fd) }
        var byte: UInt8 = 0
        previous = read(fd, &byte, 1) == 1 ? byte : nil
    }

    /// Turns expedited grace periods on; returns false when the knob is absent or not writable.
    @discardableResult
    func enable() -> Bool { previous != nil && Self.write(UInt8(ascii: "1")) }

    /// Puts the knob back to `value` ("0" or "1"), e.g. from a crashed run's journal.
    static func restore(to value: String) {
        if let byte = value.utf8.first, byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") { _ = write(byte) }
    }

    /// Restores the value found at `init`.
    func restore() {
        if let previous { _ = Self.write(previous) }
    }

    private static func write(_ value: UInt8) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes: [UInt8] = [value, 0x0A]
        return Glibc.write(fd, &bytes, 2) == 2
    }
}
