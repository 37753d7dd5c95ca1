import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The run journal as an append-only record log: one record per event, appended without touching
/// earlier bytes; replay; a torn last record dropped, everything before it kept; a corrupt record
/// making the journal unreadable; an older version's `journal.json` still read.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RunJournalTests {
    func owed(_ plugin: String) -> JournalState.OwedPost {
        JournalState.OwedPost(plugin: plugin, executable: "/bin/\(plugin)", arguments: ["post"], timeoutMs: 1000)
    }

    func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

    /// A journal in `tree/run` (0700) whose run `runId` has begun, and that directory.
    func begun(_ tree: TestTree, runId: String, taskId: String) throws -> (RunJournal, String) {
        let dir = tree.path("run")
        try FileSystem.makeDirectory(dir, mode: 0o700)
        let journal = RunJournal(directory: dir)
        journal.begin(runId: runId, taskId: taskId)
        return (journal, dir)
    }

    func inode(_ path: String) -> UInt {
        var st = stat()
        return lstat(path, &st) == 0 ? UInt(st.st_ino) : 0
    }

    /// Every event adds exactly its own record at the end of the same file; the bytes before it are
    /// never rewritten (an O(n) rewrite of the whole state at each step fails this).
    @Test func eachEventAppendsOneRecordAndLeavesEarlierBytesAlone() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let (journal, _) = try begun(tree, runId: "r1", taskId: "t1")
        let inode = inode(journal.path)
        let before = bytes(journal.path)
        #expect(before == JournalRecord.begin(runId: "r1", taskId: "t1", pid: getpid()).line())
        var expected: [JournalRecord] = []
        for i in 0..<40 {
            let post = owed("p\(i)")
            journal.preStarting(post.plugin, post: post.executable, arguments: post.arguments, timeout: .seconds(1))
            expected.append(.preStarting(post))
        }
        expected.append(.outcomeKnown(outcome: .snapshotTaken, consistency: .application))
        journal.outcomeKnown(outcome: .snapshotTaken, consistency: .application)
        for i in (0..<40).reversed() {
            journal.postDone("p\(i)")
            expected.append(.postDone("p\(i)"))
        }
        // Replay the expectation against the file, record by record.
        var offset = before.count
        let after = bytes(journal.path)
        for record in expected {
            let line = try #require(record.line())
            #expect(Array(after[offset..<min(after.count, offset + line.count)]) == line, "\(record.event)")
            offset += line.count
        }
        #expect(offset == after.count, "the file holds more than one record per event")
        #expect(Array(after.prefix(before.count)) == before, "the begin record was rewritten")
        #expect(self.inode(journal.path) == inode, "the file was replaced, not appended to")
        var st = stat()
        #expect(stat(journal.path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        journal.finish()
        #expect(!FileManager.default.fileExists(atPath: journal.path), "a finished run left its journal")
    }

    /// Replay: what is owed, the outcome, what may be frozen; a finished run that may still have a
    /// mount frozen keeps its journal, with nothing owed.
    @Test func replayGivesWhatTheRunStillOwes() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let (journal, dir) = try begun(tree, runId: "r2", taskId: "t2")
        for name in ["a", "b", "c"] {
            journal.preStarting(name, post: "/bin/\(name)", arguments: ["x"], timeout: .seconds(2))
        }
        #expect(journal.freezing(["/m1", "/m2"], rcuExpedited: "0") == nil)
        var state = try #require(RunJournal(directory: dir).leftover())
        #expect(state.runId == "r2" && state.taskId == "t2" && state.pid == getpid())
        #expect(state.owed.map(\.plugin) == ["a", "b", "c"] && state.owed[1].timeoutMs == 2000)
        #expect(state.mayBeFrozen == ["/m1", "/m2"] && state.rcuExpedited == "0" && state.unreadable == nil)
        journal.thawed()
        journal.outcomeKnown(outcome: .snapshotTaken, consistency: .filesystem)
        journal.postDone("c")
        journal.postDone("b")
        state = try #require(RunJournal(directory: dir).leftover())
        #expect(state.owed.map(\.plugin) == ["a"] && state.mayBeFrozen.isEmpty && state.rcuExpedited == nil)
        #expect(state.outcome == .snapshotTaken && state.consistency == .filesystem)

        // A FIFREEZE still in flight at the end: the journal stays, owing nothing but the thaw.
        journal.postDone("a")
        journal.freezing(["/m3"])
        journal.finish()
        state = try #require(RunJournal(directory: dir).leftover())
        #expect(state.owed.isEmpty && state.mayBeFrozen == ["/m3"] && state.finished == true)
        RunJournal(directory: dir).discard()
        #expect(RunJournal(directory: dir).leftover() == nil)
    }

    /// A post that could not finish its duty (`postLeftOwed`) stays owed, and the journal of the
    /// run that ended on its own is kept for it, with nothing frozen; a post done is not owed.
    @Test func aPostLeftOwedKeepsTheFinishedRunsJournal() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let (journal, dir) = try begun(tree, runId: "r3", taskId: "t3")
        journal.preStarting("db", post: nil, arguments: [], timeout: .seconds(2))
        journal.preStarting("app", post: "/bin/app", arguments: [], timeout: .seconds(2))
        journal.postDone("app")
        journal.postLeftOwed("db")
        journal.finish()
        let state = try #require(RunJournal(directory: dir).leftover(), "the journal was removed")
        #expect(state.owed.map(\.plugin) == ["db"] && state.mayBeFrozen.isEmpty && state.finished == true)
        // The next run on the same journal starts afresh: the left duty does not keep its journal.
        journal.begin(runId: "r4", taskId: "t4")
        journal.finish()
        #expect(RunJournal(directory: dir).leftover() == nil)
    }

    /// A replica stop is marked on its plugin's owed post (with how to reach the server, no
    /// secret); one whose owed post is not on disk is harmless, never "unreadable".
    @Test func aReplicaStopMarksItsOwedPostAndAStrayOneIsHarmless() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let (journal, dir) = try begun(tree, runId: "r3", taskId: "t3")
        #expect(journal.replicaStopping("ghost") == nil)
        let replica = JournalState.Replica(defaultsFile: "/etc/snaporch/my.cnf", socket: "/run/mysqld/mysqld.sock")
        journal.preStarting("db", post: nil, arguments: [], timeout: .seconds(2), replica: replica)
        #expect(journal.replicaStopping("db") == nil)
        journal.outcomeKnown(outcome: .snapshotTaken, consistency: .application)
        let state = try #require(RunJournal(directory: dir).leftover())
        #expect(state.unreadable == nil, "\(state.unreadable ?? "")")
        #expect(state.owed.map(\.plugin) == ["db"])
        #expect(state.owed.first?.replica == replica && state.owed.first?.replicaStopped == true)
        journal.discard()
    }

    /// A crash in the middle of a write leaves a torn last record: it is dropped, every record
    /// before it is kept, and the journal is not "unreadable".
    @Test(arguments: [8, 1])
    func aTornLastRecordIsDroppedAndEarlierRecordsKept(keepEvery: Int) throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let (journal, dir) = try begun(tree, runId: "r3", taskId: "t3")
        journal.preStarting("a", post: "/bin/a", arguments: [], timeout: .seconds(1))
        journal.preStarting("b", post: "/bin/b", arguments: [], timeout: .seconds(1))
        journal.finish()  // nothing frozen: removed; write the crash's file by hand instead
        var file = try #require(JournalRecord.begin(runId: "r3", taskId: "t3", pid: 7).line())
        file += try #require(JournalRecord.preStarting(owed("a")).line())
        file += try #require(JournalRecord.preStarting(owed("b")).line())
        let torn = try #require(JournalRecord.freezing(["/m1"], rcuExpedited: nil).line())
        // Cut anywhere inside the record (`keepEvery` thins the cuts), and a terminated garbage line.
        var cuts = Array(stride(from: 1, to: torn.count, by: keepEvery)).map { Array(torn.prefix($0)) }
        cuts.append(Array(torn.prefix(torn.count / 2)) + [0x0A])
        cuts.append([UInt8](repeating: 0, count: 37))
        for cut in cuts {
            tree.write("run/journal.jsonl", String(decoding: file + cut, as: UTF8.self), mode: 0o600)
            let state = try #require(RunJournal(directory: dir).leftover())
            #expect(state.unreadable == nil, "\(state.unreadable ?? "")")
            #expect(state.runId == "r3" && state.pid == 7 && state.owed.map(\.plugin) == ["a", "b"])
            #expect(state.mayBeFrozen.isEmpty)
        }
        // Only the torn record itself: a run that wrote nothing whole owes nothing.
        tree.write("run/journal.jsonl", String(decoding: torn.prefix(9), as: UTF8.self), mode: 0o600)
        #expect(RunJournal(directory: dir).leftover() == nil)
    }

    /// A record that cannot be parsed before the last one is corruption, not a torn write: the
    /// journal is unreadable, the records before it are kept (their posts are owed), and every
    /// mount the file names may be frozen.
    @Test func aCorruptRecordBeforeTheLastMakesTheJournalUnreadableButKeepsWhatCameBefore() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let dir = tree.path("run")
        try FileSystem.makeDirectory(dir, mode: 0o700)
        // A freezable mount of a made-up mount table (never a mount of this machine), named only
        // after the corrupt record. Only parsed here: nothing is thawed.
        let mount = tree.path("not-a-mount")
        let table = [
            MountEntry(
                mountID: 900, parentID: 1, device: "7:900", root: "/srv", mountPoint: mount, mountOptions: ["rw"],
                fsType: "ext4", source: "/dev/loop900", superOptions: ["rw"]),
            MountEntry(
                mountID: 901, parentID: 1, device: "7:901", root: "/srv", mountPoint: mount + "-unnamed",
                mountOptions: ["rw"], fsType: "ext4", source: "/dev/loop901", superOptions: ["rw"]),
        ]
        var file = try #require(JournalRecord.begin(runId: "r4", taskId: "t4", pid: 9).line())
        file += try #require(JournalRecord.preStarting(owed("a")).line())
        file += Array("{\"event\":\"preStarting\",\"owed\":{\"plugin\":\"b\"\n".utf8)
        file += try #require(JournalRecord.freezing([mount], rcuExpedited: nil).line())
        file += try #require(JournalRecord.postDone("a").line())
        tree.write("run/journal.jsonl", String(decoding: file, as: UTF8.self), mode: 0o600)
        let state = try #require(RunJournal(directory: dir, mountTable: { table }).leftover())
        #expect(state.unreadable?.contains("record 3") == true, "\(state.unreadable ?? "nil")")
        #expect(state.runId == "r4" && state.owed.map(\.plugin) == ["a"], "the records before were lost")
        #expect(state.mayBeFrozen == [mount], "only the mount the file names is to be thawed")

        // A log whose first record is not `begin` is not a journal of ours either.
        let notBegin = try #require(JournalRecord.postDone("a").line()) + #require(JournalRecord(.thawed).line())
        tree.write("run/journal.jsonl", String(decoding: notBegin, as: UTF8.self), mode: 0o600)
        #expect(RunJournal(directory: dir).leftover()?.unreadable?.contains("not 'begin'") == true)
    }

    /// The whole-state `journal.json` of an older version is still recovered, and discarded after.
    @Test func anOlderVersionsJournalIsStillRead() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let dir = tree.path("run")
        try FileSystem.makeDirectory(dir, mode: 0o700)
        var old = JournalState(runId: "r5", taskId: "t5", pid: 11)
        old.owed = [owed("a")]
        old.mayBeFrozen = ["/m1"]
        old.outcome = .noSnapshot
        tree.write("run/journal.json", String(decoding: try JSONEncoder().encode(old), as: UTF8.self), mode: 0o600)
        let journal = RunJournal(directory: dir)
        #expect(journal.leftover() == old)
        journal.discard()
        #expect(journal.leftover() == nil && !FileManager.default.fileExists(atPath: tree.path("run/journal.json")))
    }

    /// A journal that cannot be created takes no record, and says so when the freeze asks.
    @Test func aJournalThatCannotBeCreatedRefusesTheFreezeRecord() {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let journal = RunJournal(directory: tree.path("missing/run"))
        journal.begin(runId: "r6", taskId: "t6")
        journal.preStarting("a", post: "/bin/a", arguments: [], timeout: .seconds(1))
        let problem = journal.freezing(["/m1"])
        #expect(problem?.contains("journal") == true && problem?.contains("missing/run") == true, "\(problem ?? "nil")")
        journal.finish()
    }

    /// A symlink planted at the journal's path is replaced, never followed.
    @Test func aPlantedSymlinkIsNeverFollowed() throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let dir = tree.path("run")
        try FileSystem.makeDirectory(dir, mode: 0o700)
        let victim = tree.write("victim", "root only\n", mode: 0o600)
        symlink(victim, dir + "/journal.jsonl")
        let journal = RunJournal(directory: dir)
        journal.begin(runId: "r7", taskId: "t7")
        #expect(journal.freezing(["/m1"]) == nil)
        #expect(tree.read("victim") == "root only\n", "the journal was written through a planted symlink")
        #expect(RunJournal(directory: dir).leftover()?.mayBeFrozen == ["/m1"])
        journal.discard()
    }

    /// Records appended from many threads at once each land whole (the journal's lock).
    @Test func concurrentAppendsEachLandWhole() async throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let (journal, dir) = try begun(tree, runId: "r8", taskId: "t8")
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<50 {
                        journal.preStarting("p\(t)-\(i)", post: "/bin/true", arguments: [], timeout: .seconds(1))
                    }
                }
            }
        }
        let state = try #require(RunJournal(directory: dir).leftover())
        #expect(state.unreadable == nil && Set(state.owed.map(\.plugin)).count == 400)
        journal.discard()
    }

    /// Through the binary: a run with many plugins writes each journal byte about once — the bytes
    /// the process wrote by the time it reaches the post steps (`/proc/PID/io` wchar) stay within a
    /// small multiple of the journal's size. Rewriting the whole journal at every step writes about
    /// plugins/2 times its size.
    @Test func aRunWritesItsJournalOnceNotOncePerStep() async throws {
        let tree = TestTree("journal")
        defer { tree.cleanup() }
        let pre = tree.script(
            "etc/app/pre.sh", "[ \"$SNAPORCH_PLUGIN\" = p0 ] && echo $PPID > \(tree.path("orch.pid"))\nexit 0")
        let plugins = (0..<60).map { "  - name: p\($0)\n    pre: \(pre)\n    post: /bin/true\n" }.joined()
        let config = tree.write(
            "etc/app/c.yaml",
            "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\nplugins:\n" + plugins)
        var env = tree.environment
        env["SNAPORCH_FAULT_STOP_AT"] = "post"
        let run = Task { try await runCLI(["run", "--config", config, "--no-freeze", "--no-snapshot"], env: env) }
        let pid = try await waitForPid(in: tree.path("orch.pid"))
        var stopped = false
        for _ in 0..<2000 where !stopped {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if let close = stat.lastIndex(of: ")") { stopped = stat[stat.index(close, offsetBy: 2)] == "T" }
            if !stopped { try await Task.sleep(for: .milliseconds(10)) }
        }
        let io = (try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8)) ?? ""
        kill(pid, SIGKILL)
        _ = try await run.value
        try #require(stopped, "the run never reached its post steps")
        let written = io.split(separator: "\n").first { $0.hasPrefix("wchar:") }.flatMap {
            Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: tree.path("run/snaporch"))) ?? []
        let journalBytes = files.filter { $0.hasPrefix("journal.json") }.map {
            bytes(tree.path("run/snaporch/\($0)")).count
        }.reduce(0, +)
        let wchar = try #require(written, "no wchar in /proc/\(pid)/io: \(io)")
        #expect(journalBytes > 60 * 100, "the journal does not record 60 owed posts: \(journalBytes) bytes")
        #expect(wchar <= 2 * journalBytes + 64 * 1024, "wrote \(wchar) bytes for a journal of \(journalBytes)")
    }
}
