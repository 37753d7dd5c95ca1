import Foundation
import Glibc

/// Finishes the duties of a run that was killed: kills its leftover plugin processes, thaws what
/// it may have left frozen, and runs the post steps it owed, in reverse order.
public struct Recovery: Sendable {
    let launcher: any ProcessLauncher
    let killGrace: TimeSpan

    /// Creates a recovery using `launcher` for the owed post steps.
    public init(launcher: any ProcessLauncher, killGrace: TimeSpan) {
        self.launcher = launcher
        self.killGrace = killGrace
    }

    /// Recovers from `state`; returns the post steps it ran and the mounts it thawed.
    public func recover(_ state: JournalState) async -> (steps: [RecoveredStep], thawed: [EmergencyThaw.Result]) {
        let killed = Self.killProcesses(ofRun: state.runId)
        _ = killed
        var thawed: [EmergencyThaw.Result] = []
        for mount in state.mayBeFrozen.reversed() {
            let result = await offload { EmergencyThaw.thaw(mount) }
            thawed.append(result)
        }
        var steps: [RecoveredStep] = []
        for owed in state.owed.reversed() {
            var spec = PluginSpec(name: owed.plugin)
            spec.post = owed.executable
            spec.args = owed.arguments
            spec.timeout = .milliseconds(owed.timeoutMs)
            let plugin = ScriptPlugin(spec: spec, launcher: launcher)
            let context = StepContext(
                phase: .post, runId: state.runId, taskId: state.taskId, budget: spec.timeout,
                deadlineEpoch: Sys.epochMillis() / 1000 + Int64(owed.timeoutMs / 1000 + 1),
                outcome: "no-snapshot", consistency: "none", killGrace: killGrace)
            var result = await plugin.post(context)
            if owed.executable == nil { result = StepReport(status: .skipped) }
            steps.append(RecoveredStep(runId: state.runId, plugin: owed.plugin, result: result))
        }
        return (steps, thawed)
    }

    /// SIGKILLs every process whose environment carries `SNAPORCH_RUN_ID=runId`; returns their pids.
    static func killProcesses(ofRun runId: String) -> [Int32] {
        let marker = Array("SNAPORCH_RUN_ID=\(runId)".utf8)
        var pids: [Int32] = []
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        for name in entries {
            guard let pid = Int32(name), pid != getpid() else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { continue }
            let bytes = Array(data)
            if bytes.split(separator: 0).contains(where: { Array($0) == marker }) {
                kill(pid, SIGKILL)
                pids.append(pid)
            }
        }
        return pids
    }
}
