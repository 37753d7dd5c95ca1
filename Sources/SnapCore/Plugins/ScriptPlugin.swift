import Foundation
import SnapSystem

/// A plugin made of a pre and a post executable (`type: script`, and every drop-in).
///
/// Each attempt really re-runs the executable; `timeout` applies per attempt and the group is
/// killed on expiry (see `ProcessSupervisor`). Only a file that passes the path rule, along its
/// interpreter chain, is executed — and it is executed by descriptor (see `InterpreterChain`).
package struct ScriptPlugin: Plugin {
    package let spec: PluginSpec
    let launcher: any ProcessLauncher

    /// Creates the plugin.
    package init(spec: PluginSpec, launcher: any ProcessLauncher) {
        self.spec = spec
        self.launcher = launcher
    }

    package func pre(_ context: StepContext) async -> StepReport { await step(context) }

    package func post(_ context: StepContext) async -> StepReport { await step(context) }

    package var hasHold: Bool { spec.hold != nil }

    package func hold(_ context: StepContext) async -> StepReport { await step(context) }

    package func release(_ context: StepContext) async -> StepReport { await step(context) }

    /// argv of a phase: the configured args, or `pre`/`post` for drop-ins; the script itself first
    /// when it runs through `/bin/sh` (legacy plugins).
    func argv(_ phase: Phase) -> [String] {
        let args = spec.isDropIn ? [phase.rawValue] : (phase == .post ? spec.postArgs ?? spec.args : spec.args)
        if spec.runWithShell, let script = script(phase) { return [script] + args }
        return args
    }

    /// The configured script of a phase.
    func script(_ phase: Phase) -> String? {
        switch phase {
        case .pre: spec.pre
        case .hold: spec.hold
        case .release: spec.release
        case .post: spec.post
        }
    }

    /// What is executed: the script, or `/bin/sh` for legacy plugins.
    func executable(_ phase: Phase) -> String? {
        guard let script = script(phase) else { return nil }
        return spec.runWithShell ? "/bin/sh" : script
    }

    package func describe(_ phase: Phase) -> String? {
        guard let executable = executable(phase) else { return nil }
        return ([executable] + argv(phase)).map(ShellQuote.quote).joined(separator: " ")
    }

    /// The exact invocation of a phase with `environment` (what the journal records for an owed post).
    package func invocation(_ phase: Phase, environment: [String: String]) -> StepInvocation? {
        guard let executable = executable(phase), let script = script(phase) else { return nil }
        return StepInvocation(
            executable: executable, arguments: argv(phase), checkedArguments: spec.runWithShell ? [0] : [],
            environment: environment, timeoutMs: spec.timeout.milliseconds, retries: spec.retries, script: script)
    }

    private func step(_ context: StepContext) async -> StepReport {
        guard let invocation = invocation(context.phase, environment: context.environment(plugin: spec.name)) else {
            var report = StepReport(status: .skipped)
            report.error = "no \(context.phase.rawValue) step configured"
            return report
        }
        return await Self.execute(
            invocation, budget: context.budget, killGrace: context.killGrace, redactor: context.redactor,
            launcher: launcher)
    }

    /// Runs `invocation`: each attempt really re-runs it, within `budget` overall and its own timeout
    /// per attempt.
    ///
    /// Safety contract: every attempt is checked by the path rule (the executable along its
    /// interpreter chain, and a `/bin/sh` script) right before its spawn, and the checked file itself
    /// is executed; a refusal ends the step without running anything.
    static func execute(
        _ invocation: StepInvocation, budget: TimeSpan, killGrace: TimeSpan, redactor: Redactor,
        launcher: any ProcessLauncher
    ) async -> StepReport {
        let executable = invocation.executable
        var report = StepReport(status: .failed)
        let started = Sys.monotonicNanos()
        let budgetEnd = started + UInt64(budget.milliseconds) * 1_000_000
        for attempt in 1...(invocation.retries + 1) {
            let now = Sys.monotonicNanos()
            let left = budgetEnd > now ? Int((budgetEnd - now) / 1_000_000) : 0
            if attempt > 1 && left <= 0 { break }
            var processSpec = ProcessSpec(
                executable: executable, arguments: invocation.arguments, environment: invocation.environment,
                timeout: .milliseconds(min(invocation.timeoutMs, max(left, 1))))
            processSpec.killGrace = killGrace
            processSpec.pathRule = PathSecurity()
            processSpec.checkedArguments = invocation.checkedArguments
            report.attempts = attempt
            do {
                let outcome = try await launcher.run(processSpec)
                report.exitCode = nil
                report.signal = nil
                switch outcome.status {
                case .exited(let code): report.exitCode = code
                case .signaled(let signal): report.signal = signal
                }
                report.stdoutTail = redactor.redact(
                    tail: outcome.stdoutTail, wasCut: outcome.stdoutBytes > outcome.stdoutTail.count)
                report.stderrTail = redactor.redact(
                    tail: outcome.stderrTail, wasCut: outcome.stderrBytes > outcome.stderrTail.count)
                report.outputDetached = outcome.outputDetached ? true : nil
                if outcome.timedOut {
                    report.status = .timedOut
                    report.error =
                        "\(executable) timed out after \(processSpec.timeout)"
                        + (outcome.killed
                            ? "; its process group was killed after ignoring SIGTERM"
                            : "; its process group was terminated")
                        + (outcome.abandoned
                            ? ", but pid \(outcome.pid) did not die (asleep in the kernel: a write to a frozen filesystem, a hung device); snaporch went on without it"
                            : "")
                } else if outcome.status.isSuccess {
                    report.status = .succeeded
                    report.error = nil
                } else {
                    report.status = .failed
                    report.error = "\(invocation.script) \(outcome.status)"
                }
            } catch {
                report.status = .failed
                report.error = redactor.redact(error.description)
                // Nothing was started: the same checks would refuse it again.
                if error.refused { break }
            }
            if report.status == .succeeded { break }
        }
        report.durationMs = Int((Sys.monotonicNanos() - started) / 1_000_000)
        return report
    }
}

/// Quotes an argument for display (never for execution: nothing here reaches a shell).
package enum ShellQuote {
    /// `arg` as a POSIX shell would need it written.
    package static func quote(_ arg: String) -> String {
        if !arg.isEmpty, arg.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-=:,+@%".contains($0)) }) {
            return arg
        }
        return "'" + arg.replacing("'", with: "'\\''") + "'"
    }
}
