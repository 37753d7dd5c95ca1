import Foundation
import SnapCore
import SnapSystem

/// Google's `/etc/google/snapshots/pre.sh` and `post.sh`: the guest agent runs them with one
/// argument, the list of disks being snapshotted, and freezes nothing itself: `pre` freezes.
///
/// What `pre` freezes: the `--mount`s given; else the mounts on the listed disks when every disk
/// maps to a block device (partitions and dm/md holders included); else — a disk that cannot be
/// mapped — the configured selection, and the notes say why.
package enum GCEHook {
    /// The action for `snaporch hook gce pre|post DISKS`.
    package static func action(
        _ arguments: [String], mounts: [String], mapper: DiskMountMapper, table: @autoclosure () -> [MountEntry]
    ) throws(HookUsageError) -> HookAction {
        guard arguments.count <= 2, let operation = arguments.first, ["pre", "post"].contains(operation) else {
            throw HookUsageError(
                "the Google guest agent runs pre.sh or post.sh with the disk list, got \(describeHookArguments(arguments))"
            )
        }
        let disks = arguments.count == 2 ? arguments[1] : ""
        if operation == "post" { return .end(HookEnd(caller: .gce)) }
        if !mounts.isEmpty {
            return .begin(HookBegin(caller: .gce, freeze: true, mounts: mounts, notes: ["mounts given with --mount"]))
        }
        let mapping = mapper.map(disks, mounts: table())
        guard let mapped = mapping.mounts else {
            let note =
                "disks '\(disks)' not mapped to mounts (\(mapping.problems.joined(separator: "; "))): "
                + "freezing the configured selection"
            return .begin(HookBegin(caller: .gce, freeze: true, notes: [note]))
        }
        guard !mapped.isEmpty else {
            let note = "no filesystem is mounted from disks '\(disks)': nothing to freeze"
            return .begin(HookBegin(caller: .gce, freeze: false, notes: [note]))
        }
        let note = "disks '\(disks)' hold \(mapped.joined(separator: ", "))"
        return .begin(HookBegin(caller: .gce, freeze: true, mounts: mapped, notes: [note]))
    }
}
