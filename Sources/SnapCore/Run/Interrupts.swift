import Dispatch
import Foundation
import SnapSystem
import Synchronization

/// SIGINT, SIGTERM and SIGHUP during a run: instead of dying with applications quiesced, the run
/// stops starting new work, skips the window if it has not opened, and goes on to thaw, post and
/// report. (The freeze guard still thaws on its own if snaporch is SIGKILLed.)
package final class Interrupts: Sendable {
    private let received = Atomic<Int32>(0)
    /// Set once in `init`, then only cancelled in `deinit` (dispatch sources are thread-safe).
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    /// Starts catching the signals.
    package init() {
        var sources: [any DispatchSourceSignal] = []
        for signal in [Signal.interrupt, .terminate, .hangup] {
            let sig = signal.rawValue
            Signal.ignore([signal])
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.received.store(sig, ordering: .relaxed) }
            sources.append(source)
        }
        self.sources = sources
        for source in sources {
            source.resume()
        }
    }

    /// The signal received, if any.
    package var receivedSignal: Int32? {
        let sig = received.load(ordering: .relaxed)
        return sig == 0 ? nil : sig
    }

    deinit { sources.forEach { $0.cancel() } }
}
