import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized freeze suite.) The guard's dead-man: the process groups it is given
/// (database clients holding a lock) are killed right after its own thaw at the deadline, and only
/// then — never when the caller thaws in time.
extension FreezeTests {
    @Test(arguments: [false, true])
    func theGuardEndsHoldingProcessGroupsOnlyAtTheDeadline(thawInTime: Bool) async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            let holder = try lockHolder()
            defer { endLockHolder(holder) }
            // In time: a deadline that a loaded CI machine cannot miss between freeze and thaw (with
            // 800 ms the test's own thaw once came late while every suite was starting).
            let session = try GuardedFreezer(executable: TestEnv.snaporch).prepare(
                entries([m]), timeout: .milliseconds(thawInTime ? 5000 : 800))
            session.endAtDeadline(processGroups: [holder.pid])
            let results = await offload { session.freeze() }
            #expect(results.map(\.errno) == [0])
            if !thawInTime { try await Task.sleep(for: .milliseconds(1500)) }
            let thaw = await offload { session.thaw() }
            await offload { session.finish() }
            #expect(thaw.results[m.mountPoint] == 0)
            if thawInTime {
                #expect(!thaw.deadlineHit && thaw.deadmanEnded.isEmpty)
                #expect(
                    holder.wait(upTo: .milliseconds(300)) == nil, "the holder was killed though the thaw came in time")
            } else {
                #expect(thaw.deadlineHit && !thaw.guardLost)
                #expect(thaw.deadmanEnded == [holder.pid])
                #expect(holder.wait(upTo: .seconds(5)) == .signaled(SIGKILL))
            }
        }
    }

    /// A stand-in for a database client that holds a lock: a `sleep` leading its own process group.
    func lockHolder() throws -> ChildProcess {
        try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["30"], environment: [:])
    }

    /// Kills and reaps a `lockHolder()` (its whole process group).
    func endLockHolder(_ holder: ChildProcess) {
        holder.signalGroup(SIGKILL)
        _ = holder.wait(upTo: .seconds(5))
        holder.closePipes()
    }
}
