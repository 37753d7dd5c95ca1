import Glibc

/// Moves this process out of the cgroups of the run, into the root cgroup of every hierarchy.
///
/// A cgroup-wide kill (the guest agent tearing down the extension's cgroup, systemd
/// `KillMode=control-group`, `memory.oom.group`) kills every process of the cgroup at once; a
/// process in the root cgroup of each hierarchy survives it. Reads the mount table and writes to
/// cgroupfs only, never to a disk.
package enum CgroupEscape {
    /// The mount points of every cgroup (v1) and cgroup2 hierarchy.
    static func hierarchies() -> [String] {
        MountTable.entries().filter { $0.fsType == "cgroup" || $0.fsType == "cgroup2" }.map(\.mountPoint)
    }

    /// Writes this process's pid into `cgroup.procs` of every hierarchy's root.
    /// - Returns: the hierarchies that refused (empty when the process left every cgroup).
    @discardableResult
    package static func moveThisProcessToRoot() -> [String] {
        let pid = Array("\(getpid())\n".utf8)
        var refused: [String] = []
        for root in hierarchies() {
            let fd = open(root + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                refused.append(root)
                continue
            }
            let n = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n != pid.count { refused.append(root) }
            close(fd)
        }
        return refused
    }
}
