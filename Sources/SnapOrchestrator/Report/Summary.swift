/// The compact human summary printed after a run: verdict and reason, then steps, mounts, disks.
public struct Summary: Sendable {
    /// Use ANSI colours (only on a terminal).
    public var color: Bool

    /// Creates a renderer.
    public init(color: Bool) { self.color = color }

    /// The summary text.
    public func render(_ report: RunReport) -> String {
        var out: [String] = []
        let verdict = "\(report.outcome.rawValue.uppercased()) — consistency: \(report.consistency.rawValue)"
        let tint = report.outcome == .success ? "32" : report.outcome == .degraded ? "33" : "31"
        out.append(paint(verdict, tint) + "  (run \(report.runId), \(report.mode), \(report.durationMs) ms)")
        for reason in report.reasons { out.append("  because: \(reason)") }
        if !report.recovered.isEmpty {
            out.append(
                "  recovered: ran \(report.recovered.count) post step(s) owed by interrupted run \(report.recovered[0].runId)"
            )
        }
        var rows: [[String]] = [["PLUGIN", "PHASE", "STATUS", "ATTEMPTS", "MS", "DETAIL"]]
        for plugin in report.plugins {
            for (phase, step) in [("pre", plugin.pre), ("post", plugin.post)] {
                guard let step else { continue }
                let detail =
                    step.error ?? (step.outputDetached == true ? "output cut: a background process kept the pipe" : "")
                rows.append([
                    plugin.name, phase, step.status.rawValue, String(step.attempts), String(step.durationMs),
                    String(detail.prefix(70)),
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
        if report.snapshot.provider != "none" || !report.snapshot.disks.isEmpty {
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
        return out.joined(separator: "\n") + "\n"
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[1;\(code)m\(text)\u{1B}[0m" : text }

    private func table(_ rows: [[String]]) -> [String] {
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.rightPadded(widths[i]) }
                .joined(separator: "  ").trimmingSpaces
        }
    }
}

func format3(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return String(scaled)
}
