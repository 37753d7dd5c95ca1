import Foundation
import Glibc
import SnapSystem

/// `snaporch thaw`: FITHAW a mount until the kernel says it is not frozen.
package enum EmergencyThaw {
    /// What happened to one mount.
    package struct Result: Sendable, Hashable, Codable {
        package var mountPoint: String
        /// How many FITHAW calls succeeded (0: it was not frozen).
        package var thaws: Int
        package var error: String?
    }

    /// Thaws `mountPoint`, unwinding nested freezes (at most 64 levels).
    package static func thaw(_ mountPoint: String) -> Result {
        let (fd, err) = FreezeIoctl.openMount(mountPoint)
        guard fd >= 0 else {
            return Result(mountPoint: mountPoint, thaws: 0, error: "cannot open: \(String(cString: strerror(err)))")
        }
        defer { close(fd) }
        var count = 0
        for _ in 0..<64 {
            let e = FreezeIoctl.thaw(fd)
            if e == 0 {
                count += 1
                continue
            }
            if e == EINVAL { return Result(mountPoint: mountPoint, thaws: count, error: nil) }
            return Result(mountPoint: mountPoint, thaws: count, error: "FITHAW: \(String(cString: strerror(e)))")
        }
        return Result(mountPoint: mountPoint, thaws: count, error: "still frozen after 64 thaws")
    }
}
