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

    /// Creates an error from a typed errno.
    package init(_ call: String, _ subject: String? = nil, _ code: Errno) {
        self.init(call, subject, errno: code.rawValue)
    }

    /// The errno, typed.
    package var code: Errno { Errno(rawValue: errno) }

    /// The `strerror` text of the errno.
    package var reason: String { code.message }

    package var description: String {
        if let subject { return "\(call) \(subject): \(reason) (errno \(errno))" }
        return "\(call): \(reason) (errno \(errno))"
    }
}
