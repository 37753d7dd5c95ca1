import Foundation
import SnapSystem

extension Orchestrator {
    /// Records in the journal that `plugin`'s post is owed, with the exact command it will run: the
    /// executable and argv (a legacy `/bin/sh SCRIPT postScriptParams…` too), the script contract's
    /// environment (no secrets), the timeout and retries — so that `recover` runs the same step.
    func journalOwedPost(_ plugin: any Plugin, _ setup: RunSetup) {
        guard let journal else { return }
        let spec = plugin.spec
        var invocation: StepInvocation?
        if let script = plugin as? ScriptPlugin {
            let context = StepContext(
                phase: .post, runId: setup.runId, taskId: setup.taskId, budget: spec.timeout, deadlineEpoch: 0)
            var environment = context.environment(plugin: spec.name)
            environment.removeValue(forKey: "SNAPORCH_DEADLINE")
            invocation = script.invocation(.post, environment: environment)
        }
        journal.preStarting(
            spec.name, post: spec.post, arguments: spec.isDropIn ? ["post"] : spec.postArgs ?? spec.args,
            timeout: spec.timeout, invocation: invocation)
    }
}
