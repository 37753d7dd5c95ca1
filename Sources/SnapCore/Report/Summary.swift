import Foundation
import SnapSystem

/// The compact human summary printed after a run: verdict and reason, then steps, mounts, disks.
package struct Summary: Sendable {
    /// The widest line the summary prints (columns).
    package static let width = 100
    /// Use ANSI colours (only on a terminal).
    package var color: Bool

    /// Creates a renderer.
    package init(color: Bool) { self.color = color }

    /// The summary text.
    package func render(_ report: RunReport) -> String {
        var out: [String] = []
        let verdict = "\(report.outcome.rawValue.uppercased()) — consistency: \(report.consistency.rawValue)"
        let tint = report.outcome == .success ? "32" : report.outcome == .degraded ? "33" : "31"
        out.append(paint(verdict, tint) + "  (run \(report.runId), \(report.mode.rawValue), \(report.durationMs) ms)")
        for reason in report.reasons { out += TextWrap.hanging("  because: ", reason, width: Self.width) }
        if let split = report.split {
            out.append(Self.splitLine(split))
            // What the platform hook decided for the admin (e.g. a disk list it could not map).
            for note in split.callerNotes ?? [] {
                out += TextWrap.hanging("    \(split.caller) hook: ", note, width: Self.width)
            }
        }
        if !report.recovered.isEmpty {
            out.append(
                "  recovered: ran \(report.recovered.count) post step(s) owed by earlier run \(report.recovered[0].runId)"
            )
            for step in report.recovered {
                if let why = step.result.details?["deadman"] {
                    out += TextWrap.hanging("    \(step.plugin): ", why, width: Self.width)
                }
                // A recovered step that failed: its error, and whether its duty is still owed.
                guard step.result.status != .succeeded, step.result.status != .skipped else { continue }
                let owed = step.result.dutyLeft.map { "; still owed: \($0)" } ?? ""
                out += TextWrap.hanging(
                    "    \(step.plugin) \(step.result.status.rawValue): ", (step.result.error ?? "") + owed,
                    width: Self.width)
            }
        }
        var rows: [[String]] = [["PLUGIN", "PHASE", "STATUS", "ATTEMPTS", "MS", "DETAIL"]]
        for plugin in report.plugins {
            let steps = [
                ("pre", plugin.pre), ("hold", plugin.hold), ("release", plugin.release), ("post", plugin.post),
            ]
            for (phase, step) in steps {
                guard let step else { continue }
                let detail =
                    step.error ?? (step.outputDetached == true ? "output cut: a background process kept the pipe" : "")
                rows.append([
                    plugin.name, phase, step.status.rawValue, String(step.attempts), String(step.durationMs),
                    detail,
                ])
            }
        }
        if rows.count > 1 { out.append(""); out += table(rows) }
        if report.freeze.enabled {
            var mountRows: [[String]] = [["MOUNT", "FS", "FROZEN", "THAWED", "DETAIL"]]
            for m in report.freeze.mounts {
                mountRows.append([
                    m.mountPoint, m.fsType, m.frozen ? "yes" : "no", m.thawed ? "yes" : "no", m.error ?? "",
                ])
            }
            for s in report.freeze.skipped { mountRows.append([s.mountPoint, s.fsType, "skipped", "-", s.reason]) }
            out.append("")
            out += table(mountRows)
            if let window = report.freeze.windowUs {
                out.append(
                    "freeze window: \(String(format3(Double(window) / 1000))) ms\(report.freeze.deadlineHit ? " (DEADLINE HIT)" : "")"
                )
            }
        }
        if report.snapshot.provider != .none || !report.snapshot.disks.isEmpty {
            var diskRows: [[String]] = [["DISK", "OK", "MS", "SNAPSHOT / ERROR"]]
            for d in report.snapshot.disks {
                diskRows.append([
                    d.blob, d.ok ? "yes" : "no", String(d.durationMs), d.ok ? (d.snapshot ?? "") : (d.error ?? ""),
                ])
            }
            out.append("")
            if diskRows.count > 1 { out += table(diskRows) }
            if let error = report.snapshot.error { out.append("snapshot: \(error)") }
        }
        let restore = RestoreGuide.summaryLines(report)
        if !restore.isEmpty {
            out.append("")
            out += restore
            out.append("restore steps: snaporch report --restore \(report.runId)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// One line on a split-phase run: who began it, how long the holds lasted, how it ended.
    static func splitLine(_ split: SplitReport) -> String {
        let seconds = { (ms: Int) in ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms" }
        var line =
            "  split run: begun by \(split.caller) (holder pid \(split.holderPid)), window \(seconds(split.windowMs))"
        line += split.bound == .lease ? " (the lease)" : " (freeze.timeout, shorter than the lease)"
        if let held = split.heldMs { line += ", held \(held) ms" }
        if let ending = split.ending { line += ", closed by: \(ending.rawValue)" }
        if split.platformFreezes { line += "; the platform froze" }
        return line
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[1;\(code)m\(text)\u{1B}[0m" : text }

    /// Columns padded to their widest cell; the last column is wrapped (never cut) so that a
    /// line stays within `width` (unless the other columns alone are wider).
    private func table(_ rows: [[String]]) -> [String] {
        let last = rows[0].count - 1
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() where i < last { widths[i] = max(widths[i], cell.count) } }
        let lead = widths.prefix(last).reduce(0) { $0 + $1 + 2 }
        let room = max(Self.width - lead, 30)
        var out: [String] = []
        for row in rows {
            let prefix = row.prefix(last).enumerated().map { i, cell in cell.rightPadded(widths[i]) + "  " }.joined()
            for (index, line) in TextWrap.lines(row[last], width: room).enumerated() {
                let head = index == 0 ? prefix : String(repeating: " ", count: prefix.count)
                var text = head + line
                while text.last == " " { text.removeLast() }
                out.append(text)
            }
        }
        return out
    }
}

func format3(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return String(scaled)
}
