import Foundation
import SnapCore
import SnapSystem

/// qemu-ga's `fsfreeze-hook`: called with `freeze` before qemu-ga freezes (FIFREEZE of every
/// mount, or of the `guest-fsfreeze-freeze-list` mounts) and with `thaw` after it thawed them.
///
/// A non-zero `freeze` fails the freeze command and qemu-ga never calls `thaw`: so `freeze` fails
/// only when nothing is held (the run ended before quiescing and already ran its posts); a
/// quiesced but degraded begin (exit 3) returns 0, or the holds would wait for the lease.
package enum QemuGAHook {
    /// The action for `snaporch hook qemu-ga ARGS`.
    package static func action(_ arguments: [String]) throws(HookUsageError) -> HookAction {
        switch arguments {
        case ["freeze"]: .begin(HookBegin(caller: .qemuGA, freeze: false))
        case ["thaw"]: .end(HookEnd(caller: .qemuGA))
        default:
            throw HookUsageError("qemu-ga calls its hook with freeze or thaw, got \(describeHookArguments(arguments))")
        }
    }
}

/// The exit code a platform sees for the split run's code (the `run` codes: 0, 3, 1, 2).
///
/// 3 (quiesced or finished, consistency degraded) becomes 0: the platform must go on to call the
/// other half (a failed freeze hook is never followed by a thaw hook), and the report says what
/// degraded. 1 and 2 are passed on: nothing is held after a failed begin.
package enum HookExit {
    /// The code the platform sees.
    package static func code(_ runCode: Int32) -> Int32 { runCode == 3 ? 0 : runCode }
}

/// The arguments as a message shows them.
func describeHookArguments(_ arguments: [String]) -> String {
    arguments.isEmpty ? "nothing" : arguments.map { "'\($0)'" }.joined(separator: " ")
}
