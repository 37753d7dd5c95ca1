import Foundation
import SnapSystem

/// Finishes the duties of a run that was killed: thaws what it may have left frozen, kills its
/// leftover plugin processes, and runs the post steps it owed, in reverse order.
package struct Recovery: Sendable {
    let launcher: any ProcessLauncher
    let killGrace: TimeSpan

    /// Creates a recovery using `launcher` for the owed post steps.
    package init(launcher: any ProcessLauncher, killGrace: TimeSpan) {
        self.launcher = launcher
        self.killGrace = killGrace
    }

    /// The owed posts of `state` whose recovered step left its duty (`StepReport.dutyLeft`): the
    /// journal keeps them (`RunJournal.discard(keeping:of:)`).
    package static func left(_ steps: [RecoveredStep], of state: JournalState) -> [JournalState.OwedPost] {
        let names = Set(steps.filter { $0.result.dutyLeft != nil }.map(\.plugin))
        return state.owed.filter { names.contains($0.plugin) }
    }

    /// Recovers from `state`; returns the post steps it ran and the mounts it thawed.
    package func recover(_ state: JournalState) async -> (steps: [RecoveredStep], thawed: [EmergencyThaw.Result]) {
        let runId = state.runId
        // Thaw first: nothing else may keep a filesystem frozen (finding the leftovers reads every
        // process's environment and gives them a grace to end).
        var thawed: [EmergencyThaw.Result] = []
        if state.rcuExpedited != nil || state.unreadable != nil { RCUExpedite.heal() }
        for mount in state.mayBeFrozen.reversed() {
            let result = await offload { EmergencyThaw.thaw(mount) }
            thawed.append(result)
        }
        await offload { Self.stopProcesses(ofRun: runId) }
        var steps: [RecoveredStep] = []
        for owed in state.owed.reversed() {
            let result = await runPost(owed, state)
            steps.append(RecoveredStep(runId: state.runId, plugin: owed.plugin, result: result))
        }
        return (steps, thawed)
    }

    /// Runs one owed post step: the journalled invocation exactly, told the outcome the run knew
    /// (`no-snapshot`/`none` when it died before knowing).
    func runPost(_ owed: JournalState.OwedPost, _ state: JournalState) async -> StepReport {
        let outcome = state.outcome ?? .noSnapshot
        let consistency = state.consistency ?? RunReport.Consistency.none
        if owed.replicaStopped == true, let replica = owed.replica {
            let context = StepContext(
                phase: .post, runId: state.runId, taskId: state.taskId, budget: .seconds(30),
                deadlineEpoch: Sys.epochMillis() / 1000 + 30)
            return await offload {
                MySQLPlugin.restartReplica(
                    plugin: owed.plugin, defaultsFile: replica.defaultsFile, socket: replica.socket, context)
            }
        }
        if let hold = owed.hold { return Self.heldSessionEnded(hold) }
        guard var invocation = owed.invocation else {
            // A journal of an older version: only the script, its arguments and timeout are known.
            guard let executable = owed.executable else { return StepReport(status: .skipped) }
            var spec = PluginSpec(name: owed.plugin)
            spec.post = executable
            spec.args = owed.arguments
            spec.timeout = .milliseconds(owed.timeoutMs)
            let context = StepContext(
                phase: .post, runId: state.runId, taskId: state.taskId, budget: spec.timeout,
                deadlineEpoch: Sys.epochMillis() / 1000 + Int64(owed.timeoutMs / 1000 + 1), outcome: outcome,
                consistency: consistency, killGrace: killGrace)
            return await ScriptPlugin(spec: spec, launcher: launcher).post(context)
        }
        let budget = invocation.budget
        invocation.environment["SNAPORCH_DEADLINE"] = String(
            (Sys.epochMillis() + Int64(budget.milliseconds) + 999) / 1000)
        invocation.environment["SNAPORCH_OUTCOME"] = outcome.rawValue
        invocation.environment["SNAPORCH_CONSISTENCY"] = consistency.rawValue
        return await ScriptPlugin.execute(
            invocation, budget: budget, killGrace: killGrace, redactor: Redactor(), launcher: launcher)
    }

    /// The owed step of a database plugin whose session held something (a lock, a backup): the
    /// session is gone with the run, and says why in `details["deadman"]`.
    static func heldSessionEnded(_ hold: JournalState.Hold, nowEpochMillis: Int64 = Sys.epochMillis()) -> StepReport {
        let server = hold.type == "mysql" ? "MySQL/MariaDB" : "PostgreSQL"
        let what = hold.type == "mysql" ? "lock" : "backup"
        var by = ""
        if let ends = hold.endsByEpochMs {
            by =
                ", and the server's idle timeout ends it by \(HoldDeadline.utc(epochMillis: ends)) at the latest"
                + (nowEpochMillis >= ends ? " (passed)" : "")
        }
        var report = StepReport(status: .skipped)
        report.details = [
            "deadman":
                "the \(server) session of the interrupted run, and any \(what) in it, was ended by its dead-man, "
                + "not by a step of recover: the session ends when snaporch dies (the client reads EOF), the freeze "
                + "guard kills the client at the freeze deadline if snaporch is stopped or hung\(by); nothing is "
                + "left to release"
        ]
        return report
    }

    /// Stops the processes the interrupted run left behind: those whose environment carries
    /// `SNAPORCH_RUN_ID=runId` and that belong to a pre step or a snapshot command. Processes
    /// started by a post step (an application it restarted) are left alone. SIGTERM, then SIGKILL.
    static func stopProcesses(ofRun runId: String) {
        let leftovers = StrayProcesses.find(
            environmentWith: "SNAPORCH_RUN_ID=\(runId)",
            andOneOf: ["SNAPORCH_PHASE=pre", "SNAPORCH_PHASE=hold", "SNAPORCH_PHASE=snapshot"])
        StrayProcesses.terminate(leftovers, grace: .seconds(1))
    }
}
