import Foundation
import SnapCore
import SnapSystem

/// How `begin` and `end` print their outcome: text on stderr (the summary, as `run` prints it),
/// JSON on stdout with `--json`, the exit code.
struct SplitOutput {
    let console: Console

    /// Prints the outcome of `begin` and returns its exit code.
    func begin(_ outcome: BeginOutcome, json: Bool) -> Int32 {
        switch outcome {
        case .refused(let message, let code):
            console.err("snaporch begin: \(message)\n")
            return code
        case .failed(let message):
            console.err("snaporch begin: \(message)\n")
            return ExitCode.failed
        case .quiesced(let report):
            console.err(Self.text(report))
            if json { console.out(JSONOutput.encode(report) + "\n") }
            return report.degraded ? ExitCode.degraded : ExitCode.ok
        case .ended(let report, let code, let note):
            console.err("snaporch begin: the run ended before the system was quiesced; nothing is held\n")
            if let note { console.err("snaporch begin: \(note)\n") }
            return finalReport(report, code: code, json: json, reportPath: nil)
        }
    }

    /// Prints the outcome of `end` and returns its exit code.
    func end(_ outcome: EndOutcome, json: Bool, reportPath: String?) -> Int32 {
        switch outcome {
        case .nothing(let message):
            console.err("snaporch end: \(message)\n")
            return ExitCode.ok
        case .failed(let message):
            console.err("snaporch end: \(message)\n")
            return ExitCode.failed
        case .finished(let report, let code, let note):
            if let note { console.err("snaporch end: \(note)\n") }
            return finalReport(report, code: code, json: json, reportPath: reportPath)
        }
    }

    /// The final report as `run` prints it; `--report` writes it too.
    private func finalReport(_ report: RunReport, code: Int32, json: Bool, reportPath: String?) -> Int32 {
        console.err(Summary(color: console.colorOnStderr).render(report))
        if json { console.out(JSONOutput.encode(report) + "\n") }
        if let reportPath {
            do {
                try FileSystem.writeAtomically(Array(JSONOutput.encode(report).utf8) + [0x0A], to: reportPath)
            } catch {
                console.err("snaporch: error: cannot write the report to \(reportPath): \(error)\n")
                return ExitCode.failed
            }
        }
        return code
    }

    /// The quiesce, for an admin: who holds, until when, each step, the frozen mounts.
    static func text(_ report: QuiescedReport) -> String {
        let split = report.split
        var lines = [
            "\(report.degraded ? "QUIESCED (degraded)" : "QUIESCED") — split run \(report.runId), holder pid "
                + "\(split.holderPid), caller \(split.caller)",
            "  call `snaporch end` within \(SplitText.seconds(split.windowMs)) (by \(report.windowEndsAt); bound: "
                + "\(split.bound.rawValue)); after that the holder releases everything itself",
        ]
        for plugin in report.plugins {
            for (phase, step) in [("pre", plugin.pre), ("hold", plugin.hold)] {
                guard let step else { continue }
                let detail = step.error.map { " — \($0)" } ?? ""
                lines.append("  \(phase) \(plugin.name): \(step.status.rawValue) (\(step.durationMs) ms)\(detail)")
            }
        }
        for mount in report.freeze.mounts {
            lines.append("  freeze \(mount.mountPoint): \(mount.frozen ? "frozen" : mount.error ?? "not frozen")")
        }
        if split.platformFreezes { lines.append("  the platform (\(split.caller)) freezes the filesystems itself") }
        for reason in report.reasons { lines.append("  because: \(reason)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
