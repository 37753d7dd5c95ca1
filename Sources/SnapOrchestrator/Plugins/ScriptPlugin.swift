/// A plugin made of a pre and a post executable (`type: script`, and every drop-in).
///
/// Each attempt really re-runs the executable; `timeout` applies per attempt and the group is
/// killed on expiry (see `ProcessSupervisor`).
public struct ScriptPlugin: Plugin {
    public let spec: PluginSpec
    let launcher: any ProcessLauncher

    /// Creates the plugin.
    public init(spec: PluginSpec, launcher: any ProcessLauncher) {
        self.spec = spec
        self.launcher = launcher
    }

    public func pre(_ context: StepContext) async -> StepReport { await step(context) }

    public func post(_ context: StepContext) async -> StepReport { await step(context) }

    /// argv of a phase: the configured args, or `pre`/`post` for drop-ins; the script itself first
    /// when it runs through `/bin/sh` (legacy plugins).
    func argv(_ phase: Phase) -> [String] {
        let args = spec.isDropIn ? [phase.rawValue] : (phase == .post ? spec.postArgs ?? spec.args : spec.args)
        if spec.runWithShell, let script = script(phase) { return [script] + args }
        return args
    }

    /// The configured script of a phase.
    func script(_ phase: Phase) -> String? { phase == .pre ? spec.pre : spec.post }

    /// What is executed: the script, or `/bin/sh` for legacy plugins.
    func executable(_ phase: Phase) -> String? {
        guard let script = script(phase) else { return nil }
        return spec.runWithShell ? "/bin/sh" : script
    }

    public func describe(_ phase: Phase) -> String? {
        guard let executable = executable(phase) else { return nil }
        return ([executable] + argv(phase)).map(ShellQuote.quote).joined(separator: " ")
    }

    private func step(_ context: StepContext) async -> StepReport {
        guard let executable = executable(context.phase) else {
            var report = StepReport(status: .skipped)
            report.error = "no \(context.phase.rawValue) step configured"
            return report
        }
        var report = StepReport(status: .failed)
        let started = Sys.monotonicNanos()
        let budgetEnd = started + UInt64(context.budget.milliseconds) * 1_000_000
        // Checked again right before exec: the path rule makes a swap by anyone but root impossible,
        // and this narrows the window for a change since planning to the spawn itself.
        if let script = script(context.phase), let problem = PathSecurity().problems(for: script).first {
            report.error = "refused at exec time: \(problem)"
            report.durationMs = Int((Sys.monotonicNanos() - started) / 1_000_000)
            return report
        }
        for attempt in 1...(spec.retries + 1) {
            let now = Sys.monotonicNanos()
            let left = budgetEnd > now ? Int((budgetEnd - now) / 1_000_000) : 0
            if attempt > 1 && left <= 0 { break }
            var processSpec = ProcessSpec(
                executable: executable, arguments: argv(context.phase),
                environment: context.environment(plugin: spec.name),
                timeout: .milliseconds(min(spec.timeout.milliseconds, max(left, 1))))
            processSpec.killGrace = context.killGrace
            report.attempts = attempt
            do {
                let outcome = try await launcher.run(processSpec)
                report.exitCode = nil
                report.signal = nil
                switch outcome.status {
                case .exited(let code): report.exitCode = code
                case .signaled(let signal): report.signal = signal
                }
                report.stdoutTail = context.redactor.redact(String(decoding: outcome.stdoutTail, as: UTF8.self))
                report.stderrTail = context.redactor.redact(String(decoding: outcome.stderrTail, as: UTF8.self))
                report.outputDetached = outcome.outputDetached ? true : nil
                if outcome.timedOut {
                    report.status = .timedOut
                    report.error =
                        "\(executable) timed out after \(processSpec.timeout)"
                        + (outcome.killed
                            ? "; its process group was killed after ignoring SIGTERM"
                            : "; its process group was terminated")
                } else if outcome.status.isSuccess {
                    report.status = .succeeded
                    report.error = nil
                } else {
                    report.status = .failed
                    report.error = "\(script(context.phase) ?? executable) \(outcome.status)"
                }
            } catch {
                report.status = .failed
                report.error = context.redactor.redact(error.description)
            }
            if report.status == .succeeded { break }
        }
        report.durationMs = Int((Sys.monotonicNanos() - started) / 1_000_000)
        return report
    }
}

/// Quotes an argument for display (never for execution: nothing here reaches a shell).
public enum ShellQuote {
    /// `arg` as a POSIX shell would need it written.
    public static func quote(_ arg: String) -> String {
        if !arg.isEmpty, arg.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-=:,+@%".contains($0)) }) {
            return arg
        }
        return "'" + arg.replacing("'", with: "'\\''") + "'"
    }
}
