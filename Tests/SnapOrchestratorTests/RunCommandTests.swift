import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// `snaporch run` end to end as a subprocess: lock, journal, recovery, report, exit codes.
@Suite(.timeLimit(.minutes(3)))
struct RunCommandTests {
    func setup(pre: String = "true") -> (TestTree, String) {
        let tree = TestTree("run")
        let log = tree.path("order.log")
        let a = tree.script("etc/azure/prepost/a.sh", "echo $SNAPORCH_PHASE:a >> \(log)")
        let bPre = tree.script("etc/azure/prepost/b-pre.sh", "echo pre:b >> \(log)\n\(pre)")
        let bPost = tree.script(
            "etc/azure/prepost/b-post.sh", "echo post:b:$SNAPORCH_OUTCOME:$SNAPORCH_RUN_ID >> \(log)")
        tree.write(
            TestConfig(plugins: [.script("a", pre: a, post: a), .script("b", pre: bPre, post: bPost)]),
            at: TestConfig.defaultPath)
        return (tree, log)
    }

    @Test func rehearsalWritesReportAndSummary() async throws {
        let (tree, _) = setup()
        defer { tree.cleanup() }
        let reportPath = tree.path("out/report.json")
        try FileManager.default.createDirectory(atPath: tree.path("out"), withIntermediateDirectories: true)
        let r = try await runCLI(
            ["run", "--no-freeze", "--no-snapshot", "--report", reportPath], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stderr.contains("SUCCESS — consistency: none"))
        #expect(r.stderr.contains("PLUGIN") && r.stderr.contains("succeeded"))
        let report = try ReportStore(paths: Paths(root: tree.root)).load(reportPath)
        #expect(report.plugins.map(\.name) == ["a", "b"])
        #expect(report.timeline.map(\.step.rawValue) == ["pre:a", "pre:b", "post:b", "post:a"])
        let last = try ReportStore(paths: Paths(root: tree.root)).load(tree.path("var/lib/snaporch/last-report.json"))
        #expect(last.runId == report.runId)
        #expect(!FileManager.default.fileExists(atPath: tree.path("run/snaporch/journal.jsonl")), "journal left behind")
    }

