import CLinux
import Glibc

/// A pipe (`pipe2(2)`, both ends close-on-exec): the readiness channel between `snaporch begin`
/// and its detached holder, which gets the write end as its fd 3 and nothing else.
package struct PipePair: Sendable {
    /// The read end.
    package let reader: FileDescriptor
    /// The write end.
    package let writer: FileDescriptor

    /// Creates the pipe.
    package init() throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        try Sys.call("pipe2") { pipe2(&fds, O_CLOEXEC) }
        reader = FileDescriptor(adopting: fds[0], label: "pipe (read end)")
        writer = FileDescriptor(adopting: fds[1], label: "pipe (write end)")
    }
}
