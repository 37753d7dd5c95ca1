import Glibc

/// A typed `errno` value: the raw number, its C name and the kernel's message.
///
/// The named statics cover the values the agent interprets; any other value still prints its
/// number and `strerror` text. Nothing outside SnapSystem needs the C constants.
package struct Errno: RawRepresentable, Error, Sendable, Hashable, CustomStringConvertible {
    /// The raw `errno` number.
    package var rawValue: Int32

    /// Wraps a raw errno number.
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno` (read right after the failing call).
    package static var current: Errno { Errno(rawValue: Glibc.errno) }

    /// `EPERM`: operation not permitted.
    package static let notPermitted = Errno(rawValue: EPERM)
    /// `ENOENT`: no such file or directory.
    package static let noSuchFile = Errno(rawValue: ENOENT)
    /// `ESRCH`: no such process.
    package static let noSuchProcess = Errno(rawValue: ESRCH)
    /// `EINTR`: interrupted by a signal (the wrappers retry it).
    package static let interrupted = Errno(rawValue: EINTR)
    /// `EIO`: input/output error.
    package static let ioError = Errno(rawValue: EIO)
    /// `EBADF`: bad file descriptor.
    package static let badFileDescriptor = Errno(rawValue: EBADF)
    /// `EAGAIN` / `EWOULDBLOCK`: try again (a non-blocking call that would block).
    package static let wouldBlock = Errno(rawValue: EAGAIN)
    /// `EACCES`: permission denied.
    package static let accessDenied = Errno(rawValue: EACCES)
    /// `EBUSY`: busy (FIFREEZE: already frozen by someone else).
    package static let busy = Errno(rawValue: EBUSY)
    /// `EEXIST`: file exists.
    package static let fileExists = Errno(rawValue: EEXIST)
    /// `ENOTDIR`: not a directory.
    package static let notDirectory = Errno(rawValue: ENOTDIR)
    /// `EISDIR`: is a directory.
    package static let isDirectory = Errno(rawValue: EISDIR)
    /// `EINVAL`: invalid argument (FITHAW: the filesystem was not frozen).
    package static let invalidArgument = Errno(rawValue: EINVAL)
    /// `EFBIG`: file too large.
    package static let fileTooLarge = Errno(rawValue: EFBIG)
    /// `EPIPE`: broken pipe (the reader is gone).
    package static let brokenPipe = Errno(rawValue: EPIPE)
    /// `ELOOP`: too many symbolic links (`O_NOFOLLOW` met a symlink).
    package static let tooManySymbolicLinks = Errno(rawValue: ELOOP)
    /// `EOPNOTSUPP`: operation not supported (FIFREEZE: the filesystem cannot be frozen).
    package static let notSupported = Errno(rawValue: EOPNOTSUPP)
    /// `ETIMEDOUT`: timed out (a FIFREEZE still running at the deadline).
    package static let timedOut = Errno(rawValue: ETIMEDOUT)

    /// The C name, e.g. `EINVAL`, or `errno N` for a value without a name here.
    package var name: String {
        switch rawValue {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case EFBIG: "EFBIG"
        case EPIPE: "EPIPE"
        case ELOOP: "ELOOP"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case ETIMEDOUT: "ETIMEDOUT"
        default: "errno \(rawValue)"
        }
    }

    /// The kernel's text for the value (`strerror`), e.g. "Invalid argument".
    package var message: String { String(cString: strerror(rawValue)) }

    /// The message, as `strerror` prints it (what reports and diagnostics have always shown).
    package var description: String { message }
}
