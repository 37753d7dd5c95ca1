import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// The run lock's errors are typed: only "held by another run" is worth waiting for.
@Suite(.timeLimit(.minutes(1)))
struct RunLockTests {
    @Test func aHeldLockNamesItsHolderAndIsWaitedFor() async throws {
        let tree = TestTree("lock")
        defer { tree.cleanup() }
        let dir = tree.path("run")
        let first = try RunLock.acquire(directory: dir)
        let start = ContinuousClock.now
        do {
            _ = try await RunLock.acquire(directory: dir, waitUpTo: .milliseconds(400))
            Issue.record("a second lock was granted")
        } catch {
            #expect(error == .held(path: dir + "/lock", holder: String(getpid())))
            #expect(error.isHeld && error.message.contains("(pid \(getpid()))"))
            #expect(ContinuousClock.now - start >= .milliseconds(400), "a held lock is waited for")
        }
        withExtendedLifetime(first) {}
    }

    @Test func aLockThatCannotBeMadeFailsAtOnce() async throws {
        let tree = TestTree("lock")
        defer { tree.cleanup() }
        let file = tree.write("not-a-directory", "x")
        let start = ContinuousClock.now
        do {
            _ = try await RunLock.acquire(directory: file + "/run", waitUpTo: .seconds(5))
            Issue.record("a lock under a regular file was granted")
        } catch {
            guard case .cannotCreate(let directory, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(directory == file + "/run" && !error.isHeld)
            #expect(error.message.hasPrefix("cannot create \(file)/run: "))
            #expect(ContinuousClock.now - start < .seconds(2), "nothing to wait for")
        }
    }
}
