import Foundation
import SnapSystem

/// Stores run reports: the last run under the state directory, and wherever `--report` says.
package struct ReportStore: Sendable {
    let paths: Paths

    /// Creates a store under `paths.stateDir`.
    package init(paths: Paths) { self.paths = paths }

    /// The file holding the last run's report.
    package var lastReportPath: String { paths.stateDir + "/last-report.json" }

    /// Writes `report` atomically to the state directory and, if given, to `extra`.
    /// - Returns: the problems met (the run goes on; they are shown to the admin).
    package func save(_ report: RunReport, extra: String?) -> [String] {
        let bytes = Array(JSONOutput.encode(report).utf8) + [0x0A]
        FaultPoint.hit("report")
        var problems: [String] = []
        do {
            try FileSystem.makeDirectory(paths.stateDir, mode: 0o700)
            try FileSystem.writeAtomically(bytes, to: lastReportPath)
        } catch {
            problems.append("cannot write \(lastReportPath): \(error)")
        }
        do {
            try RunHistory(paths: paths).append(report)
        } catch {
            problems.append("cannot add the report to the run history: \(error)")
        }
        if let extra {
            do {
                // The report carries script output: readable by root only, like the last-run file.
                try FileSystem.writeAtomically(bytes, to: extra, mode: 0o600) { FaultPoint.hit("report-temp") }
            } catch {
                problems.append("cannot write the report to \(extra): \(error)")
            }
        }
        return problems
    }

    /// Reads a stored report.
    package func load(_ path: String) throws -> RunReport {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(RunReport.self, from: data)
    }
}
