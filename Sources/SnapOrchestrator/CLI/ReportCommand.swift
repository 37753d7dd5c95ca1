import Foundation

/// `snaporch report [FILE] [--svg OUT]` and `snaporch history [--json]`.
struct ReportCommand {
    let console: Console
    let paths: Paths

    func report(_ argv: [String]) throws(UsageError) -> Int32 {
        let args = try CommandSpec(flags: ["--json"], options: ["--svg"], operands: 0...1).parse(argv)
        let store = ReportStore(paths: paths)
        let path = args.operands.first ?? store.lastReportPath
        let report: RunReport
        do {
            report = try store.load(path)
        } catch {
            console.err(
                "snaporch report: cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "not a run report" : "no such file")\n"
            )
            return ExitCode.failed
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

    func history(_ argv: [String]) throws(UsageError) -> Int32 {
        let args = try CommandSpec(flags: ["--json"]).parse(argv)
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
