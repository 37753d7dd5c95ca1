import SnapSystem

/// A plugin whose step reports pass through the run's redactor before anyone reads them.
///
/// For the database plugins: their errors quote what a client or a server said, and a client
/// echoes a line of its option file when it does not know the option (`unknown variable
/// 'pasword=…'`) — text no plugin can vet line by line. Script steps redact their own output.
struct RedactedPlugin: Plugin {
    /// The plugin doing the work.
    let inner: any Plugin

    var spec: PluginSpec { inner.spec }
    var hasHold: Bool { inner.hasHold }

    func pre(_ context: StepContext) async -> StepReport {
        (await inner.pre(context)).redacted(by: context.redactor)
    }

    func post(_ context: StepContext) async -> StepReport {
        (await inner.post(context)).redacted(by: context.redactor)
    }

    func hold(_ context: StepContext) async -> StepReport {
        (await inner.hold(context)).redacted(by: context.redactor)
    }

    func release(_ context: StepContext) async -> StepReport {
        (await inner.release(context)).redacted(by: context.redactor)
    }

    func describe(_ phase: Phase) -> String? { inner.describe(phase) }

    func verifyHeld() async -> String? {
        (await inner.verifyHeld()).map { Redactor().redact($0) }
    }

    func holdingProcessGroups() -> [Int32] { inner.holdingProcessGroups() }
}

extension StepReport {
    /// The report with its texts (error, output tails, details) passed through `redactor`.
    func redacted(by redactor: Redactor) -> StepReport {
        var report = self
        report.error = error.map(redactor.redact)
        report.stdoutTail = redactor.redact(stdoutTail)
        report.stderrTail = redactor.redact(stderrTail)
        report.details = details?.mapValues(redactor.redact)
        return report
    }
}
