import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapSystem

/// The holder's final answer (to `end`, or to a `begin` whose run ended before quiescing) comes
/// only once the holder has let go of the machine: the run lock is free and no split state is
/// left. qemu-ga's next freeze can come right after a thaw returned; a holder still holding the
/// lock then refused it as "a run is in progress".
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SplitHandoverTests {
    /// A new tree whose config has one script plugin whose pre and post succeed.
    static func oneScriptMachine() -> (TestTree, RunFixture, config: String) {
        let tree = TestTree("handover")
        let fx = RunFixture(tree)
        let ok = tree.script("ok.sh", "exit 0")
        return (tree, fx, fx.write(TestConfig(freeze: .off, plugins: [.script("a", pre: ok, post: ok)])))
    }

    /// A new tree whose one plugin appends `$SNAPORCH_OUTCOME` to `post.log` (pre and post), with a
    /// holder begun with `lease` that stops itself at the fault point `stopAt` once `begin` returned.
    static func stoppedHolder(lease: String, stopAt: String) async throws
        -> (TestTree, RunFixture, holder: Int32)
    {
        let tree = TestTree("handover")
        let fx = RunFixture(tree)
        let log = tree.path("post.log")
        let post = tree.script("post.sh", "echo \"$SNAPORCH_OUTCOME\" >> \(ShellQuote.quote(log))")
        let config = fx.write(TestConfig(freeze: .off, plugins: [.script("a", pre: post, post: post)]))
        let begin = try await fx.begin(config, ["--lease", lease], env: ["SNAPORCH_FAULT_STOP_AT": stopAt])
        _ = try begin.quiesced()
        return (tree, fx, try await waitForStoppedSnaporch(root: tree.root, timeout: 10))
    }

    /// The holder stops itself (the `split-release` fault point) when its run is over and it has
    /// not yet let go; the caller must still be waiting then, and be answered once it goes on.
    /// `end`: the run's final report; `begin`: a run that ended before quiescing (a pre with
    /// `on_failure: abort` failed); `refused`: a holder that took the lock and then could not run
    /// (a directory where its control socket goes).
    @Test(arguments: ["end", "begin", "refused"])
    func theAnswerWaitsUntilTheHolderHasLetGo(_ answered: String) async throws {
        let tree = TestTree("handover")
        defer { tree.cleanup() }
        let fx = RunFixture(tree)
        let ok = tree.script("ok.sh", "exit 0")
        let pre = answered == "begin" ? tree.script("bad.sh", "exit 1") : ok
        let config = fx.write(
            TestConfig(freeze: .off, plugins: [.script("a", pre: pre, post: ok, ["on_failure": "abort"])]))
        let stopAt = ["SNAPORCH_FAULT_STOP_AT": "split-release"]
        if answered == "refused" {
            try FileManager.default.createDirectory(atPath: fx.splitFiles.socket, withIntermediateDirectories: true)
        }
        let caller: Task<CLIResult, any Error>
        let returned = Flag()
        if answered == "end" {
            _ = try await fx.begin(config, ["--lease", "60s"], env: stopAt).quiesced()
            caller = Task {
                defer { returned.set() }
                return try await fx.end(["--json"], timeout: 30)
            }
        } else {
            caller = Task {
                defer { returned.set() }
                return try await fx.begin(config, ["--lease", "60s"], env: stopAt, timeout: 30)
            }
        }
        let stopped = try await waitForStoppedSnaporch(root: tree.root, timeout: 10)
        defer { kill(stopped, SIGCONT) }
        try await Task.sleep(for: .seconds(1))
        #expect(!returned.value, "`\(answered)` returned while the holder still held the run lock")
        kill(stopped, SIGCONT)
        let result = try await caller.value
        // Right away: nothing of the run is left to refuse the next one.
        #expect(runLockIsFree(tree), "`\(answered)` returned before the holder released the run lock")
        #expect(!FileManager.default.fileExists(atPath: fx.splitFiles.state))
        if answered == "end" {
            #expect(result.code == 0, "\(result.stderr)")
            #expect(try result.report().split?.ending == .end)
            let next = try await fx.begin(config, ["--lease", "60s"])
            #expect(next.code == 0, "the next begin was refused: \(next.stderr)")
            _ = try await fx.end()
        } else if answered == "begin" {
            #expect(result.code != 0 && result.stdout.contains("\"outcome\""), "\(result.stderr)")
        } else {
            #expect(result.code == 1 && result.stderr.contains("control socket"), "\(result.stderr)")
        }
    }

    /// An `end` sent right after `begin` returned is not taken for one sent before the quiesce:
    /// the holder stops (`split-quiesced`) just after it answered `begin`, before it records
    /// anything else; the `end` sent then must still find a good snapshot.
    @Test func anEndSentRightAfterBeginReturnedCountsTheSnapshot() async throws {
        let (tree, fx, stopped) = try await Self.stoppedHolder(lease: "60s", stopAt: "split-quiesced")
        defer { tree.cleanup() }
        defer { kill(stopped, SIGCONT) }
        let ending = Task { try await fx.end(["--json"], timeout: 30) }
        try await Task.sleep(for: .milliseconds(500))
        kill(stopped, SIGCONT)
        let end = try await ending.value
        #expect(end.code == 0, "\(end.stderr)")
        let report = try end.report()
        #expect(report.snapshot.taken && report.outcome == .success, "\(report.reasons)")
        #expect(tree.read("post.log")?.split(separator: "\n").last == "snapshot-taken")
    }

    /// A holder that reads its control socket late (stopped at `split-wait`, as a paused VM or a
    /// busy CPU can leave it) until after the lease: an `end` sent before the lease still ends the
    /// window with the snapshot taken; one sent after it finds the lease expired.
    @Test(arguments: [true, false])
    func anEndSentBeforeTheLeaseCountsThoughTheHolderReadsItLate(sentInTime: Bool) async throws {
        let (tree, fx, stopped) = try await Self.stoppedHolder(lease: "1s", stopAt: "split-wait")
        defer { tree.cleanup() }
        defer { kill(stopped, SIGCONT) }
        if !sentInTime { try await Task.sleep(for: .milliseconds(1500)) }
        let ending = Task { try await fx.end(["--json"], timeout: 30) }
        // Past the lease, with the `end` (if sent in time) queued on the socket.
        try await Task.sleep(for: .milliseconds(sentInTime ? 1500 : 300))
        kill(stopped, SIGCONT)
        let report = try await ending.value.report()
        if sentInTime {
            #expect(report.split?.ending == .end, "\(report.reasons)")
            #expect(report.snapshot.taken, "\(report.reasons)")
            #expect(tree.read("post.log")?.split(separator: "\n").last == "snapshot-taken")
        } else {
            #expect(report.split?.ending == .leaseExpired, "\(report.reasons)")
            #expect(!report.snapshot.taken)
        }
    }

    /// A connection whose request has not arrived when the late holder takes its last look (an
    /// `end` stopped between its connect and its write) is kept and answered with the final report,
    /// as a late `end` is — not closed unanswered.
    @Test func aConnectionWithoutItsRequestAtTheLastLookGetsTheFinalReport() async throws {
        let (tree, fx, stopped) = try await Self.stoppedHolder(lease: "1s", stopAt: "split-wait")
        defer { tree.cleanup() }
        defer { kill(stopped, SIGCONT) }
        let connection = try UnixSocket.connect(to: fx.splitFiles.socket, until: Poll.deadline(afterMilliseconds: 5000))
        defer { connection.close() }
        try await Task.sleep(for: .milliseconds(1500))  // past the lease, the request still unsent
        kill(stopped, SIGCONT)
        let answer = await offload { () -> SplitMessage? in
            var reader = LineReader(fd: connection.rawValue, chunkSize: 65536)
            let end = Poll.deadline(afterMilliseconds: 30_000)
            var finished: SplitMessage?
            // Up to the close, as `end` reads: the holder closes once it has let go of the lock.
            while case .line(let line) = reader.next(deadline: end) {
                if let message = SplitMessage(line: line), message.kind == .finished { finished = message }
            }
            return finished
        }
        #expect(answer != nil, "the holder closed the connection without its final report")
        #expect(runLockIsFree(tree))
    }

    /// A recovery of a dead holder that cannot get the run lock (another run took it meanwhile,
    /// and finishes the dead one's duties itself) touches nothing of the run that holds it: not its
    /// state, not its control socket, not `last.json`; that run's `end` still ends it.
    @Test func aRecoveryWithoutTheLockLeavesTheNewHoldersFilesAlone() async throws {
        let (tree, fx, config) = Self.oneScriptMachine()
        defer { tree.cleanup() }
        let quiesced = try await fx.begin(config, ["--lease", "60s"]).quiesced()
        let files = fx.splitFiles
        let live = try #require(files.load(SplitState.self, from: files.state))
        // What a slow `end` read before the new holder started: the state of a holder since dead.
        let gone = try await sh("echo $$")
        var dead = live
        dead.runId = "run-of-a-dead-holder"
        dead.pid = try #require(Int32(gone.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        dead.pidStart = nil
        #expect(!dead.holderAlive)
        let (report, code, finished) = await SplitRecovery(paths: Paths(root: tree.root))
            .holderDied(dead, config: nil, lockWait: .milliseconds(300))
        #expect(!finished && code == RunExit.failed && report.reasons.joined().contains("run lock stayed held"))
        #expect(files.load(SplitState.self, from: files.state)?.runId == quiesced.runId)
        #expect(FileManager.default.fileExists(atPath: files.socket), "the live holder's control socket was removed")
        #expect(!FileManager.default.fileExists(atPath: files.last))
        let end = try await fx.end(["--json"])
        #expect(end.code == 0, "\(end.stderr)")
        #expect(try end.report().runId == quiesced.runId)
    }

    /// A split run that ended on its own but kept its journal (a thaw it could not confirm) is not
    /// booked as "holder died" by the recovery that thaws for it: its report and `last.json` stay
    /// its own, and a stray `end` later is still a no-op.
    @Test func aFinishedRunsKeptJournalIsNotBookedAsADeadHolder() async throws {
        let (tree, fx, config) = Self.oneScriptMachine()
        defer { tree.cleanup() }
        let quiesced = try await fx.begin(config, ["--lease", "60s", "--caller", "qemu-ga"]).quiesced()
        let end = try await fx.end(["--json"])
        #expect(end.code == 0, "\(end.stderr)")
        // What `RunJournal.finish()` keeps after a thaw it could not confirm: every record through
        // `finished` (the `freezing` record left out: there is no mount to thaw here).
        var begin = JournalRecord.begin(runId: quiesced.runId, taskId: quiesced.runId, pid: quiesced.split.holderPid)
        begin.split = "qemu-ga"
        let records = [begin, JournalRecord(.finished)].compactMap { $0.line() }.joined()
        tree.write("run/snaporch/journal.jsonl", String(decoding: records, as: UTF8.self), mode: 0o600)
        let recover = try await fx.recover()
        #expect(recover.code == 0, "\(recover.stderr)")
        #expect(!recover.stdout.contains("holder died"), "\(recover.stdout)")
        #expect(fx.history(of: quiesced.runId).map(\.split?.ending) == [.end])
        let last = fx.splitFiles.load(SplitLast.self, from: fx.splitFiles.last)
        #expect(last?.ending == .end && last?.collected == true)
        let again = try await fx.end()
        #expect(again.code == 0 && again.stderr.contains("no split run in progress"), "\(again.stderr)")
    }
}
