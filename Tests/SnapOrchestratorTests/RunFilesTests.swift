import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The files a run depends on: the journal (full `/run`, unreadable journal), the `--report` file
/// (planted symlinks, mode, temp files left by a kill), the RCU lock file.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RunFilesTests {
    /// `/run` full: the journal cannot be written, so the run refuses to freeze (nobody could thaw
    /// after a crash); the snapshot is crash-consistent and says why.
    @Test(.enabled(if: TestEnv.rootTests, TestEnv.rootReason))
    func aJournalThatCannotBeWrittenRefusesTheFreeze() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let run = try await fx.tmpfs("run/snaporch")
            _ = try await sh("dd if=/dev/zero of=\(ShellQuote.quote(run))/filler bs=64k 2>/dev/null; true")
            let config = FreezeTests().writeConfig(tree, snapshot: "true", timeout: "5s")
            let r = try await runCLI(
                ["run", "--config", config, "--mount", m.mountPoint, "--json"], env: FreezeTests().env(tree, [m]))
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            #expect(report.freeze.mounts.allSatisfy { !$0.frozen }, "froze without a journal")
            #expect(report.freeze.error?.contains("refusing to freeze") == true, "\(report.freeze.error ?? "")")
            #expect(report.freeze.error?.contains("journal") == true)
            #expect(report.consistency == .crash && r.code == 3, "\(r.stderr)")
            #expect(tree.read("order.log")?.hasSuffix("post snapshot-taken crash\n") == true)
        }
    }

    /// A journal that cannot be parsed is not "nothing to recover": every mount it names is thawed.
    @Test(.enabled(if: TestEnv.rootTests, TestEnv.rootReason))
    func anUnreadableJournalThawsEveryMountItNames() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let name = String(decoding: try JSONEncoder().encode(m.mountPoint), as: UTF8.self)
            tree.write("run/snaporch/journal.json", "{\"runId\":\"r1\",\"mayBeFrozen\":[\(name)", mode: 0o600)
            _ = try await sh("fsfreeze -f \(ShellQuote.quote(m.mountPoint))")
            let r = try await runCLI(["recover"], env: FreezeTests().env(tree, [m]))
            #expect(r.stdout.contains("unreadable"), "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("thaw \(m.mountPoint): thawed"), "\(r.stdout)")
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "the mount named by the journal is still frozen")
            #expect(tree.read("run/snaporch/journal.json") == nil, "the unreadable journal was left in place")
        }
    }

    /// Symlinks planted at every temp name the old code could pick are never followed, and the
    /// report is 0600.
    @Test func reportIsWrittenWithoutFollowingPlantedSymlinksAndIsPrivate() async throws {
        let tree = TestTree("rep")
        defer { tree.cleanup() }
        let victim = tree.write("victim", "root only\n", mode: 0o600)
        let out = tree.path("pub")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let last =
            Int(
                (try? String(contentsOfFile: "/proc/sys/kernel/ns_last_pid", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        for pid in (last + 1)...(last + 3000) { symlink(victim, "\(out)/report.json.tmp.\(pid)") }
        let config = tree.write(TestConfig(plugins: []))
        let r = try await runCLI(["run", "--config", config, "--report", out + "/report.json"], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(tree.read("victim") == "root only\n", "the report was written through a planted symlink")
        var st = stat()
        #expect(lstat(out + "/report.json", &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
        #expect(st.st_mode & 0o777 == 0o600, "report mode \(String(st.st_mode & 0o777, radix: 8))")
    }

    /// A run killed while its report's temp file exists leaves it behind; the next write removes it.
    @Test func tempFilesLeftByAKilledRunAreRemoved() async throws {
        let tree = TestTree("rep")
        defer { tree.cleanup() }
        let out = tree.path("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let config = tree.write(TestConfig(plugins: []))
        var env = tree.environment
        env["SNAPORCH_FAULT_STOP_AT"] = "report-temp"
        let temps = {
            (try? FileManager.default.contentsOfDirectory(atPath: out))?.filter { $0.contains(".tmp.") } ?? []
        }
        let run = Task { try await runCLI(["run", "--config", config, "--report", out + "/report.json"], env: env) }
        for _ in 0..<1000 where temps().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        try #require(!temps().isEmpty, "the run never reached its report's temp file")
        // The writer is stopped at the seam: kill it there, as a crash would.
        let pid = try #require(temps().first.flatMap { Int32($0.split(separator: ".")[3]) })
        kill(pid, SIGKILL)
        _ = try await run.value
        let next = try await runCLI(
            ["run", "--config", config, "--report", out + "/report.json"], env: tree.environment)
        #expect(next.code == 0, "\(next.stderr)")
        #expect(temps().isEmpty, "left behind: \(temps())")
    }

    /// A dangling symlink at the RCU lock path is never followed (nothing is created where it points,
    /// the knob is not touched), and a stale "1" in the lock file is never written to the knob.
    @Test(.enabled(if: TestEnv.isRoot, "needs root"))
    func theRCULockIsNeverFollowedAndAStaleOneIsNeverRestored() throws {
        let tree = TestTree("rcu")
        defer { tree.cleanup() }
        let lock = tree.path("rcu.lock")
        let target = tree.path("elsewhere")
        symlink(target, lock)
        let before = settledKnob()
        #expect(!RCUExpedite(lockPath: lock).enable(), "locked through a dangling symlink")
        #expect(!FileManager.default.fileExists(atPath: target), "the symlink was followed")
        #expect(!RCUExpedite.heal(waitUpTo: .milliseconds(100), lockPath: lock))
        // A stale "1" (left by an older version whose knob was 1) must not be written back.
        unlink(lock)
        tree.write("rcu.lock", "1", mode: 0o600)
        guard before == "0" else { return }
        // Other tests freeze in parallel, each with its expedited instant (and one stops a guard
        // inside it): the locks may be busy for seconds, and the knob read under its lock only.
        #expect(RCUExpedite.heal(waitUpTo: .seconds(10), lockPath: lock))
        let after = settledKnob()
        if after == "1" { _ = try? "0".write(toFile: RCUExpedite.path, atomically: false, encoding: .utf8) }
        #expect(after == before, "a stale '1' in the lock file was written to the knob")
    }

    /// The knob read under its flock, which every expedited instant holds (waiting up to 10 s for
    /// one to end): "0" or "1", nil when it cannot be read or the lock not had.
    func settledKnob() -> String? {
        let fd = open(RCUExpedite.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let end = Date().addingTimeInterval(10)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard Date() < end else { return nil }
            usleep(2000)
        }
        defer { flock(fd, LOCK_UN) }
        var byte: UInt8 = 0
        return pread(fd, &byte, 1, 0) == 1 ? String(UnicodeScalar(byte)) : nil
    }
}
