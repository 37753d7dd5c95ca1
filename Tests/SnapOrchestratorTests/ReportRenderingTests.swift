import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The text timeline, the SVG timeline (rendered by headless Chromium), and the run history.
@Suite(.timeLimit(.minutes(2)))
struct ReportRenderingTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.fileExists(atPath: $0)
    }

    func report(failedPost: Bool = false) -> RunReport {
        var r = HandlerStatusTests.report("app")
        r.durationMs = 260
        r.timeline = [
            TimelineEntry(step: .pre(plugin: "app"), startMs: 0, endMs: 40),
            TimelineEntry(step: .freezeWindow, startMs: 45, endMs: 255),
            TimelineEntry(step: .snapshot, startMs: 48, endMs: 250),
            TimelineEntry(step: .post(plugin: "app"), startMs: 256, endMs: 259),
        ]
        if failedPost {
            var post = StepReport(status: .failed)
            post.exitCode = 1
            r.plugins[0].post = post
        }
        return r
    }

    @Test func textTimelineHasALanePerPluginDiskAndTheWindow() {
        let text = TimelineRenderer.text(report(failedPost: true))
        #expect(text.contains("app ") && text.contains("disk d0.vhd") && text.contains("freeze"))
        #expect(text.contains("post 3 ms FAILED"))
        #expect(text.contains("#"))
    }

    @Test func svgIsWellFormedAndEscapesNames() throws {
        var r = report()
        r.plugins[0].name = "a<b>&c"
        r.timeline[0].step = .pre(plugin: "a<b>&c")
        let svg = TimelineRenderer.svg(r)
        #expect(svg.contains("a&lt;b&gt;&amp;c"))
        #expect(!svg.contains("a<b>"))
        // Well-formed XML.
        let document = try XMLDocument(xmlString: svg)
        #expect(document.rootElement()?.name == "svg")
    }

    @Test(.enabled(if: chromium != nil || TestEnv.isCI, "chromium is not installed"))
    func chromiumRendersTheSVG() async throws {
        let tree = TestTree("svg")
        defer { tree.cleanup() }
        let svg = tree.write("t.svg", TimelineRenderer.svg(report(failedPost: true)))
        let png = tree.path("t.png")
        let r = try await sh(
            "\(Self.chromium ?? "chromium") --headless --no-sandbox --disable-gpu --screenshot=\(png) --window-size=960,320 file://\(svg)",
            timeout: 90)
        #expect(r.code == 0, "\(r.output)")
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 5000, "screenshot of \(size) bytes")
        let header = try #require(FileManager.default.contents(atPath: png)).prefix(8)
        #expect(Array(header) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test func historyKeepsABoundedNumberAndWarnsOnSlowSteps() throws {
        let tree = TestTree("hist")
        defer { tree.cleanup() }
        var history = RunHistory(paths: Paths(root: tree.root))
        history.limit = 8
        for i in 0..<12 {
            var r = report()
            r.runId = "2026112600000\(String(i).leftPadded(2).replacing(" ", with: "0"))"
            r.plugins[0].pre?.durationMs = i == 11 ? 900 : 40 + i
            r.freeze.windowUs = (i < 6 ? 5 : 40) * 1000
            try history.append(r)
        }
        let reports = history.load()
        #expect(reports.count == 8)
        #expect(reports.first?.runId == "202611260000004")
        let text = RunHistory.render(reports)
        #expect(text.contains("warning: 'app pre' took 900 ms"))
        #expect(text.contains("FREEZE WINDOW"))
        #expect(RunHistory.percentiles([5, 1, 3, 2, 4])! == (3, 5))
    }

    @Test func reportAndHistoryCommandsReadTheStoredRuns() async throws {
        let tree = TestTree("hist")
        defer { tree.cleanup() }
        tree.script("s/pre.sh", "exit 0")
        let config = tree.write(
            "c.yaml",
            "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\nplugins:\n  - name: app\n    pre: \(tree.path("s/pre.sh"))\n"
        )
        for _ in 0..<3 { _ = try await runCLI(["run", "--config", config], env: tree.environment) }
        let report = try await runCLI(["report", "--svg", tree.path("out.svg")], env: tree.environment)
        #expect(report.code == 0 && report.stdout.contains("legend:"))
        #expect(FileManager.default.fileExists(atPath: tree.path("out.svg")))
        let history = try await runCLI(["history"], env: tree.environment)
        #expect(history.code == 0 && history.stdout.contains("RECENT RUNS") && history.stdout.contains("app pre"))
        let missing = try await runCLI(["report", tree.path("nope.json")], env: tree.environment)
        #expect(missing.code == 1 && missing.stderr.contains("no such file"))
    }
}
