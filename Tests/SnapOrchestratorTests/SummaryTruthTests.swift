import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// What the admin reads after `snaporch run` is the whole truth: details are wrapped, never cut,
/// and a run that really snapshots is called a run (issue 12, item 4).
@Suite(.timeLimit(.minutes(2)))
struct SummaryTruthTests {
    /// A config with one script plugin whose pre script does not exist (a long error).
    func setup(_ tree: TestTree, snapshot: TestConfig.Snapshot) -> String {
        let missing = tree.path(
            "etc/azure/prepost/" + String(repeating: "a-rather-long-directory-name/", count: 3)
                + "the-pre-script-of-the-application-that-nobody-installed.sh")
        let post = tree.script("etc/azure/prepost/post.sh", "true")
        return tree.write(
            TestConfig(snapshot: snapshot, plugins: [.script("app", pre: missing, post: post)]),
            at: TestConfig.defaultPath)
    }

    /// The DETAIL column of the plugin table, all its lines, whitespace removed.
    func detailColumn(_ summary: String) -> String {
        let lines = summary.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("PLUGIN") }),
            let column = lines[header].range(of: "DETAIL")?.lowerBound
        else { return "" }
        let offset = lines[header].distance(from: lines[header].startIndex, to: column)
        var text = ""
        for line in lines[(header + 1)...] {
            if line.isEmpty { break }
            if line.hasPrefix("app ") && !line.contains(" pre ") { break }  // the post row
            text += String(line.dropFirst(offset))
        }
        return text.filter { !$0.isWhitespace }
    }

    @Test func aSplitRunsSummarySaysWhatThePlatformHookDecided() {
        var report = RunReport(runId: "split", taskId: "split")
        var split = SplitReport(
            caller: "gce", leaseMs: 60_000, windowMs: 60_000, bound: .lease, platformFreezes: false, holderPid: 42)
        split.callerNotes = ["disk 'nosuchdisk': no block device by that name; freezing the configured selection"]
        report.split = split
        let text = Summary(color: false).render(report)
        #expect(text.contains("split run: begun by gce"), "\(text)")
        #expect(text.contains("    gce hook: disk 'nosuchdisk': no block device by that name;"), "\(text)")
    }

    /// A recovered step that failed is shown with its error and the duty still owed, not only counted.
    @Test func aFailedRecoveredStepIsShownWithTheDutyStillOwed() {
        var report = RunReport(runId: "now", taskId: "now")
        var failed = StepReport(status: .failed)
        failed.error = "cannot connect to the server"
        failed.dutyLeft = "start the replica SQL thread"
        report.recovered = [
            RecoveredStep(runId: "before", plugin: "db", result: failed),
            RecoveredStep(runId: "before", plugin: "app", result: StepReport(status: .succeeded)),
        ]
        let text = Summary(color: false).render(report)
        #expect(text.contains("recovered: ran 2 post step(s) owed by earlier run before"), "\(text)")
        #expect(
            text.contains("    db failed: cannot connect to the server; still owed: start the replica SQL thread"),
            "\(text)")
        #expect(!text.contains("app succeeded"), "\(text)")
    }

    @Test func summaryWrapsLongDetailsInsteadOfCuttingThem() async throws {
        let tree = TestTree("wrap")
        defer { tree.cleanup() }
        _ = setup(tree, snapshot: .none)
        let r = try await runCLI(["run", "--no-freeze", "--no-snapshot", "--json"], env: tree.environment)
        let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
        let error = try #require(report.plugins.first?.pre?.error)
        #expect(error.count > 100, "the test needs a long detail: \(error)")
        #expect(
            detailColumn(r.stderr) == error.filter { !$0.isWhitespace },
            "the summary lost part of the detail:\n\(r.stderr)\nwanted: \(error)")
        for line in r.stderr.split(separator: "\n") {
            #expect(line.count <= Summary.width, "line wider than \(Summary.width): \(line)")
        }
    }

    @Test func freezeDisabledInTheConfigWithARealSnapshotIsARunNotARehearsal() async throws {
        let tree = TestTree("mode")
        defer { tree.cleanup() }
        let snap = tree.script("s/snap.sh", "echo taken")
        _ = setup(tree, snapshot: .command([snap]))
        let run = try await runCLI(["run", "--json"], env: tree.environment)
        let report = try JSONDecoder().decode(RunReport.self, from: Data(run.stdout.utf8))
        #expect(report.snapshot.taken, "\(run.stderr)")
        #expect(report.mode == .run, "a real snapshot without a freeze is a run: \(run.stderr)")
        #expect(run.stderr.contains(", run, "))
        #expect(!run.stderr.contains("rehearsal"))
        // Leaving a step out on the command line is what a rehearsal is.
        let rehearsal = try await runCLI(["run", "--no-snapshot", "--json"], env: tree.environment)
        let second = try JSONDecoder().decode(RunReport.self, from: Data(rehearsal.stdout.utf8))
        #expect(second.mode == .rehearsal)
    }
}
