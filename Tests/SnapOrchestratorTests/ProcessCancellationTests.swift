import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapSystem

/// Cancelling the task that awaits a child tears the child's whole group down (TERM, grace, KILL)
/// instead of leaving it to run to its time limit.
@Suite(.timeLimit(.minutes(1)))
struct ProcessCancellationTests {
    /// A script that writes its pid, and a grandchild's, then waits far past any test's patience.
    func spec(_ dir: String, ignoreTerm: Bool) -> ProcessSpec {
        let trap = ignoreTerm ? "trap '' TERM; " : ""
        var s = ProcessSpec(
            executable: "/bin/sh",
            arguments: ["-c", "\(trap)sleep 120 & echo $! > \(dir)/grandchild; echo $$ > \(dir)/child; wait"],
            environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(60))
        s.killGrace = .milliseconds(300)
        return s
    }

    func pid(_ path: String) async throws -> pid_t {
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("\(path) was never written")
    }

    @Test(arguments: [false, true])
    func cancellingTheAwaitingTaskEndsTheWholeGroupPromptly(ignoreTerm: Bool) async throws {
        let dir = NSTemporaryDirectory() + "cancel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = spec(dir, ignoreTerm: ignoreTerm)
        let task = Task { try await PosixProcessLauncher().run(spec) }
        let child = try await pid("\(dir)/child")
        let grandchild = try await pid("\(dir)/grandchild")
        defer {
            // Cleanup after a failure: the child leads its own group.
            if ProcessLiveness.groupHasLiveMembers(child) { kill(-child, SIGKILL) }
        }
        let start = ContinuousClock.now
        task.cancel()
        let outcome = try await task.value
        let took = ContinuousClock.now - start
        #expect(took < .seconds(5), "the child ran on after the cancellation: \(took)")
        #expect(outcome.timedOut, "the teardown is the time limit's")
        #expect(outcome.killed == ignoreTerm)
        // The group is gone, the grandchild too (a zombie an init does not reap counts as gone).
        var alive = ProcessLiveness.isAlive(grandchild)
        for _ in 0..<100 where alive {
            try await Task.sleep(for: .milliseconds(20))
            alive = ProcessLiveness.isAlive(grandchild)
        }
        #expect(!alive, "the grandchild \(grandchild) survived the teardown")
    }
}
