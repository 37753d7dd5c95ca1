import Foundation
import Glibc
import Testing

@testable import SnapSystem

/// The one child-process type against real processes: teardown, waits with a deadline, the group,
/// the pipes.
@Suite(.timeLimit(.minutes(1)))
struct ChildProcessTests {
    /// Starts `/bin/sh -c script` (stdin a pipe when asked).
    func shell(_ script: String, stdinPipe: Bool = false) throws -> ChildProcess {
        try ChildProcess.spawn(
            executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
            stdinPipe: stdinPipe)
    }

    /// Reads stdout until it holds a complete line (bounded); the lines read so far.
    func lines(_ child: ChildProcess, count: Int = 1, within seconds: Double = 10) -> [String] {
        var text: [UInt8] = []
        let end = Sys.monotonicNanos() + UInt64(seconds * 1e9)
        while text.filter({ $0 == 0x0A }).count < count, Sys.monotonicNanos() < end {
            guard child.readOutput(from: [.stdout], until: end, { text += $1 }) == .progressed else { break }
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The state letter of `/proc/PID/stat` (`T` for stopped), or nil when gone.
    func procState(_ pid: Int32) -> Character? {
        guard let text = ProcFile.text("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(close, offsetBy: 2)]
    }

    @Test func aChildIgnoringTermIsKilledAfterTheGrace() throws {
        let child = try shell("trap '' TERM; echo ready; while :; do sleep 1; done")
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        #expect(lines(child) == ["ready"])
        let start = Sys.monotonicNanos()
        let status = child.terminate(.gracefulShutdown(grace: .milliseconds(600)))
        let elapsedMs = (Sys.monotonicNanos() - start) / 1_000_000
        #expect(status == .signaled(SIGKILL))
        #expect(elapsedMs >= 600, "killed after \(elapsedMs) ms: before the grace was over")
        #expect(elapsedMs < 5000, "took \(elapsedMs) ms")
    }

    @Test func aCooperativeChildEndsBySigtermWithoutTheKill() throws {
        let child = try shell("echo ready; exec sleep 30")
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        #expect(lines(child) == ["ready"])
        let start = Sys.monotonicNanos()
        let status = child.terminate(.gracefulShutdown(grace: .seconds(20)))
        #expect(status == .signaled(SIGTERM))
        #expect((Sys.monotonicNanos() - start) / 1_000_000 < 5000, "waited for the grace although it ended")
    }

    @Test func theWaitDeadlineHoldsAgainstAStoppedChild() throws {
        let child = try shell("exec sleep 30")
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        child.signal(SIGSTOP)
        let stopBy = Sys.monotonicNanos() + 5_000_000_000
        while procState(child.pid) != "T" && Sys.monotonicNanos() < stopBy { usleep(5000) }
        #expect(procState(child.pid) == "T", "the child did not stop")
        let start = Sys.monotonicNanos()
        let status = child.wait(upTo: .milliseconds(300))
        let elapsedMs = (Sys.monotonicNanos() - start) / 1_000_000
        #expect(status == nil)
        #expect(elapsedMs >= 300 && elapsedMs < 2000, "the 300 ms wait took \(elapsedMs) ms")
        // SIGTERM stays pending while the child is stopped: only the SIGKILL after the grace ends it.
        #expect(child.terminate(.gracefulShutdown(grace: .milliseconds(200))) == .signaled(SIGKILL))
    }

    @Test func theGroupSignalReachesTheGrandchildTheLeaderSignalDoesNot() throws {
        let child = try shell("sleep 300 & echo $!; wait")
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        let grandchild = try #require(lines(child).first.flatMap { Int32($0) })
        // The leader alone: the shell ends, its background child stays (re-parented, same group).
        child.signal(SIGTERM)
        #expect(child.wait(upTo: .seconds(5)) == .signaled(SIGTERM))
        #expect(processAlive(grandchild), "the grandchild died with its parent: nothing left to test")
        // The group, after the leader was reaped: the grandchild dies too.
        child.signalGroup(SIGKILL)
        let end = Sys.monotonicNanos() + 5_000_000_000
        while processAlive(grandchild) && Sys.monotonicNanos() < end { usleep(5000) }
        #expect(!processAlive(grandchild), "grandchild \(grandchild) survived the group signal")
    }

    @Test func aReapedChildIsNeverSignalledAgain() throws {
        let child = try shell("exit 3")
        #expect(child.wait(upTo: .seconds(5)) == .exited(3))
        // Its pid may name another process by now: a leader signal is dropped, the status stays.
        child.signal(SIGKILL)
        #expect(child.terminate(.gracefulShutdown(grace: .milliseconds(100))) == .exited(3))
        #expect(child.exitStatus == .exited(3) && child.reapedAt != nil)
    }

    @Test func stdinStdoutAndStderrArePipes() throws {
        let child = try shell(
            "while read line; do echo \"got $line\"; echo \"err $line\" >&2; done; exit 4", stdinPipe: true)
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        try child.writeStdin(Array("one\ntwo\n".utf8))
        #expect(lines(child, count: 2) == ["got one", "got two"])
        child.closeStdin()
        #expect(child.wait(upTo: .seconds(5)) == .exited(4))
        var errors: [UInt8] = []
        while child.readOutput(from: [.stderr], until: Sys.monotonicNanos() + 2_000_000_000, { errors += $1 })
            == .progressed
        {}
        #expect(String(decoding: errors, as: UTF8.self) == "err one\nerr two\n")
        #expect(!child.isOpen(.stderr))
        #expect(throws: SystemError.self) { try child.writeStdin([0x0A]) }
    }

    @Test func aReadDeadlineHoldsAgainstASilentChild() throws {
        let child = try shell("exec sleep 30")
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        let start = Sys.monotonicNanos()
        let progress = child.readOutput(until: start + 300_000_000) { _, _ in }
        let elapsedMs = (Sys.monotonicNanos() - start) / 1_000_000
        #expect(progress == .timedOut)
        #expect(elapsedMs >= 290 && elapsedMs < 2000, "the 300 ms read took \(elapsedMs) ms")
    }

    @Test func onlyThePipesAreInheritedAndTheChildLeadsItsGroup() throws {
        let child = try shell("ls /proc/self/fd | wc -l; ps -o pgid= -p $$ | tr -d ' '")
        defer { child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(5))]) }
        let out = lines(child, count: 2)
        // fds 0, 1, 2 and the one `ls` opens for /proc/self/fd.
        #expect(out.first == "4", "\(out)")
        #expect(out.last == String(child.pid))
    }
}
