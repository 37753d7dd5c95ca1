import Foundation
import SnapSystem

/// Maps a platform's disk list (Google's `pre.sh DISKS`) to the mount points on those disks.
///
/// An item is a Google device name (`data` → `/dev/disk/by-id/google-data`), a SCSI
/// `target/lun` pair, or a device node path (`/dev/sdb`). A disk's mounts are those of the disk
/// itself, its partitions and what is built on them (dm, md holders), from the mount table.
///
/// Safety contract: the result is all or nothing. When any disk cannot be mapped, no mount is
/// chosen from the list (`mapped` is nil) and the caller falls back to the configured selection;
/// a partial list would leave a snapshotted disk unfrozen without saying so.
package struct DiskMountMapper: Sendable {
    /// The result: the mounts in mount-table order, or nil with the reason nothing was mapped.
    package struct Mapping: Sendable, Equatable {
        /// The mount points on the listed disks; nil when the list could not be mapped.
        package var mounts: [String]?
        /// Why the list could not be mapped (empty when it was).
        package var problems: [String]
    }

    /// The block layer asked about devices.
    package var layer: any BlockLayer
    /// Where Google's device links are (`/dev/disk/by-id`, under `SNAPORCH_ROOT` in tests).
    package var byIdDirectory: String

    /// A mapper over `layer`, with Google's links in `byIdDirectory`.
    package init(layer: any BlockLayer, byIdDirectory: String) {
        self.layer = layer
        self.byIdDirectory = byIdDirectory
    }

    /// Maps `diskList` (comma- or space-separated) onto `mounts` (the parsed mount table).
    package func map(_ diskList: String, mounts: [MountEntry]) -> Mapping {
        let items = diskList.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init)
        guard !items.isEmpty else { return Mapping(mounts: nil, problems: ["the disk list is empty"]) }
        var devices = Set<String>()
        var problems: [String] = []
        for item in items {
            let found = resolve(item)
            if found.isEmpty {
                problems.append("disk '\(item)': \(describeMiss(item))")
            }
            devices.formUnion(closure(of: found))
        }
        guard problems.isEmpty else { return Mapping(mounts: nil, problems: problems) }
        var seen = Set<String>()
        let chosen = mounts.filter { devices.contains($0.device) && seen.insert($0.mountPoint).inserted }
        return Mapping(mounts: chosen.map(\.mountPoint), problems: [])
    }

    /// The device numbers an item names (empty when none).
    func resolve(_ item: String) -> [String] {
        let pair = item.split(separator: "/", omittingEmptySubsequences: false)
        if pair.count == 2, let target = Int(pair[0]), let lun = Int(pair[1]) {
            return layer.scsiDevices(target: target, lun: lun)
        }
        if item.hasPrefix("/") { return layer.deviceNumber(ofNode: item).map { [$0] } ?? [] }
        guard !item.contains("/"), item != ".", item != ".." else { return [] }
        for name in ["google-\(item)", item] {
            if let device = layer.deviceNumber(ofNode: byIdDirectory + "/" + name) { return [device] }
        }
        return []
    }

    /// Every device built on `roots`, the roots included (bounded: a loop in sysfs cannot hang it).
    func closure(of roots: [String]) -> Set<String> {
        var found = Set(roots)
        var queue = roots
        while let next = queue.popLast(), found.count < 4096 {
            for child in layer.dependents(of: next) where found.insert(child).inserted { queue.append(child) }
        }
        return found
    }

    private func describeMiss(_ item: String) -> String {
        if item.contains("/") && !item.hasPrefix("/") {
            return "no SCSI device at target/lun \(item)"
        }
        if item.hasPrefix("/") { return "\(item) is not a block device" }
        return "no block device \(byIdDirectory)/google-\(item)"
    }
}
