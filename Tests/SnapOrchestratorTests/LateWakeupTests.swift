import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapSystem

/// (Part of the serialized freeze suite.) Helpers that wake up late — stopped, in a paused VM, on a
/// busy CPU — until after their deadline still act on what reached them in time:
/// - the watchdog, disarmed in time, never thaws (the mount may be frozen by someone else by then,
///   the next run or qemu-ga, and a thaw would undo that freeze);
/// - the guard, told to thaw in time, does not call it a deadline and does not end the database
///   sessions it is the dead-man of.
/// Each stops itself at a fault point between two waits, where the deadline was last computed.
extension FreezeTests {
    @Test func aWatchdogDisarmedInTimeNeverThawsEvenWhenItWakesLate() async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            let watchdog = try helper(
                ["__watchdog", "--after-ms", "300", "--", m.mountPoint], stopAt: "watchdog-armed", in: fx.tree)
            defer { end(watchdog) }
            var replies = LineReader(fd: watchdog.stdoutFD)
            #expect(replies.readLine(timeoutMs: 5000) == "READY")
            try watchdog.writeStdin(Array(GuardCommand.arm.line.utf8))
            // It stops itself right after it started its clock, before it waits again.
            try await waitUntilStopped(watchdog.pid)
            try watchdog.writeStdin(Array(GuardCommand.disarm.line.utf8))
            // Someone else's freeze, taken after our run was done with the mount.
            let own = try FileDescriptor.openMount(m.mountPoint).get()
            defer { own.close() }
            #expect(own.freeze() == .done)
            try await Task.sleep(for: .milliseconds(600))  // past the watchdog's deadline
            watchdog.signal(SIGCONT)
            let status = await offload { watchdog.wait(upTo: .seconds(5)) }
            #expect(status == .exited(0))
            var rest: [String] = []
            while let line = replies.readLine(timeoutMs: 1000) { rest.append(line) }
            #expect(rest.isEmpty, "the watchdog acted after it was disarmed: \(rest)")
            // Still frozen (by the other party): only our own FITHAW ends it.
            #expect(own.thaw() == .done, "the other party's freeze was thawed by the disarmed watchdog")
        }
    }

    @Test func aGuardToldToThawInTimeIsNoDeadManEvenWhenItWakesLate() async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            let holder = try lockHolder()
            defer { endLockHolder(holder) }
            let guardProcess = try helper(
                ["__guard", "--timeout-ms", "300", "--", m.mountPoint], stopAt: "guard-frozen", in: fx.tree)
            defer { end(guardProcess) }
            var replies = LineReader(fd: guardProcess.stdoutFD)
            #expect(replies.readLine(timeoutMs: 5000) == "READY")
            try guardProcess.writeStdin(
                Array((GuardCommand.endAtDeadline(processGroup: holder.pid).line + GuardCommand.freeze.line).utf8))
            var froze: [String] = []
            while let line = replies.readLine(timeoutMs: 5000) {
                froze.append(line)
                if GuardReply(line: line) == .frozen { break }
            }
            let frozen = froze.contains {
                if case .froze(0, 0, _) = GuardReply(line: $0) { return true }
                return false
            }
            try #require(frozen, "\(froze)")
            // Stopped after its FROZEN report, before it waits for the thaw command.
            try await waitUntilStopped(guardProcess.pid)
            try guardProcess.writeStdin(Array(GuardCommand.thaw.line.utf8))
            try await Task.sleep(for: .milliseconds(600))  // past the guard's deadline
            guardProcess.signal(SIGCONT)
            var lines: [String] = []
            while let line = replies.readLine(timeoutMs: 5000) {
                lines.append(line)
                if GuardReply(line: line) == .done { break }
            }
            #expect(lines.contains { GuardReply(line: $0) == .thawed(index: 0, errno: 0) }, "\(lines)")
            #expect(
                !lines.contains { GuardReply(line: $0) == .deadline }, "a thaw sent in time was a deadline: \(lines)")
            #expect(
                holder.wait(upTo: .milliseconds(300)) == nil,
                "the dead-man ended a session though the thaw came in time")
            #expect(await writeCompletes(in: m.mountPoint, within: 3))
        }
    }

    /// Starts `snaporch <arguments>` (the guard or the watchdog) in the test's tree with a command
    /// pipe, set to stop itself at the fault point `stopAt`.
    private func helper(_ arguments: [String], stopAt: String, in tree: TestTree) throws -> ChildProcess {
        try ChildProcess.spawn(
            executable: TestEnv.snaporch, arguments: arguments, environment: ["SNAPORCH_FAULT_STOP_AT": stopAt],
            workingDirectory: tree.root, stdinPipe: true)
    }

    /// Continues, kills and reaps a helper (it may still be stopped).
    private func end(_ child: ChildProcess) {
        child.signal(SIGCONT)
        child.signal(SIGKILL)
        _ = child.wait(upTo: .seconds(5))
        child.closePipes()
    }
}
