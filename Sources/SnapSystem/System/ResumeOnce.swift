import Synchronization

/// Resumes a continuation exactly once, from whichever of several racing parties gets there first
/// (an answer, a deadline). The continuation is always resumed outside the lock, and a late party
/// only finds the work done: nothing is cancelled and nobody waits on anybody.
final class ResumeOnce<T: Sendable>: Sendable {
    private struct State: Sendable {
        var continuation: CheckedContinuation<T, Never>?
        var pending: T?
        var done = false
    }

    private let state = Mutex(State())

    /// Hands over the continuation; resumes it at once if a value already arrived.
    func set(_ continuation: CheckedContinuation<T, Never>) {
        let early = state.withLock { s -> T? in
            if let pending = s.pending {
                s.pending = nil
                return pending
            }
            s.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Resumes with `value` if nobody did yet; returns whether this call did.
    @discardableResult
    func resume(_ value: T) -> Bool {
        let taken = state.withLock { s -> (Bool, CheckedContinuation<T, Never>?) in
            guard !s.done else { return (false, nil) }
            s.done = true
            guard let continuation = s.continuation else {
                s.pending = value
                return (true, nil)
            }
            s.continuation = nil
            return (true, continuation)
        }
        taken.1?.resume(returning: value)
        return taken.0
    }
}
