import Foundation
import SnapSystem

/// Names for a run and the binary running it.
package enum RunIdentity {
    /// A sortable, unique run id: `20261126T150102123Z-1a2b3c` (UTC, milliseconds).
    package static func newRunId() -> String {
        UTCTimestamp.now().compact + "-" + String(UInt32.random(in: 0...0xFFFFFF), radix: 16)
    }

    /// The running binary's own file, as the kernel holds it open: the freeze guard and the
    /// watchdog are started from here, which keeps working when an upgrade or an uninstall deletes
    /// or replaces the binary while a backup runs (`exec` follows the link to the deleted file).
    package static let selfExecutable = "/proc/self/exe"

    /// The path of the running binary (the handler daemon is started from it).
    package static func executable() -> String {
        FileSystem.symbolicLinkTarget("/proc/self/exe") ?? CommandLine.arguments[0]
    }
}
