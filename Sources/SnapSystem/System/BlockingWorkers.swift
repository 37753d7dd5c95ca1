import Dispatch
import Synchronization

/// The threads that run blocking work (`offload`, the supervision of each child process): parked
/// between jobs and reused, instead of a new thread for every job.
///
/// A job is handed to a parked worker when there is one and to a new worker otherwise, so a job
/// never waits behind another (a blocked job must not hold up a thaw). A worker that finishes
/// parks again; beyond `maxParked` parked workers, or after `idleLimit` without a job, it exits.
package final class BlockingWorkers: Sendable {
    /// The process's workers.
    package static let shared = BlockingWorkers(maxParked: 4, idleLimit: .seconds(30))

    private let maxParked: Int
    private let idleLimit: Duration
    private let parked = Mutex<[Worker]>([])
    private let started = Atomic<Int>(0)

    /// A pool that keeps up to `maxParked` idle workers, each for up to `idleLimit`.
    package init(maxParked: Int, idleLimit: Duration) {
        self.maxParked = maxParked
        self.idleLimit = idleLimit
    }

    /// Threads started so far (a measure for tests: reuse keeps it flat).
    package var threadsStarted: Int { started.load(ordering: .relaxed) }

    /// Runs `job` on a worker thread; returns at once.
    package func run(_ job: @escaping @Sendable () -> Void) {
        if let worker = parked.withLock({ $0.popLast() }) {
            worker.assign(job)
            return
        }
        started.add(1, ordering: .relaxed)
        let worker = Worker()
        worker.assign(job)
        guard DetachedThread.start(name: "snaporch-worker", stackBytes: 512 * 1024, { [self] in worker.loop(in: self) })
        else {
            // No thread to be had (EAGAIN at the task limit): run the job here rather than never.
            job()
            return
        }
    }

    /// Parks `worker` after a job; false when it should exit instead.
    fileprivate func park(_ worker: Worker) -> Bool {
        parked.withLock { list in
            guard list.count < maxParked else { return false }
            list.append(worker)
            return true
        }
    }

    /// Takes `worker` out of the parked list after its idle time; false when a job is already on
    /// its way to it (it must then wait for that job).
    fileprivate func retire(_ worker: Worker) -> Bool {
        parked.withLock { list in
            guard let index = list.firstIndex(where: { $0 === worker }) else { return false }
            list.remove(at: index)
            return true
        }
    }

    fileprivate var idleTimeout: DispatchTime {
        let (seconds, attoseconds) = idleLimit.components
        return .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }
}

/// One worker thread: a job slot and the semaphore it sleeps on.
private final class Worker: Sendable {
    private let job = Mutex<(@Sendable () -> Void)?>(nil)
    private let wake = DispatchSemaphore(value: 0)

    func assign(_ work: @escaping @Sendable () -> Void) {
        job.withLock { $0 = work }
        wake.signal()
    }

    /// Runs jobs until the pool lets the thread go. Runs on its own thread only (blocks).
    func loop(in pool: BlockingWorkers) {
        while true {
            if wake.wait(timeout: pool.idleTimeout) == .timedOut {
                if pool.retire(self) { return }
                wake.wait()  // a job was assigned just as the idle time ran out
            }
            if let work = job.withLock({ slot -> (@Sendable () -> Void)? in
                defer { slot = nil }
                return slot
            }) {
                work()
            }
            if !pool.park(self) { return }
        }
    }
}