    @Test func failedPreUnderContinueExitsThree() async throws {
        let (tree, _) = setup(pre: "exit 4")
        defer { tree.cleanup() }
        let r = try await runCLI(["run", "--no-freeze", "--no-snapshot", "--json"], env: tree.environment)
        #expect(r.code == 3)
        let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
        #expect(report.outcome == .degraded)
        #expect(
            report.errors.first?.code == .prepostPreScriptFailed
                && report.errors.first?.name == "FailedPrepostPreScriptFailed")
    }

    @Test func dryRunPrintsThePlanAndRunsNothing() async throws {
        let (tree, log) = setup()
        defer { tree.cleanup() }
        let r = try await runCLI(["run", "--dry-run"], env: tree.environment)
        #expect(r.code == 0)
        #expect(
            r.stdout.contains("  2. pre  a: ") && r.stdout.contains("[timeout 30s, retries 0, on_failure continue]"))
        #expect(r.stdout.contains("post b: "))
        #expect(!FileManager.default.fileExists(atPath: log))
    }

    @Test func concurrentRunsAreRefusedQuicklyNamingTheHolder() async throws {
        // The holder stays in its pre step until the test says go: the others can only be refused,
        // never wait for the lock, whatever the load of the machine.
        let (tree, _) = setup(
            pre: "echo $PPID > $(dirname $0)/pid; while [ ! -e $(dirname $0)/go ]; do sleep 0.05; done")
        defer { tree.cleanup() }
        let holder = Task { try await runCLI(["run", "--no-freeze", "--no-snapshot"], env: tree.environment) }
        let holderPid = try await waitForPid(in: tree.path("etc/azure/prepost/pid"))
        let refused = try await withThrowingTaskGroup(of: (CLIResult, Double).self) { group in
            for _ in 0..<5 {
                group.addTask {
                    let start = Date()
                    let r = try await runCLI(["run", "--no-freeze", "--no-snapshot"], env: tree.environment)
                    return (r, Date().timeIntervalSince(start))
                }
            }
            var all: [(CLIResult, Double)] = []
            for try await r in group { all.append(r) }
            return all
        }
        tree.write("etc/azure/prepost/go", "")
        #expect(try await holder.value.code == 0)
        #expect(refused.allSatisfy { $0.0.code == 1 })
        for (r, seconds) in refused {
            #expect(r.stderr.contains("another snaporch run holds the lock") && r.stderr.contains("(pid \(holderPid)"))
            #expect(seconds < 10, "refusal took \(seconds)s: a refused run must not wait for the lock")
        }
    }

    @Test func killMinus9MidPreIsCompensatedByTheNextRun() async throws {
        let (tree, log) = setup(pre: "echo $PPID $$ > $(dirname $0)/marker; sleep 60")
        defer { tree.cleanup() }
        let first = Task { try await runCLI(["run", "--no-freeze", "--no-snapshot"], env: tree.environment) }
        let marker = tree.path("etc/azure/prepost/marker")
        var pids: [Int32] = []
        for _ in 0..<500 where pids.count < 2 {
            pids = (tree.read("etc/azure/prepost/marker") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" })
                .compactMap { Int32($0) }
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(pids.count == 2, "marker \(marker) not written")
        kill(pids[0], SIGKILL)
        _ = try await first.value
        #expect(processAlive(pids[1]), "the pre script should still be running (orphaned)")
        // Make the next run's own pre fast.
        try "#!/bin/sh\necho pre:b >> \(log)\n".write(
            toFile: tree.path("etc/azure/prepost/b-pre.sh"), atomically: false, encoding: .utf8)
        let second = try await runCLI(["run", "--no-freeze", "--no-snapshot", "--json"], env: tree.environment)
        #expect(second.code == 0, "\(second.stderr)")
        #expect(second.stderr.contains("was interrupted; finishing its duties first"))
        let report = try JSONDecoder().decode(RunReport.self, from: Data(second.stdout.utf8))
        #expect(report.recovered.map(\.plugin) == ["b", "a"])
        #expect(report.recovered.allSatisfy { $0.result.ok })
        try await Task.sleep(for: .milliseconds(100))
        #expect(!processAlive(pids[1]), "the interrupted run's pre script was left running")
        let lines = (tree.read("order.log") ?? "").split(separator: "\n")
        #expect(lines.prefix(4).map(String.init).first == "pre:a")
        #expect(lines.contains { $0.hasPrefix("post:b:no-snapshot:") && !$0.hasSuffix(report.runId) })
    }

    @Test func sigtermDuringPreSkipsTheRestButRunsPostAndReports() async throws {
        // The pre step ends only after the signal was sent: the signal always lands inside it.
        let (tree, log) = setup(
            pre: "echo $PPID > $(dirname $0)/pid; while [ ! -e $(dirname $0)/go ]; do sleep 0.05; done")
        defer { tree.cleanup() }
        let run = Task { try await runCLI(["run", "--no-freeze", "--no-snapshot", "--json"], env: tree.environment) }
        let pid = try await waitForPid(in: tree.path("etc/azure/prepost/pid"))
        kill(pid, SIGTERM)
        tree.write("etc/azure/prepost/go", "")
        let r = try await run.value
        #expect(r.status == .exited(1), "\(r.stderr)")
        let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
        #expect(report.reasons.contains { $0.contains("interrupted by signal 15") })
        let lines = (tree.read("order.log") ?? "").split(separator: "\n").map(String.init)
        #expect(lines.first == "pre:a" && lines.contains("pre:b"))
        #expect(lines.suffix(2).map { $0.prefix(6) } == ["post:b", "post:a"], "\(lines)")
        _ = log
    }
}
