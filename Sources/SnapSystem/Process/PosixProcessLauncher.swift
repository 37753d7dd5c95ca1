import Foundation
import Glibc

/// The real `ProcessLauncher`: a checked spawn plus a supervisor thread per child.
package struct PosixProcessLauncher: ProcessLauncher {
    /// Creates the launcher.
    package init() {}

    package func run(_ spec: ProcessSpec) async throws(ProcessError) -> ProcessOutcome {
        let start = Sys.monotonicNanos()
        var checked: CheckedExecutable?
        if let rule = spec.pathRule {
            checked = try Self.check(spec, rule)
        }
        let child: ChildProcess
        do throws(ProcessError) {
            child = try ChildProcess.spawn(
                executable: spec.executable, arguments: spec.arguments, environment: spec.environment,
                workingDirectory: spec.workingDirectory, checked: checked)
        } catch {
            checked?.close()
            throw error
        }
        // The child holds its own copy (fd 3) once the spawn returned.
        checked?.close()
        let cancel = CancelSignal()
        let supervisor = ProcessSupervisor(child: child, spec: spec, startNanos: start, cancel: cancel)
        // A worker thread: the supervisor blocks in poll(2), which must never happen on the
        // cooperative pool. Cancelling the awaiting task tears the group down (TERM, grace, KILL).
        let outcome = await withTaskCancellationHandler {
            await offload { supervisor.supervise() }
        } onCancel: {
            cancel.fire()
        }
        cancel.close()
        return outcome
    }

    /// Applies `rule` to the files `spec` runs as code and opens the executable checked.
    static func check(_ spec: ProcessSpec, _ rule: PathSecurity) throws(ProcessError) -> CheckedExecutable {
        for index in spec.checkedArguments where spec.arguments.indices.contains(index) {
            if let problem = rule.problems(for: spec.arguments[index]).first {
                throw ProcessError(executable: spec.executable, reason: problem, errno: EACCES, refused: true)
            }
        }
        let chain = InterpreterChain(rule: rule, searchPath: spec.environment["PATH"] ?? Paths.scriptSearchPath)
        switch chain.resolve(spec.executable, arguments: spec.arguments) {
        case .success(let checked): return checked
        case .failure(let refusal):
            throw ProcessError(executable: spec.executable, reason: refusal.description, errno: EACCES, refused: true)
        }
    }
}
