import Glibc

/// One step of ending a child: a signal (or none) and how long the child then gets to end.
/// A teardown is a list of them, run by `ChildProcess.terminate(_:)`.
package struct TeardownStep: Sendable, Hashable {
    /// The signal to send; nil only waits.
    package var signal: Int32?
    /// Whether the signal goes to the whole process group (else to the child alone).
    package var toGroup: Bool
    /// How long the child gets to end after this step.
    package var allowed: TimeSpan

    /// Creates a step.
    package init(signal: Int32?, toGroup: Bool = true, allowed: TimeSpan) {
        self.signal = signal
        self.toGroup = toGroup
        self.allowed = allowed
    }

    /// Sends nothing and waits up to `span` (for a child told to end some other way, e.g. stdin closed).
    package static func wait(_ span: TimeSpan) -> TeardownStep {
        TeardownStep(signal: nil, allowed: span)
    }
}

extension [TeardownStep] {
    /// SIGTERM to the group, `grace` to end, then SIGKILL to the group and up to `reapWithin` to reap it.
    package static func gracefulShutdown(grace: TimeSpan, reapWithin: TimeSpan = .seconds(2)) -> [TeardownStep] {
        [TeardownStep(signal: SIGTERM, allowed: grace), TeardownStep(signal: SIGKILL, allowed: reapWithin)]
    }
}
