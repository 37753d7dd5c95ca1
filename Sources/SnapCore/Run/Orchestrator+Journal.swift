import Foundation
import SnapSystem

extension Orchestrator {
    /// Records in the journal that `plugin`'s post (or release) is owed, with the exact command it
    /// will run: the executable and argv (a legacy `/bin/sh SCRIPT postScriptParams…` too), the script
    /// contract's environment (no secrets), the timeout and retries — so that `recover` runs the same
    /// step. A release is owed under its own name, after the post, so `recover` runs it first.
    /// `hold`: the database session the step may hold something in, and when its dead-man ends it.
    /// `replica`: the server whose replica SQL thread the pre may stop.
    /// Returns false when the record is not on disk (no journal: true, nothing to record).
    @discardableResult
    func journalOwed(
        _ phase: Phase, of plugin: any Plugin, _ setup: RunSetup, hold: JournalState.Hold? = nil,
        replica: JournalState.Replica? = nil
    ) -> Bool {
        guard let journal else { return true }
        let spec = plugin.spec
        var invocation: StepInvocation?
        if let script = plugin as? ScriptPlugin {
            let context = StepContext(
                phase: phase, runId: setup.runId, taskId: setup.taskId, budget: spec.timeout, deadlineEpoch: 0)
            var environment = context.environment(plugin: spec.name)
            environment.removeValue(forKey: "SNAPORCH_DEADLINE")
            invocation = script.invocation(phase, environment: environment)
        }
        if phase == .release {
            return journal.preStarting(
                Self.releaseJournalName(spec.name), post: spec.release, arguments: spec.args, timeout: spec.timeout,
                invocation: invocation, hold: hold) == nil
        } else {
            return journal.preStarting(
                spec.name, post: spec.post, arguments: spec.isDropIn ? ["post"] : spec.postArgs ?? spec.args,
                timeout: spec.timeout, invocation: invocation, hold: hold, replica: replica) == nil
        }
    }

    /// How `recover` reaches the server of a MySQL/MariaDB plugin with `replica: true` (nil for
    /// every other plugin).
    static func journalReplica(_ spec: PluginSpec) -> JournalState.Replica? {
        guard spec.kind == .mysql, spec.database.replica == true, let file = spec.database.defaultsFile else {
            return nil
        }
        return JournalState.Replica(defaultsFile: file, socket: spec.database.socket)
    }

    /// The journal's name of a plugin's owed release (owed after its post, so run before it).
    static func releaseJournalName(_ plugin: String) -> String { "\(plugin):release" }
}
