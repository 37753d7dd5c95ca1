import Glibc

/// Writes with a deadline, to a reader that may be stopped or gone (the `begin` waiting for the
/// holder's readiness, an `end` waiting for the final report).
package enum BoundedWrite {
    /// Writes all of `bytes` to `fd` (made non-blocking), waiting for room until the monotonic
    /// `deadline` (ns).
    /// - Returns: nil when everything was written, else why not (`EPIPE`: the reader is gone;
    ///   `ETIMEDOUT`: it did not read in time).
    ///
    /// Safety contract: never blocks past the deadline, whatever the reader does.
    package static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8], deadline: UInt64) -> Errno? {
        let raw = fd.rawValue
        _ = fcntl(raw, F_SETFL, fcntl(raw, F_GETFL) | O_NONBLOCK)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(raw, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
                continue
            }
            let e = n < 0 ? Errno.current : Errno.ioError
            if e == .interrupted { continue }
            guard e == .wouldBlock else { return e }
            let now = Sys.monotonicNanos()
            guard now < deadline else { return .timedOut }
            var entry = pollfd(fd: raw, events: Int16(POLLOUT), revents: 0)
            _ = poll(&entry, 1, Int32(clamping: (deadline - now + 999_999) / 1_000_000))
        }
        return nil
    }
}
