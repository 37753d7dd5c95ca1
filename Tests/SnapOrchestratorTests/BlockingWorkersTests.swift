import Dispatch
import Foundation
import Synchronization
import Testing

@testable import SnapSystem

/// Blocking work runs on parked, reused threads, and a job never waits behind a blocked one.
@Suite(.timeLimit(.minutes(1)))
struct BlockingWorkersTests {
    @Test func sequentialJobsReuseOneThread() async {
        let pool = BlockingWorkers(maxParked: 2, idleLimit: .seconds(10))
        for i in 0..<50 {
            let value = await withCheckedContinuation { continuation in
                pool.run { continuation.resume(returning: i * 2) }
            }
            #expect(value == i * 2)
        }
        // The worker parks before the next job arrives almost always; a few more at most.
        #expect(pool.threadsStarted <= 3, "\(pool.threadsStarted) threads for 50 sequential jobs")
    }

    @Test func aBlockedJobDoesNotHoldUpTheNext() async {
        let pool = BlockingWorkers(maxParked: 1, idleLimit: .seconds(10))
        let gate = DispatchSemaphore(value: 0)
        let released = SharedFlag()
        pool.run {
            gate.wait()
            released.value.store(true, ordering: .relaxed)
        }
        let second = await withCheckedContinuation { continuation in
            pool.run { continuation.resume(returning: released.value.load(ordering: .relaxed)) }
        }
        #expect(second == false, "the second job ran while the first was still blocked")
        gate.signal()
    }

    @Test func idleWorkersExit() async throws {
        let pool = BlockingWorkers(maxParked: 4, idleLimit: .milliseconds(50))
        await withCheckedContinuation { continuation in pool.run { continuation.resume() } }
        try await Task.sleep(for: .milliseconds(300))
        // The parked worker retired: the next job needs a new thread.
        await withCheckedContinuation { continuation in pool.run { continuation.resume() } }
        #expect(pool.threadsStarted == 2)
    }
}

/// The threads behind the workers: plain POSIX threads, named for `ps -L` and `perf`.
@Suite(.timeLimit(.minutes(1)))
struct DetachedThreadTests {
    @Test func aJobRunsOnANamedWorkerThread() async {
        let pool = BlockingWorkers(maxParked: 1, idleLimit: .seconds(10))
        let name = await withCheckedContinuation { continuation in
            pool.run {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                continuation.resume(returning: comm.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        #expect(name == "snaporch-worker")
    }

    @Test func aThreadStartsRunsItsBodyAndKeepsAtMostFifteenBytesOfItsName() async {
        let name = await withCheckedContinuation { continuation in
            let started = DetachedThread.start(name: "snaporch-a-very-long-name", stackBytes: 64 << 10) {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                continuation.resume(returning: comm.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(started)
        }
        #expect(name == "snaporch-a-very")
    }

    @Test func manyShortThreadsComeAndGo() async {
        // Detached threads release their stacks when they return: 200 of them in a row must not
        // run into a limit.
        for i in 0..<200 {
            let value = await withCheckedContinuation { continuation in
                let started = DetachedThread.start(name: "t\(i)", stackBytes: 128 << 10) {
                    continuation.resume(returning: i)
                }
                if !started { continuation.resume(returning: -1) }
            }
            #expect(value == i)
        }
    }
}

/// A flag shared with a job.
private final class SharedFlag: Sendable {
    let value = Atomic<Bool>(false)
}
