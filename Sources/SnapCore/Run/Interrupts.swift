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

    /// Set once the first instance made the signals ignored: libdispatch then installs its own
    /// handler, and ignoring them again (a second instance: the holder of a split run and its
    /// run session) would throw that handler away and every signal with it.
    private static let ignored = Atomic<Bool>(false)

    /// Starts catching the signals.
    package init() {
        let signals: [Signal] = [.interrupt, .terminate, .hangup]
        if !Self.ignored.exchange(true, ordering: .acquiringAndReleasing) { Signal.ignore(signals) }
        sources = signals.map { DispatchSource.makeSignalSource(signal: $0.rawValue, queue: .global()) }
        for (signal, source) in zip(signals, sources) {
            let sig = signal.rawValue
            source.setEventHandler { [weak self] in self?.received.store(sig, ordering: .relaxed) }
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
