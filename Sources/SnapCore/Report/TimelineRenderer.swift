import Foundation
import SnapSystem

/// Renders a run report as a timeline: one lane per plugin (pre and post bars), a lane for the
/// freeze window, one lane per disk snapshot call; failures marked. Text for a terminal, SVG for a
/// browser.
package enum TimelineRenderer {
    /// One bar of the timeline.
    struct Bar {
        var lane: String
        var label: String
        var start: Int
        var end: Int
        var failed: Bool
        var kind: String  // pre, post, freeze, snapshot, other
    }

    static func bars(_ report: RunReport) -> [Bar] {
        var bars: [Bar] = []
        let steps = Dictionary(
            report.plugins.flatMap { p in
                Phase.allCases.map { phase in
                    (TimelineStep.plugin(phase, p.name), [p.pre, p.hold, p.release, p.post][phase.order])
                }
            }.compactMap { key, step in step.map { (key, $0) } }, uniquingKeysWith: { a, _ in a })
        for entry in report.timeline {
            if let (phase, plugin) = entry.step.pluginStep {
                let failed = steps[entry.step].map { !$0.ok } ?? false
                bars.append(
                    Bar(
                        lane: plugin, label: phase.rawValue, start: entry.startMs, end: entry.endMs, failed: failed,
                        kind: phase.rawValue))
            } else if entry.step == .freezeWindow {
                let label =
                    report.freeze.windowUs.map { "frozen \(format3(Double($0) / 1000)) ms in the kernel; span" }
                    ?? "frozen"
                bars.append(
                    Bar(
                        lane: "freeze", label: label, start: entry.startMs, end: entry.endMs,
                        failed: report.freeze.deadlineHit || report.freeze.error != nil, kind: "freeze"))
            } else if entry.step == .snapshot {
                for disk in report.snapshot.disks {
                    let name = disk.blob.split(separator: "/").last.map(String.init) ?? disk.blob
                    bars.append(
                        Bar(
                            lane: "disk \(name)", label: disk.ok ? "snapshot" : "failed", start: entry.startMs,
                            end: entry.startMs + max(disk.durationMs, 1), failed: !disk.ok, kind: "snapshot"))
                }
            }
        }
        return bars
    }

    static func lanes(_ bars: [Bar]) -> [String] {
        var seen: [String] = []
        for bar in bars where !seen.contains(bar.lane) { seen.append(bar.lane) }
        return seen
    }

    /// A text timeline, `width` columns for the time axis.
    package static func text(_ report: RunReport, width: Int = 60) -> String {
        let bars = bars(report)
        let total = max(report.durationMs, bars.map(\.end).max() ?? 1, 1)
        var out = [
            "run \(report.runId): \(report.outcome.rawValue), consistency \(report.consistency.rawValue), \(report.durationMs) ms"
        ]
        let laneWidth = max(12, (lanes(bars).map(\.count).max() ?? 0) + 2)
        for lane in lanes(bars) {
            var row = [Character](repeating: " ", count: width)
            var notes: [String] = []
            for bar in bars where bar.lane == lane {
                let a = min(width - 1, bar.start * width / total)
                let b = max(a, min(width - 1, (bar.end * width + total - 1) / total - 1))
                let mark: Character = bar.failed ? "x" : bar.kind == "freeze" ? "#" : bar.kind == "post" ? "=" : "-"
                for i in a...b { row[i] = mark }
                notes.append("\(bar.label) \(bar.end - bar.start) ms\(bar.failed ? " FAILED" : "")")
            }
            out.append("\(lane.rightPadded(laneWidth))|\(String(row))| \(notes.joined(separator: ", "))")
        }
        out.append(
            "\(String(repeating: " ", count: laneWidth))0\(String(repeating: " ", count: max(0, width - String(total).count - 2))) \(total) ms"
        )
        out.append("legend: - pre  = post  # frozen  x failed")
        return out.joined(separator: "\n") + "\n"
    }

    /// An SVG picture of the timeline.
    package static func svg(_ report: RunReport) -> String {
        let bars = bars(report)
        let lanes = lanes(bars)
        let total = Double(max(report.durationMs, bars.map(\.end).max() ?? 1, 1))
        let left = 170.0, plot = 760.0, laneHeight = 30.0, top = 60.0
        let height = top + Double(lanes.count) * laneHeight + 50
        func x(_ ms: Int) -> Double { left + Double(ms) / total * plot }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(left + plot + 190))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="10" y="22" font-size="15" font-weight="bold">\(escape("snaporch run \(report.runId)"))</text>
            <text x="10" y="42" fill="\(report.outcome == .success ? "#1a7f37" : report.outcome == .degraded ? "#9a6700" : "#cf222e")">\(escape("\(report.outcome.rawValue) — consistency \(report.consistency.rawValue) — \(report.durationMs) ms\(report.freeze.windowMs.map { ", freeze window \($0) ms" } ?? "")"))</text>

            """
        if let window = bars.first(where: { $0.kind == "freeze" }) {
            s +=
                "<rect x=\"\(x(window.start))\" y=\"\(top - 6)\" width=\"\(max(1, x(window.end) - x(window.start)))\" height=\"\(Double(lanes.count) * laneHeight + 6)\" fill=\"#ddeeff\"/>\n"
        }
        for (i, lane) in lanes.enumerated() {
            let y = top + Double(i) * laneHeight
            s += "<text x=\"10\" y=\"\(y + 17)\">\(escape(lane))</text>\n"
            s +=
                "<line x1=\"\(left)\" y1=\"\(y + laneHeight - 2)\" x2=\"\(left + plot)\" y2=\"\(y + laneHeight - 2)\" stroke=\"#eeeeee\"/>\n"
            for bar in bars where bar.lane == lane {
                let color =
                    bar.failed
                    ? "#cf222e"
                    : [
                        "pre": "#2da44e", "hold": "#e16f24", "release": "#bf8700", "post": "#0969da",
                        "freeze": "#54aeff",
                        "snapshot": "#8250df",
                    ][bar.kind]
                        ?? "#888888"
                let w = max(2, x(bar.end) - x(bar.start))
                s +=
                    "<rect x=\"\(x(bar.start))\" y=\"\(y + 4)\" width=\"\(w)\" height=\"\(laneHeight - 10)\" rx=\"3\" fill=\"\(color)\"><title>\(escape("\(lane) \(bar.label): \(bar.end - bar.start) ms"))</title></rect>\n"
                s +=
                    "<text x=\"\(x(bar.start) + w + 4)\" y=\"\(y + 17)\" fill=\"#444444\">\(escape("\(bar.label) \(bar.end - bar.start) ms\(bar.failed ? " ✗" : "")"))</text>\n"
            }
        }
        let axisY = top + Double(lanes.count) * laneHeight + 15
        s += "<line x1=\"\(left)\" y1=\"\(axisY)\" x2=\"\(left + plot)\" y2=\"\(axisY)\" stroke=\"#888888\"/>\n"
        for i in 0...4 {
            let ms = Int(total) * i / 4
            s += "<text x=\"\(x(ms) - 10)\" y=\"\(axisY + 16)\" fill=\"#666666\">\(ms) ms</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func escape(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;").replacing(
            "\"", with: "&quot;")
    }
}
