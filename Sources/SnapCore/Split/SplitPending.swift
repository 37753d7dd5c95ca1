import Foundation
import SnapSystem

/// Reports a holder kept under `/run/snaporch/split/pending/` instead of storing them (its lease
/// expired while a platform that freezes may still have had the state directory frozen), stored
/// into the history by the next `begin`, `end` or `recover`.
package struct SplitPending: Sendable {
    let paths: Paths
    var files: SplitFiles { SplitFiles(paths: paths) }

    /// Creates the store of pending reports.
    package init(paths: Paths) { self.paths = paths }

    /// Keeps `report` under /run; returns its path (nil when even that failed).
    func keep(_ report: RunReport) -> String? {
        let path = files.pending + "/\(report.runId).json"
        do {
            try FileSystem.makeDirectory(files.pending, mode: 0o700)
            try FileSystem.writeAtomically(Array(JSONOutput.encode(report).utf8) + [0x0A], to: path)
            return path
        } catch {
            return nil
        }
    }

    /// Stores every pending report into the state directory and the history (oldest first), and
    /// points `last.json` at the stored copy. Returns the problems met.
    @discardableResult
    package func storeAll() -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: files.pending)) ?? []).filter {
            $0.hasSuffix(".json")
        }
        var problems: [String] = []
        let store = ReportStore(paths: paths)
        for name in names.sorted() {
            let path = files.pending + "/" + name
            guard let report = try? store.load(path) else {
                problems.append("cannot read the pending report \(path)")
                continue
            }
            let failed = store.save(report, extra: nil)
            guard failed.isEmpty else {
                problems += failed
                continue
            }
            _ = FileSystem.remove(path)
            if var last = files.load(SplitLast.self, from: files.last), last.runId == report.runId {
                last.stored = true
                last.reportPath = store.lastReportPath
                try? files.save(last, to: files.last)
            }
        }
        return problems
    }
}
