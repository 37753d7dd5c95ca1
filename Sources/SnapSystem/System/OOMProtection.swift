import Glibc

/// Keeps the out-of-memory killer away from a process that holds or guards a freeze.
///
/// `oom_score_adj = -1000` exempts the process from the OOM killer, including a cgroup-wide kill
/// with `memory.oom.group` (the kernel skips members at the minimum score). Needs CAP_SYS_RESOURCE;
/// best effort otherwise. Writes to procfs only, never to a disk.
package enum OOMProtection {
    /// Sets this process's `oom_score_adj` to -1000; returns false when the kernel refused.
    @discardableResult
    package static func protectThisProcess() -> Bool {
        let fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array("-1000\n".utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}
