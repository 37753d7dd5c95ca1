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

    /// Freezes wave by wave; every mount of a wave at once. Returns errno and microseconds per mount.
    func freeze(waves: [Int]) -> (errno: [Int32], micros: [UInt64]) {
        let last = waves.max() ?? 0
        for wave in 0...last {
            let members = fds.indices.filter { fds[$0] >= 0 && (waves.indices.contains($0) ? waves[$0] : 0) == wave }
            for i in members { go[i].signal() }
            for _ in members { done.wait() }
        }
        return (Array(results), Array(micros))
    }
}
