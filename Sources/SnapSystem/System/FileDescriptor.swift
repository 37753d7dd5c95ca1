import CLinux
import Glibc
import Synchronization

/// An owned file descriptor: opened close-on-exec, closed exactly once (by `close()` or when the
/// last reference goes), every call retried on `EINTR` and failing with a typed `SystemError`.
///
/// A descriptor made with `init(borrowing:)` (standard input/output, a pipe end another type owns)
/// is never closed by this type.
package final class FileDescriptor: Sendable, CustomStringConvertible {
    /// The raw descriptor number (for the few C calls that need it, inside SnapSystem).
    package let rawValue: Int32
    /// What it was opened from (named in errors), if known.
    package let label: String?
    private let owned: Bool
    private let isOpen = Atomic<Bool>(true)

    /// Takes ownership of `rawValue`: this object closes it.
    package init(adopting rawValue: Int32, label: String? = nil) {
        self.rawValue = rawValue
        self.label = label
        self.owned = true
    }

    /// Uses `rawValue` without owning it: never closed here.
    package init(borrowing rawValue: Int32, label: String? = nil) {
        self.rawValue = rawValue
        self.label = label
        self.owned = false
    }

    /// Standard input (borrowed).
    package static let standardInput = FileDescriptor(borrowing: 0, label: "stdin")
    /// Standard output (borrowed).
    package static let standardOutput = FileDescriptor(borrowing: 1, label: "stdout")
    /// Standard error (borrowed).
    package static let standardError = FileDescriptor(borrowing: 2, label: "stderr")

    package var description: String { label ?? "fd \(rawValue)" }

    /// Opens `path` with `options` (close-on-exec always added); `mode` applies when it creates the file.
    package static func open(_ path: String, _ options: OpenOptions, mode: UInt32 = 0o600) throws(SystemError)
        -> FileDescriptor
    {
        let fd = try Sys.call("open", path) { Glibc.open(path, options.rawValue | O_CLOEXEC, mode_t(mode)) }
        return FileDescriptor(adopting: fd, label: path)
    }

    /// Opens `name` relative to this directory descriptor (`openat(2)`, close-on-exec added).
    package func open(relative name: String, _ options: OpenOptions, mode: UInt32 = 0o600) throws(SystemError)
        -> FileDescriptor
    {
        let fd = try Sys.call("openat", name) {
            Glibc.openat(rawValue, name, options.rawValue | O_CLOEXEC, mode_t(mode))
        }
        return FileDescriptor(adopting: fd, label: name)
    }

    /// Closes an owned descriptor; later calls (and the deinitialiser) do nothing. Errors of
    /// `close(2)` are ignored: the descriptor is released either way on Linux.
    package func close() {
        guard owned, isOpen.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(rawValue)
    }

    deinit { close() }

    /// Reads at most `count` bytes; an empty result means end of file.
    package func read(upTo count: Int) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        let n = try Sys.callSize("read", label) {
            buffer.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, $0.count) }
        }
        return Array(buffer[0..<n])
    }

    /// Reads at most `count` bytes at `offset` without moving the file position (`pread(2)`).
    package func read(upTo count: Int, at offset: Int64) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        let n = try Sys.callSize("pread", label) {
            buffer.withUnsafeMutableBytes { Glibc.pread(rawValue, $0.baseAddress, $0.count, off_t(offset)) }
        }
        return Array(buffer[0..<n])
    }

    /// Writes all of `bytes`, looping over partial writes and `EINTR`.
    package func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        try Sys.writeAll(rawValue, bytes, subject: label)
    }

    /// Writes all of `bytes` at `offset` (`pwrite(2)`), looping over partial writes and `EINTR`.
    package func writeAll(_ bytes: [UInt8], at offset: Int64) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = try Sys.callSize("pwrite", label) {
                bytes.withUnsafeBytes {
                    Glibc.pwrite(rawValue, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
                }
            }
            done += n
        }
    }

    /// Cuts the file to `size` bytes (`ftruncate(2)`).
    package func truncate(to size: Int64) throws(SystemError) {
        try Sys.call("ftruncate", label) { ftruncate(rawValue, off_t(size)) }
    }

    /// Sets the permission bits (`fchmod(2)`).
    package func setPermissions(_ mode: UInt32) throws(SystemError) {
        try Sys.call("fchmod", label) { fchmod(rawValue, mode_t(mode)) }
    }

    /// Flushes the file's data and metadata to its disk (`fsync(2)`).
    package func sync() throws(SystemError) {
        try Sys.call("fsync", label) { fsync(rawValue) }
    }

    /// Flushes the file's data and the metadata needed to read it back (`fdatasync(2)`).
    package func syncData() throws(SystemError) {
        try Sys.call("fdatasync", label) { fdatasync(rawValue) }
    }

    /// Flushes every dirty page of the filesystem holding this descriptor (`syncfs(2)`).
    package func syncFilesystem() throws(SystemError) {
        try Sys.call("syncfs", label) { syncfs(rawValue) }
    }

    /// The file's type, permissions, owner and size (`fstat(2)`).
    package func status() throws(SystemError) -> FileStatus {
        var st = stat()
        try Sys.call("fstat", label) { fstat(rawValue, &st) }
        return FileStatus(st)
    }

    /// Takes an exclusive `flock(2)` without waiting: true when taken, false when someone else holds it.
    package func tryLockExclusive() throws(SystemError) -> Bool {
        do {
            try Sys.call("flock", label) { flock(rawValue, LOCK_EX | LOCK_NB) }
            return true
        } catch  where error.code == .wouldBlock {
            return false
        }
    }

    /// True when the descriptor is a terminal (`isatty(3)`).
    package var isTerminal: Bool { isatty(rawValue) == 1 }
}

/// Flags of `open(2)` (close-on-exec is always added by `FileDescriptor.open`).
package struct OpenOptions: OptionSet, Sendable, Hashable {
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// `O_RDONLY` (the empty set).
    package static let readOnly: OpenOptions = []
    /// `O_WRONLY`.
    package static let writeOnly = OpenOptions(rawValue: O_WRONLY)
    /// `O_RDWR`.
    package static let readWrite = OpenOptions(rawValue: O_RDWR)
    /// `O_CREAT`: create when missing (with the `mode` given).
    package static let create = OpenOptions(rawValue: O_CREAT)
    /// `O_EXCL`: with `create`, fail when it exists.
    package static let exclusive = OpenOptions(rawValue: O_EXCL)
    /// `O_APPEND`.
    package static let append = OpenOptions(rawValue: O_APPEND)
    /// `O_TRUNC`.
    package static let truncate = OpenOptions(rawValue: O_TRUNC)
    /// `O_NOFOLLOW`: a symlink as the last component fails with `ELOOP`.
    package static let noFollow = OpenOptions(rawValue: O_NOFOLLOW)
    /// `O_DIRECTORY`: fail unless a directory.
    package static let directory = OpenOptions(rawValue: O_DIRECTORY)
    /// `O_NONBLOCK`: do not block on a FIFO or device.
    package static let nonBlocking = OpenOptions(rawValue: O_NONBLOCK)
    /// `O_NOCTTY`: never become the controlling terminal.
    package static let noControllingTerminal = OpenOptions(rawValue: O_NOCTTY)
}
