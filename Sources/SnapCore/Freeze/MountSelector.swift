import Foundation
import SnapSystem

/// Chooses the filesystems to freeze and says why every other mount is left out.
///
/// Safety contract: with an explicit list (`freeze.mounts`, `--mount`) only those mount points
/// can ever be selected; `allowList`, when set, is a hard upper bound on any selection (tests set
/// it through `SNAPORCH_FREEZE_ALLOW`, and automatic selection is refused under a test root).
package struct MountSelector: Sendable {
    /// Filesystem types that are never frozen: pseudo, memory, network and FUSE filesystems.
    package static let unfreezableTypes: Set<String> = [
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2", "securityfs", "debugfs",
        "tracefs", "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs", "binfmt_misc",
        "efivarfs", "rpc_pipefs", "nsfs", "overlay", "squashfs", "iso9660", "nfs", "nfs4", "cifs", "smb3", "smbfs",
        "9p", "ceph", "glusterfs", "sshfs", "selinuxfs", "zfs", "vboxsf", "virtiofs", "swap",
    ]

    /// Explicitly requested mount points (empty: automatic selection).
    package var explicit: [String]
    /// Glob patterns never frozen.
    package var exclude: [String]
    /// Hard upper bound on the selection, when set.
    package var allowList: [String]?

    /// Creates a selector.
    package init(explicit: [String], exclude: [String], allowList: [String]? = nil) {
        self.explicit = explicit
        self.exclude = exclude
        self.allowList = allowList
    }

    /// The selection: mounts to freeze in freeze order (children before parents), and the rest.
    package func select(from entries: [MountEntry]) -> (freeze: [MountEntry], skipped: [SkippedMount], errors: [String])
    {
        var skipped: [SkippedMount] = []
        var errors: [String] = []
        var candidates: [MountEntry] = []
        // The visible mount at each path is the last one mounted there.
        var visible: [String: MountEntry] = [:]
        for entry in entries { visible[entry.mountPoint] = entry }
        if !explicit.isEmpty {
            for path in explicit {
                let normalized = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
                guard let entry = visible[normalized] else {
                    errors.append("\(path) is not a mount point")
                    continue
                }
                candidates.append(entry)
            }
        } else if allowList == nil && isPrivateRoot() {
            errors.append(
                "automatic mount selection is refused under a test SNAPORCH_ROOT: name the mounts with --mount")
            return ([], [], errors)
        } else {
            candidates = entries.filter { visible[$0.mountPoint] == $0 }
        }
        var chosen: [MountEntry] = []
        var devices: [String: String] = [:]
        for entry in candidates {
            if let reason = reasonToSkip(entry) {
                skipped.append(SkippedMount(mountPoint: entry.mountPoint, fsType: entry.fsType, reason: reason))
            } else if let first = devices[entry.device] {
                skipped.append(
                    SkippedMount(
                        mountPoint: entry.mountPoint, fsType: entry.fsType,
                        reason: "same filesystem as \(first) (bind or repeated mount): frozen once"))
            } else {
                devices[entry.device] = entry.mountPoint
                chosen.append(entry)
            }
        }
        // Children before parents: reverse mount order, so `/` comes last.
        let order = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($0.element.mountID, $0.offset) })
        chosen.sort { (order[$0.mountID] ?? 0) > (order[$1.mountID] ?? 0) }
        return (chosen, skipped, errors)
    }

    /// Why `entry` must not be frozen, or nil.
    func reasonToSkip(_ entry: MountEntry) -> String? {
        if let allowList, !allowList.contains(entry.mountPoint) {
            return "not in the allow-list (SNAPORCH_FREEZE_ALLOW)"
        }
        if Self.unfreezableTypes.contains(entry.fsType) {
            return "\(entry.fsType) is a pseudo, memory or network filesystem"
        }
        if entry.fsType.hasPrefix("fuse") { return "FUSE filesystems cannot be frozen safely" }
        if entry.isReadOnly { return "read-only: nothing to flush" }
        if !entry.source.hasPrefix("/dev/")
            && !["btrfs", "ext2", "ext3", "ext4", "xfs", "vfat", "f2fs"].contains(entry.fsType)
        {
            return "not backed by a block device (\(entry.source))"
        }
        for pattern in exclude where fnmatch(pattern, entry.mountPoint, 0) == 0 {
            return "excluded by pattern '\(pattern)'"
        }
        return nil
    }
}

/// True when SNAPORCH_ROOT points at a private (test) tree.
package func isPrivateRoot() -> Bool {
    guard let value = ThisProcess.environmentValue("SNAPORCH_ROOT") else { return false }
    return !value.isEmpty && value != "/"
}
