import Foundation
import SnapCore
import SnapSystem

/// The body of an SSM command document run by AWS Data Lifecycle Manager: called with
/// `pre-script` before the snapshot is initiated, `post-script` after, and `dry-run` to validate
/// the document. AWS freezes nothing, so `pre-script` freezes (the `--mount`s given, else the
/// configured selection); each call must finish within the policy's `ExecutionTimeout` (10–120 s).
package enum AWSHook {
    /// DLM retries a failed script (up to 3 times, each within its 10–120 s `ExecutionTimeout`): a
    /// `post-script` repeated this soon after its run ended gets that run's result again, so a
    /// retry cannot turn a failed post-script into a success on the snapshot's tags.
    static let retriedWithin = TimeSpan.seconds(600)

    /// The action for `snaporch hook aws COMMAND`.
    package static func action(_ arguments: [String], mounts: [String]) throws(HookUsageError) -> HookAction {
        switch arguments {
        case ["pre-script"]: .begin(HookBegin(caller: .aws, freeze: true, mounts: mounts))
        case ["post-script"]: .end(HookEnd(caller: .aws, repeatWithin: retriedWithin))
        case ["dry-run"]: .dryRun(.aws)
        default:
            throw HookUsageError(
                "the SSM document passes pre-script, post-script or dry-run, got \(describeHookArguments(arguments))")
        }
    }
}
