import Dispatch
import Foundation
import SnapSystem

/// SIGINT, SIGTERM and SIGHUP during a run: instead of dying with applications quiesced, the run
/// stops starting new work, skips the window if it has not opened, and goes on to thaw, post and
/// report. (The freeze guard still thaws on its own if snaporch is SIGKILLed.)
package final class Interrupts: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32 = 0
    private var sources: [DispatchSourceSignal] = []

    /// Starts catching the signals.
    package init() {
        for signal in [Signal.interrupt, .terminate, .hangup] {
            let sig = signal.rawValue
            Signal.ignore([signal])
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.lock.withLock { self?.received = sig } }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal received, if any.
    package var receivedSignal: Int32? { lock.withLock { received == 0 ? nil : received } }

    deinit { sources.forEach { $0.cancel() } }
}
