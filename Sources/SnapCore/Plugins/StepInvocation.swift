import Foundation
import SnapSystem

/// Exactly how a script step is executed: the executable, its argv, its environment and its limits.
///
/// The journal records one for every owed post step, so that `recover` runs the very command the
/// interrupted run would have run (a legacy `/bin/sh SCRIPT postScriptParams…` included).
package struct StepInvocation: Sendable, Codable, Hashable {
    /// What is executed (the script, or `/bin/sh` for legacy plugins).
    package var executable: String
    /// argv[1...].
    package var arguments: [String]
    /// Indices of `arguments` naming a script the executable reads (`/bin/sh SCRIPT`), checked by the path rule.
    package var checkedArguments: [Int]
    /// The environment without the values known only when the step starts (`SNAPORCH_DEADLINE`, and
    /// for post `SNAPORCH_OUTCOME`/`SNAPORCH_CONSISTENCY`). Never holds a secret: it is the script
    /// contract's environment.
    package var environment: [String: String]
    /// Limit of one attempt.
    package var timeoutMs: Int
    /// Extra attempts after a failure.
    package var retries: Int
    /// The configured script, for messages.
    package var script: String

    /// Creates an invocation.
    package init(
        executable: String, arguments: [String], checkedArguments: [Int] = [], environment: [String: String],
        timeoutMs: Int, retries: Int, script: String
    ) {
        self.executable = executable
        self.arguments = arguments
        self.checkedArguments = checkedArguments
        self.environment = environment
        self.timeoutMs = timeoutMs
        self.retries = retries
        self.script = script
    }

    /// The whole budget of the step: every attempt, with a little room between them.
    package var budget: TimeSpan { .milliseconds(timeoutMs * (retries + 1) + retries * 100) }
}
