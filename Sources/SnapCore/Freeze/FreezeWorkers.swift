import Dispatch
import SnapSystem
import Synchronization

/// One pre-started thread per mount, parked until the window opens, so that FIFREEZE runs on
/// every filesystem of a wave at the same time and no thread is created inside the window. Each
/// runs on a 64 KiB stack locked in memory (`LockedStackThread`), not on Foundation's `Thread`.
///
/// Safety contract: a FIFREEZE cannot be cancelled (it sleeps uninterruptibly in the kernel). A
/// worker whose FIFREEZE is still running at the deadline is *abandoned*: the moment its FIFREEZE
/// returns, the worker itself thaws that filesystem, so a late freeze never stays in place.
final class FreezeWorkers: Sendable {
    /// Per-mount state, shared by the owner and the workers.
    private struct Slots {
        /// errno of FIFREEZE, -1 while it runs.
        var results: [Int32]
        var micros: [UInt64]
        /// Set by the owner at the deadline: the worker thaws by itself when FIFREEZE returns.
        var abandoned: [Bool]
        /// errno of the worker's own FITHAW after a late FIFREEZE (-1: none made).
        var lateThaw: [Int32]
        /// False for a mount without a worker (no descriptor, or its thread could not start).
        var started: [Bool]
    }

    private let fds: [FileDescriptor?]
    private let go: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    /// Signalled by each worker once it is parked (its code has run once).
    private let parked = DispatchSemaphore(value: 0)
    private let slots: Mutex<Slots>

    init(fds: [FileDescriptor?]) {
        self.fds = fds
        go = fds.map { _ in DispatchSemaphore(value: 0) }
        let n = fds.count
        slots = Mutex(
            Slots(
                results: .init(repeating: -1, count: n), micros: .init(repeating: 0, count: n),
                abandoned: .init(repeating: false, count: n), lateThaw: .init(repeating: -1, count: n),
                started: fds.map { $0 != nil }))
        var workers = 0
        for i in fds.indices where fds[i] != nil {
            let running = LockedStackThread.start { [self] in
                // Run the worker's own code once (a FIFREEZE on no descriptor fails with EBADF), so
                // that its pages are present when the guard locks them, then park.
                _ = FileDescriptor(borrowing: -1).freeze()
                _ = slots.withLock { $0.results.count } + Int(Sys.monotonicNanos() & 1)
                parked.signal()
                go[i].wait()
                let t = Sys.monotonicNanos()
                let e = self.fds[i]!.freeze().errnoValue
                let took = (Sys.monotonicNanos() - t) / 1000
                let abandoned = slots.withLock { s -> Bool in
                    s.results[i] = e
                    s.micros[i] = took
                    return s.abandoned[i]
                }
                if abandoned && e == 0 {
                    // Nobody waits for this freeze any more: undo it at once.
                    let thawed = self.fds[i]!.thaw().errnoValue
                    slots.withLock { $0.lateThaw[i] = thawed }
                }
                done.signal()
            }
            if running { workers += 1 } else { slots.withLock { $0.started[i] = false } }
        }
        // Wait (bounded) until every worker is parked: then all of their code has been touched.
        for _ in 0..<workers { _ = parked.wait(timeout: .now() + .seconds(2)) }
    }

    /// Freezes wave by wave; every mount of a wave at once, each wave bounded by `deadline`
    /// (monotonic ns). A FIFREEZE still running at the deadline reports ETIMEDOUT, is abandoned
    /// (its worker thaws when it returns, see `awaitLate`) and later waves are not started.
    /// Returns errno and microseconds per mount, and the mounts still in flight.
    package func freeze(waves: [Int], deadline: UInt64) -> (errno: [Int32], micros: [UInt64], pending: [Int]) {
        let last = waves.max() ?? 0
        // A mount whose worker could not start is never frozen: EAGAIN.
        let started = slots.withLock { $0.started }
        var errnos = fds.indices.map { fds[$0] != nil && !started[$0] ? Errno.wouldBlock.rawValue : -1 }
        for wave in 0...last {
            let members = fds.indices.filter { started[$0] && (waves.indices.contains($0) ? waves[$0] : 0) == wave }
            for i in members { go[i].signal() }
            var finished = 0
            while finished < members.count {
                let now = Sys.monotonicNanos()
                guard now < deadline, done.wait(timeout: .now() + .nanoseconds(Int(deadline - now))) == .success else {
                    break
                }
                finished += 1
            }
            if finished < members.count {
                // Stuck in the kernel: decide under the lock who is late, so that a worker returning at
                // this very instant is either counted as done or thaws by itself, never neither.
                let (pending, snapshot) = slots.withLock { s -> ([Int], Slots) in
                    let late = members.filter { s.results[$0] == -1 }
                    for i in late { s.abandoned[i] = true }
                    return (late, s)
                }
                for i in members { errnos[i] = pending.contains(i) ? Errno.timedOut.rawValue : snapshot.results[i] }
                // Signals of finished workers that were not counted are absorbed by `awaitLate`.
                return (errnos, snapshot.micros, pending)
            }
            let results = slots.withLock { $0.results }
            for i in members { errnos[i] = results[i] }
        }
        return (errnos, slots.withLock { $0.micros }, [])
    }

    /// A late FIFREEZE, once it returned: its errno, how long it took, and the worker's FITHAW errno
    /// (-1 when it did not freeze, so there was nothing to thaw).
    struct Late: Sendable, Hashable {
        var index: Int
        var freezeErrno: Int32
        var micros: UInt64
        var thawErrno: Int32
    }

    /// Waits for every abandoned FIFREEZE to return, calling `report` as each one does (its worker
    /// has already thawed it). There is deliberately no deadline: a FIFREEZE cannot be cancelled,
    /// and the process that issued it must still be there to thaw when it returns.
    func awaitLate(_ pending: [Int], report: (Late) -> Void) {
        var left = Set(pending)
        while !left.isEmpty {
            done.wait()
            let s = slots.withLock { $0 }
            for i in left where s.results[i] != -1 && (s.results[i] != 0 || s.lateThaw[i] != -1) {
                left.remove(i)
                report(Late(index: i, freezeErrno: s.results[i], micros: s.micros[i], thawErrno: s.lateThaw[i]))
            }
        }
    }
}
