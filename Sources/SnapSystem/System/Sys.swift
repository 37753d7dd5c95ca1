import Glibc

/// Thin wrappers that retry `EINTR` and turn `-1`/`errno` into a thrown `SystemError` at one point.
package enum Sys {
    /// Runs `body` until it does not fail with EINTR; throws on -1.
    @discardableResult
    package static func call(_ name: String, _ subject: String? = nil, _ body: () -> Int32) throws(SystemError) -> Int32
    {
        while true {
            let rc = body()
            if rc != -1 { return rc }
            let e = Errno.current
            if e == .interrupted { continue }
            throw SystemError(name, subject, e)
        }
    }

    /// `Int` flavour of `call` for read/write.
    @discardableResult
    package static func callSize(_ name: String, _ subject: String? = nil, _ body: () -> Int) throws(SystemError)
        -> Int
    {
        while true {
            let rc = body()
            if rc != -1 { return rc }
            let e = Errno.current
            if e == .interrupted { continue }
            throw SystemError(name, subject, e)
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

    /// Writes all of `bytes` to `fd`, looping over partial writes and `EINTR` (the one write-all loop).
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], subject: String? = nil) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try callSize("write", subject) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            if n == 0 { throw SystemError("write", subject, .ioError) }
            offset += n
        }
    }
}
