import Foundation
import SnapSystem

/// Groups the mounts to freeze into waves that can be frozen in parallel.
///
/// Freezing one filesystem costs a few RCU grace periods in the kernel (~25 ms here), so freezing
/// eight in a row stalls applications eight times as long as freezing them together. The only
/// real ordering constraint is a filesystem whose block device is backed by a file on another
/// selected filesystem (a loop device): it must be frozen before the filesystem holding its
/// backing file, or its own freeze would block on the frozen host. Such mounts go in an earlier
/// wave; everything else goes in wave 0.
package enum FreezeWaves {
    /// The wave of each mount (same order as `mounts`), given each loop device's backing file.
    package static func waves(for mounts: [MountEntry], backingFile: (String) -> String? = loopBackingFile) -> [Int] {
        // hostIndex[i] = the selected mount holding the backing file of mount i, if any.
        var hostIndex = [Int?](repeating: nil, count: mounts.count)
        for (i, mount) in mounts.enumerated() {
            guard let file = backingFile(mount.source) else { continue }
            var best: (Int, Int)?
            for (j, other) in mounts.enumerated() where j != i {
                let prefix = other.mountPoint == "/" ? "/" : other.mountPoint + "/"
                if file.hasPrefix(prefix), best == nil || other.mountPoint.count > best!.1 {
                    best = (j, other.mountPoint.count)
                }
            }
            hostIndex[i] = best?.0
        }
        // A host is frozen one wave after everything it hosts (bounded: no cycles in real systems).
        var wave = [Int](repeating: 0, count: mounts.count)
        for _ in 0..<mounts.count {
            var changed = false
            for i in mounts.indices {
                if let host = hostIndex[i], wave[host] <= wave[i] {
                    wave[host] = wave[i] + 1
                    changed = true
                }
            }
            if !changed { break }
        }
        return wave
    }

    /// The backing file of `/dev/loopN`, from sysfs; nil for other devices.
    package static func loopBackingFile(_ source: String) -> String? {
        guard source.hasPrefix("/dev/loop") else { return nil }
        let name = String(source.dropFirst("/dev/".count))
        guard let text = ProcFile.text("/sys/block/\(name)/loop/backing_file") else { return nil }
        return text.trimmingSpaces
    }
}
