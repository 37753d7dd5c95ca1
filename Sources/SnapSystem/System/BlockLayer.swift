import Glibc

/// What the block layer says about disks: device numbers, the devices built on a disk
/// (partitions, device-mapper and md holders) and SCSI addresses. Read-only questions.
///
/// Devices are named by `major:minor`, the form `/proc/self/mountinfo` uses, so a mount is on a
/// disk when its device number is the disk's or one of the disk's dependents'.
package protocol BlockLayer: Sendable {
    /// `major:minor` of the block device node at `path` (symlinks followed), nil when it is not one.
    func deviceNumber(ofNode path: String) -> String?
    /// The devices directly built on `device`: its partitions and its holders (dm, md).
    func dependents(of device: String) -> [String]
    /// The block devices at SCSI target `target`, LUN `lun` (any host and channel).
    func scsiDevices(target: Int, lun: Int) -> [String]
}

/// The real block layer: `stat(2)` of device nodes and `/sys` (`sysRoot` for a test tree).
package struct SysBlockLayer: BlockLayer {
    /// Where sysfs is mounted.
    package var sysRoot: String

    /// The block layer of this machine.
    package init(sysRoot: String = "/sys") { self.sysRoot = sysRoot }

    package func deviceNumber(ofNode path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFBLK else { return nil }
        return "\(major(st.st_rdev)):\(minor(st.st_rdev))"
    }

    package func dependents(of device: String) -> [String] {
        let base = "\(sysRoot)/dev/block/\(device)"
        var found: [String] = []
        for name in names(in: base) where access("\(base)/\(name)/partition", F_OK) == 0 {
            if let dev = firstLine("\(base)/\(name)/dev") { found.append(dev) }
        }
        for name in names(in: "\(base)/holders") {
            if let dev = firstLine("\(sysRoot)/class/block/\(name)/dev") { found.append(dev) }
        }
        return found
    }

    package func scsiDevices(target: Int, lun: Int) -> [String] {
        let bus = "\(sysRoot)/bus/scsi/devices"
        var found: [String] = []
        for name in names(in: bus) {
            let parts = name.split(separator: ":")
            guard parts.count == 4, Int(parts[2]) == target, Int(parts[3]) == lun else { continue }
            for disk in names(in: "\(bus)/\(name)/block") {
                if let dev = firstLine("\(sysRoot)/class/block/\(disk)/dev") { found.append(dev) }
            }
        }
        return found
    }

    private func names(in directory: String) -> [String] {
        ((try? DirectoryListing.names(in: directory)) ?? []).map { String(decoding: $0, as: UTF8.self) }.sorted()
    }

    private func firstLine(_ path: String) -> String? {
        guard let text = ProcFile.text(path, limit: 4096) else { return nil }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? nil : line
    }
}

/// `major(3)` of a device number (glibc's encoding).
private func major(_ dev: dev_t) -> UInt32 {
    UInt32(truncatingIfNeeded: UInt64(dev) >> 8) & 0xfff | UInt32(truncatingIfNeeded: UInt64(dev) >> 32) & ~0xfff
}

/// `minor(3)` of a device number (glibc's encoding).
private func minor(_ dev: dev_t) -> UInt32 {
    UInt32(truncatingIfNeeded: UInt64(dev)) & 0xff | UInt32(truncatingIfNeeded: UInt64(dev) >> 12) & ~0xff
}
