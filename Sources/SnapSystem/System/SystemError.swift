import Glibc

/// A failed system call: which call, on what, and the `errno` it returned.
package struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed, e.g. `open`.
    package var call: String
    /// What it was applied to (a path, a mount), if anything.
    package var subject: String?
    /// The errno value.
    package var errno: Int32

    /// Creates an error from an explicit errno.
    package init(_ call: String, _ subject: String? = nil, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// The `strerror` text of the errno.
    package var reason: String { String(cString: strerror(errno)) }

    package var description: String {
        if let subject { return "\(call) \(subject): \(reason) (errno \(errno))" }
        return "\(call): \(reason) (errno \(errno))"
    }
}

/// Thin wrappers that retry `EINTR` and turn `-1`/`errno` into a thrown `SystemError` at one point.
package enum Sys {
    /// Runs `body` until it does not fail with EINTR; throws on -1.
    @discardableResult
    package static func call(_ name: String, _ subject: String? = nil, _ body: () -> Int32) throws(SystemError) -> Int32
    {
        while true {
            let rc = body()
            if rc != -1 { return rc }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw SystemError(name, subject, errno: e)
        }
    }

    /// `Int` flavour of `call` for read/write.
    @discardableResult
    package static func callSize(_ name: String, _ body: () -> Int) throws(SystemError) -> Int {
        while true {
            let rc = body()
            if rc != -1 { return rc }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw SystemError(name, errno: e)
        }
    }

    /// `open(2)` with `O_CLOEXEC` added.
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(SystemError) -> Int32 {
        try call("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// `close(2)`, ignoring errors (there is nothing to do about them).
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Writes all of `bytes` to `fd`.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw SystemError("write", errno: Glibc.errno)
            }
            offset += n
        }
    }

    /// The current monotonic clock in nanoseconds.
    package static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Wall clock in milliseconds since the epoch.
    package static func epochMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
