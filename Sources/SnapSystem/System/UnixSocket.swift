import CLinux
import Glibc

/// A local stream socket (`AF_UNIX`, `SOCK_STREAM`): the control channel of a split-phase run
/// (`snaporch end` talks to the detached holder of `snaporch begin`).
///
/// Every descriptor is close-on-exec; a listener is non-blocking, so `accept` never waits (the
/// caller polls it with a deadline); connected sockets block (reads are polled first).
/// Safety contract: the socket file is created with the mode asked for (umask narrowed to it
/// before `bind`), and `peerIsRoot` lets the listener refuse anyone but root.
package enum UnixSocket {
    /// The longest path a `sockaddr_un` holds (108 bytes with its terminating NUL).
    package static let maxPathLength = 107

    /// Binds and listens at `path` (a stale file there is removed first), with `mode`.
    package static func listen(at path: String, mode: UInt32 = 0o600) throws(SystemError) -> FileDescriptor {
        let fd = try Sys.call("socket", path) {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | sockCloexec | sockNonblock, 0)
        }
        let owned = FileDescriptor(adopting: fd, label: path)
        _ = unlink(path)
        let previous = umask(mode_t(0o777 & ~mode))
        defer { umask(previous) }
        try withAddress(path) { address, length throws(SystemError) in
            try Sys.call("bind", path) { bind(fd, address, length) }
        }
        try Sys.call("chmod", path) { chmod(path, mode_t(mode)) }
        try Sys.call("listen", path) { Glibc.listen(fd, 8) }
        return owned
    }

    /// Accepts one pending connection of `listener`; nil when none is pending (or on an error).
    package static func accept(_ listener: FileDescriptor) -> FileDescriptor? {
        while true {
            let fd = accept4(listener.rawValue, nil, nil, sockCloexec)
            if fd >= 0 { return FileDescriptor(adopting: fd, label: listener.label) }
            if Errno.current == .interrupted { continue }
            return nil
        }
    }

    /// Connects to the socket at `path`, waiting for room in the listener's backlog at most until
    /// `deadline` (monotonic nanoseconds): a listener that stopped accepting (a stopped process)
    /// fills its backlog, and a blocking `connect` would then wait without end. The connected
    /// socket blocks.
    /// - Throws: `SystemError` (`ENOENT`: no socket there; `ECONNREFUSED`: nobody listens;
    ///   `ETIMEDOUT`: the backlog was still full at the deadline).
    package static func connect(to path: String, until deadline: UInt64) throws(SystemError) -> FileDescriptor {
        while true {
            let fd = try Sys.call("socket", path) {
                socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | sockCloexec | sockNonblock, 0)
            }
            let owned = FileDescriptor(adopting: fd, label: path)
            do throws(SystemError) {
                try withAddress(path) { address, length throws(SystemError) in
                    try Sys.call("connect", path) { Glibc.connect(fd, address, length) }
                }
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                return owned
            } catch {
                owned.close()
                // A local connect does not go in progress: it is made at once, or the backlog is full.
                guard error.errno == EAGAIN else { throw error }
                guard Sys.monotonicNanos() < deadline else { throw SystemError("connect", path, errno: ETIMEDOUT) }
                usleep(10_000)
            }
        }
    }

    /// The user id of the process at the other end of a connected socket (`SO_PEERCRED`), nil if unknown.
    package static func peerUser(_ connection: FileDescriptor) -> UInt32? {
        let uid = snaporch_peer_uid(connection.rawValue)
        return uid < 0 ? nil : UInt32(uid)
    }

    /// `SOCK_CLOEXEC` (02000000) and `SOCK_NONBLOCK` (04000), which Swift imports as enum cases.
    private static let sockCloexec = Int32(0o2_000_000)
    private static let sockNonblock = Int32(0o4000)

    /// Calls `body` with a `sockaddr_un` for `path`.
    private static func withAddress(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> Void
    ) throws(SystemError) {
        let bytes = Array(path.utf8)
        guard bytes.count <= maxPathLength else { throw SystemError("bind", path, errno: ENAMETOOLONG) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        var failure: SystemError?
        withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                do throws(SystemError) { try body(sa, length) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }
}
