import Foundation
import Glibc

/// One pre-started thread per mount, parked until the window opens, so that FIFREEZE runs on
/// every filesystem of a wave at the same time and no thread is created inside the window.
final class FreezeWorkers: @unchecked Sendable {
    private let fds: [Int32]
    private let go: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    /// Written by worker i only, read by the owner after `done`: no two threads touch one slot.
    private let results: UnsafeMutableBufferPointer<Int32>
    private let micros: UnsafeMutableBufferPointer<UInt64>

    init(fds: [Int32]) {
        self.fds = fds
        go = fds.map { _ in DispatchSemaphore(value: 0) }
        results = .allocate(capacity: max(fds.count, 1))
        results.initialize(repeating: -1)
        micros = .allocate(capacity: max(fds.count, 1))
        micros.initialize(repeating: 0)
        for i in fds.indices where fds[i] >= 0 {
            let thread = Thread { [self] in
                go[i].wait()
                let t = Sys.monotonicNanos()
                results[i] = FreezeIoctl.freeze(self.fds[i])
                micros[i] = (Sys.monotonicNanos() - t) / 1000
                done.signal()
            }
            thread.stackSize = 64 * 1024
            thread.start()
        }
    }

    /// Freezes wave by wave; every mount of a wave at once, each wave bounded by `deadline`
    /// (monotonic ns). A FIFREEZE still running at the deadline reports ETIMEDOUT and later waves
    /// are not started. Returns errno and microseconds per mount, and the mounts still pending.
    func freeze(waves: [Int], deadline: UInt64) -> (errno: [Int32], micros: [UInt64], pending: [Int]) {
        let last = waves.max() ?? 0
        var pending: [Int] = []
        var errnos = [Int32](repeating: -1, count: fds.count)
        for wave in 0...last {
            let members = fds.indices.filter { fds[$0] >= 0 && (waves.indices.contains($0) ? waves[$0] : 0) == wave }
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
                // Stuck in the kernel: whoever has not answered is pending; stop here.
                pending = members.filter { results[$0] == -1 }
                for i in members where results[i] != -1 { errnos[i] = results[i] }
                for i in pending { errnos[i] = ETIMEDOUT }
                return (errnos, Array(micros), pending)
            }
            for i in members { errnos[i] = results[i] }
        }
        return (errnos, Array(micros), pending)
    }

    /// Waits up to `timeout` for pending FIFREEZE calls to return; returns those that froze.
    func settle(_ pending: [Int], timeout: TimeSpan) -> [Int] {
        let end = Sys.monotonicNanos() + UInt64(timeout.milliseconds) * 1_000_000
        var left = pending.count
        while left > 0,
            done.wait(timeout: .now() + .nanoseconds(Int(end > Sys.monotonicNanos() ? end - Sys.monotonicNanos() : 0)))
                == .success
        {
            left -= 1
        }
        return pending.filter { results[$0] == 0 }
    }
}
