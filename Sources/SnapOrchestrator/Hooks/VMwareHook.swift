import Foundation
import SnapCore
import SnapSystem

/// An entry of VMware Tools' `backupScripts.d`: vmtoolsd runs it through `bash -c` with `freeze`
/// (before it freezes), `thaw` (after it thawed) or `freezeFail` (a later script or the freeze
/// itself failed, or the operation was aborted), optionally followed by the `scriptArg` of
/// `tools.conf`, which snaporch ignores.
///
/// `freezeFail` is `end` with a failed snapshot: the holds are released, the posts run in reverse
/// and learn `SNAPORCH_OUTCOME=no-snapshot`. vmtoolsd sends it only to the scripts before a failing
/// one, so a failing `freeze` of ours is followed by nothing: begin has released everything itself.
package enum VMwareHook {
    /// The action for `snaporch hook vmware OP [SCRIPTARG]`.
    package static func action(_ arguments: [String]) throws(HookUsageError) -> HookAction {
        guard (1...2).contains(arguments.count) else {
            throw HookUsageError(
                "VMware Tools calls its scripts with freeze, freezeFail or thaw, got \(describeHookArguments(arguments))"
            )
        }
        switch arguments[0] {
        case "freeze": return .begin(HookBegin(caller: .vmware, freeze: false))
        case "thaw": return .end(HookEnd(caller: .vmware))
        case "freezeFail", "freezefail":
            return .end(
                HookEnd(
                    caller: .vmware,
                    snapshotFailed:
                        "VMware Tools sent freezeFail: a later backup script or the filesystem freeze failed"))
        default:
            throw HookUsageError(
                "VMware Tools calls its scripts with freeze, freezeFail or thaw, got \(describeHookArguments(arguments))"
            )
        }
    }
}
