import Foundation
import SnapCore
import SnapSystem

extension HookCommand {
    /// `begin` for a platform hook (wired to the split-phase run).
    func begin(_ request: HookBegin, _ args: Arguments) async throws(UsageError) -> Int32 {
        console.err("snaporch hook: split-phase runs are not in this build\n")
        return ExitCode.failed
    }

    /// `end` for a platform hook (wired to the split-phase run).
    func end(_ request: HookEnd, _ args: Arguments) async throws(UsageError) -> Int32 {
        console.err("snaporch hook: split-phase runs are not in this build\n")
        return ExitCode.failed
    }
}
