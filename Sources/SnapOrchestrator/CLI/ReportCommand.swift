import Foundation
import SnapCore
import SnapSystem

/// `snaporch report [FILE|RUN] [--svg OUT] [--restore] [--json]` and `snaporch history [--json]`.
struct ReportCommand {
    let console: Console
    let paths: Paths

    func report(_ argv: [String]) throws(UsageError) -> Int32 {
        let args = try Commands.report.spec.parse(argv)
        let store = ReportStore(paths: paths)
        let path = args.operands.first.map(resolve) ?? store.lastReportPath
        let report: RunReport
        do {
            report = try store.load(path)
        } catch {
            let what = FileManager.default.fileExists(atPath: path) ? "not a run report" : "no such file"
            let hint = args.operands.first.map { $0.contains("/") ? "" : " (no run \($0) in the history either)" } ?? ""
            console.err("snaporch report: cannot read \(path): \(what)\(hint)\n")
            return ExitCode.failed
        }
        if args.has("--restore") {
            if args.has("--json") {
                console.out(JSONOutput.encode(report.restorePoints) + "\n")
            } else {
                console.out(RestoreGuide.render(report))
            }
            return ExitCode.ok
        }
        if let svg = args.value("--svg") {
            do {
                try TimelineRenderer.svg(report).write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                console.err("snaporch report: cannot write \(svg): \(error.localizedDescription)\n")
                return ExitCode.failed
            }
            console.err("wrote \(svg)\n")
        }
        if args.has("--json") {
            console.out(JSONOutput.encode(report) + "\n")
        } else {
            console.out(Summary(color: false).render(report) + "\n" + TimelineRenderer.text(report))
        }
        return ExitCode.ok
    }

    /// An operand is a report file when one exists there, else a run id of the history.
    func resolve(_ operand: String) -> String {
        if operand.contains("/") || FileManager.default.fileExists(atPath: operand) { return operand }
        return RunHistory(paths: paths).directory + "/" + operand.replacing("/", with: "_") + ".json"
    }

    func history(_ argv: [String]) throws(UsageError) -> Int32 {
        let args = try Commands.history.spec.parse(argv)
        let reports = RunHistory(paths: paths).load()
        if args.has("--json") {
            console.out(
                JSONOutput.encode(
                    reports.map {
                        [
                            "runId": $0.runId, "outcome": $0.outcome.rawValue, "consistency": $0.consistency.rawValue,
                            "windowMs": String($0.freeze.windowMs ?? 0), "durationMs": String($0.durationMs),
                        ]
                    }) + "\n")
        } else {
            console.out(RunHistory.render(reports))
        }
        return ExitCode.ok
    }
}
