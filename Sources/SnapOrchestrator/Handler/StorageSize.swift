import Foundation
import SnapCore
import SnapSystem

/// `storageDetails` of the status: how many local block-backed filesystems there are and how many
/// bytes they use (what the backup service bills and sizes), from `statvfs`, never from `df`.
package enum StorageSize {
    /// (partition count, used bytes) over the machine's local block-backed filesystems.
    package static func measure(entries: [MountEntry] = MountTable.entries()) -> (partitions: Int, usedBytes: Int64) {
        var seen = Set<String>()
        var used: Int64 = 0
        for entry in entries
        where !MountSelector.unfreezableTypes.contains(entry.fsType) && !entry.fsType.hasPrefix("fuse")
            && entry.source.hasPrefix("/dev/") && seen.insert(entry.device).inserted
        {
            guard let bytes = FileSystem.usedBytes(ofFilesystemAt: entry.mountPoint) else { continue }
            used += bytes
        }
        return (seen.count, used)
    }
}
