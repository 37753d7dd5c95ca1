import Foundation
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
        let fd: FileDescriptor
        switch FileDescriptor.openMount(mountPoint) {
        case .success(let opened): fd = opened
        case .failure(let code): return Result(mountPoint: mountPoint, thaws: 0, error: "cannot open: \(code.message)")
        }
        defer { fd.close() }
        var count = 0
        for _ in 0..<64 {
            let result = fd.thaw()
            if result == .done {
                count += 1
                continue
            }
            if result.wasNotFrozen { return Result(mountPoint: mountPoint, thaws: count, error: nil) }
            return Result(mountPoint: mountPoint, thaws: count, error: "FITHAW: \(result.errnoDescription)")
        }
        return Result(mountPoint: mountPoint, thaws: count, error: "still frozen after 64 thaws")
    }
}
