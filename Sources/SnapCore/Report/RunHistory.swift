import Foundation
import SnapSystem

/// The last runs' reports under `/var/lib/snaporch/history/`, bounded in count and size, and the
/// trends an admin wants from them: per-step p50/p95, the freeze window over time, slow steps.
package struct RunHistory: Sendable {
    package let directory: String
    /// Reports kept at most.
    package var limit = 200
    /// Bytes kept at most.
    package var byteLimit = 32 << 20

    package init(paths: Paths) { directory = paths.stateDir + "/history" }

    /// Adds a report and prunes the oldest beyond the limits.
    package func append(_ report: RunReport) throws {
        try FileSystem.makeDirectory(directory, mode: 0o700)
        let name = "\(report.runId).json".replacing("/", with: "_")
        try FileSystem.writeAtomically(Array(JSONOutput.encode(report, pretty: false).utf8), to: "\(directory)/\(name)")
        prune()
    }

    /// Report files, oldest first (run ids sort by time).
    func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
    }

    private func prune() {
        var names = files()
        var sizes = names.map { name -> Int in
            Int((try? FileStatus.of("\(directory)/\(name)"))?.size ?? 0)
        }
        while !names.isEmpty && (names.count > limit || sizes.reduce(0, +) > byteLimit) {
            FileSystem.remove("\(directory)/\(names.removeFirst())")
            sizes.removeFirst()
        }
    }

    /// The stored reports, oldest first; unreadable files are skipped.
    package func load() -> [RunReport] {
        files().compactMap { name in
            FileManager.default.contents(atPath: "\(directory)/\(name)").flatMap {
                try? JSONDecoder().decode(RunReport.self, from: $0)
            }
        }
    }

    /// p50 and p95 of `values` (nearest rank).
    package static func percentiles(_ values: [Int]) -> (p50: Int, p95: Int)? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Int {
            sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        return (rank(0.5), rank(0.95))
    }

    /// The history as text: recent runs, per-step statistics, the window's trend, warnings.
    package static func render(_ reports: [RunReport], recent: Int = 10) -> String {
        guard !reports.isEmpty else { return "no runs recorded yet\n" }
        var out = ["RECENT RUNS"]
        out.append("STARTED               OUTCOME   CONSISTENCY  WINDOW ms  TOTAL ms  RUN")
        for r in reports.suffix(recent).reversed() {
            out.append(
                "\(r.startedAt.prefix(20).description.rightPadded(22))\(r.outcome.rawValue.rightPadded(10))\(r.consistency.rawValue.rightPadded(13))\(String(r.freeze.windowMs.map(String.init) ?? "-").leftPadded(9))  \(String(r.durationMs).leftPadded(8))  \(r.runId)"
            )
        }
        var steps: [String: [Int]] = [:]
        for r in reports {
            for p in r.plugins {
                if let pre = p.pre, pre.status != .skipped {
                    steps["\(p.name) pre", default: []].append(pre.durationMs)
                }
                if let post = p.post, post.status != .skipped {
                    steps["\(p.name) post", default: []].append(post.durationMs)
                }
            }
        }
        out.append("")
        out.append("STEP                          RUNS   p50 ms   p95 ms   LAST ms")
        var warnings: [String] = []
        for (name, values) in steps.sorted(by: { $0.key < $1.key }) {
            guard let (p50, p95) = percentiles(values), let last = values.last else { continue }
            out.append(
                "\(name.rightPadded(30))\(String(values.count).leftPadded(4))  \(String(p50).leftPadded(7))  \(String(p95).leftPadded(7))  \(String(last).leftPadded(8))"
            )
            if values.count >= 5, last > max(2 * p50, p50 + 100) {
                warnings.append(
                    "warning: '\(name)' took \(last) ms in the last run, more than twice its median (\(p50) ms): it is getting slower"
                )
            }
        }
        let windows = reports.compactMap { $0.freeze.windowUs }.map { $0 / 1000 }
        if let (p50, p95) = percentiles(windows) {
            out.append("")
            out.append("FREEZE WINDOW  p50 \(p50) ms, p95 \(p95) ms over \(windows.count) run(s)")
            if windows.count >= 6 {
                let half = windows.count / 2
                let before = percentiles(Array(windows[..<half]))!.p50,
                    after = percentiles(Array(windows[half...]))!.p50
                let arrow = after > before ? "↑" : after < before ? "↓" : "→"
                out.append("trend: \(before) ms → \(after) ms \(arrow) (median of the older half vs the newer half)")
                if after > max(2 * before, before + 50) {
                    warnings.append(
                        "warning: the freeze window doubled (\(before) ms → \(after) ms): check the snapshot calls and the mounts"
                    )
                }
            }
        }
        if !warnings.isEmpty {
            out.append("")
            out += warnings
        }
        return out.joined(separator: "\n") + "\n"
    }
}
