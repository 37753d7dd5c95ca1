import Glibc

/// What a wait for input found.
package enum Readiness: Sendable, Hashable {
    /// Input, end of file or an error condition is there: the next `read` does not block.
    case readable
    /// The deadline passed first.
    case timedOut
    /// `poll(2)` itself failed.
    case failed(Errno)
}

/// The one poll-with-deadline of the agent.
package enum Poll {
    /// Waits until `fd` is readable or the monotonic instant `deadline` (ns, `Sys.monotonicNanos`)
    /// passes; nil waits without a deadline.
    ///
    /// Safety contract: never returns later than the deadline plus scheduling latency; `EINTR` is
    /// retried with the time that is left, never with the whole timeout again. A deadline that has
    /// passed still looks once (a zero timeout): input that arrived in time is never "no answer"
    /// because this process ran late (stopped, a paused VM, a busy CPU).
    package static func waitReadable(_ fd: Int32, deadline: UInt64?) -> Readiness {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let now = Sys.monotonicNanos()
                timeout = now >= deadline ? 0 : Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&entry, 1, timeout)
            if rc > 0 { return .readable }
            if rc < 0 {
                let e = Errno.current
                if e == .interrupted { continue }
                return .failed(e)
            }
            if timeout == 0 { return .timedOut }
        }
    }

    /// The monotonic deadline `milliseconds` from now (negative counts as zero).
    package static func deadline(afterMilliseconds milliseconds: Int) -> UInt64 {
        Sys.monotonicNanos() + UInt64(max(milliseconds, 0)) * 1_000_000
    }
}
